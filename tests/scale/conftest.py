"""One local Ray cluster per session (start-up is slow) and the tiny corpus encoded once per encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import load_queries


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster with 2 CPUs, started once and shut down after the session."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("pyarrow")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def queries() -> list[str]:
    return load_queries()


@pytest.fixture(scope="session")
def encoded(ray_cluster, tiny_beir, tiny_mlm, tmp_path_factory):
    """``encoded(kind) -> vectors folder`` of the tiny corpus, encoded on Ray once per kind.

    Kinds: ``bm25``, ``bm25-multifield``, ``splade`` (the tiny random MLM), ``inference-free``
    (the same model; it has no IDF file, so queries are weighed by the corpus IDF).
    """
    from winnow.scale.ray_encode import encode_corpus

    root = tmp_path_factory.mktemp("vectors")
    specs = {"bm25": "bm25", "bm25-multifield": "bm25:fields=multifield", "splade": f"splade:{tiny_mlm}",
             "inference-free": f"inference-free:{tiny_mlm}"}
    done: dict[str, Path] = {}

    def encode(kind: str) -> Path:
        if kind not in done:
            encode_corpus(tiny_beir, specs[kind], root / kind, workers=2, part_lines=6, cpus_per_worker=0.5)
            done[kind] = root / kind
        return done[kind]

    encode.specs = specs
    return encode
