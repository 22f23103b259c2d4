"""Hybrid indexes saved as pipeline folders, tuned on judgements, opened like an index."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import winnow
from winnow.errors import IndexFormatError, WinnowError
from winnow.fuse import fuse
from winnow.pipeline.saved import tune_saved
from winnow.types import Query

SPECS = ["bm25", "bm25:k1=0.9,b=0.4"]


@pytest.fixture(scope="module")
def hybrid(tiny_beir, tmp_path_factory):
    out = tmp_path_factory.mktemp("hybrid") / "pipe"
    winnow.index_corpus(tiny_beir, out, encoder=SPECS)
    return out


def queries(tiny_beir):
    from winnow.corpus import load_beir

    return load_beir(tiny_beir).queries


def test_a_hybrid_folder_opens_as_the_fusion_of_its_indexes(hybrid, tiny_beir):
    pipe = winnow.open(hybrid)
    qs = queries(tiny_beir)
    got = pipe.retrieve(qs, 5)
    parts = [winnow.open(hybrid / name) for name in json.loads((hybrid / "manifest.json").read_text())["atoms"]
             .values()]
    expected = fuse([p.retrieve(qs, 1000) for p in parts], "rrf").cut(5)
    for q in qs:
        assert got[q.id].ids == expected[q.id].ids
        np.testing.assert_allclose(got[q.id].scores, expected[q.id].scores, rtol=1e-12)
    assert pipe.documents([got[qs[0].id].ids[0]])[0].id == got[qs[0].id].ids[0]


def test_tuned_parameters_are_saved_and_used(tiny_beir, tmp_path):
    out = tmp_path / "pipe"
    winnow.index_corpus(tiny_beir, out, encoder=SPECS, pipeline="convex:norm=zscore(bm25 + bm25:k1=0.9,b=0.4)")
    tuned = tune_saved(out, tiny_beir, split="test")
    (fusion, params), = tuned.items()
    assert params["norm"] == "zscore" and len(params["weights"]) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tuned"] == tuned and manifest["tuned_on"]["split"] == "test"
    pipe = winnow.open(out)
    assert f"weights={'/'.join(f'{w:g}' for w in params['weights'])}" in pipe.name


def test_a_pipeline_naming_a_missing_encoder_is_refused(tiny_beir, tmp_path):
    with pytest.raises(WinnowError, match="not among the encoders"):
        winnow.index_corpus(tiny_beir, tmp_path / "p", encoder=SPECS, pipeline="bm25 + splade:x")


def test_a_pipeline_cannot_reach_outside_its_folder(hybrid, tmp_path):
    copy = tmp_path / "pipe"
    shutil.copytree(hybrid, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["atoms"]["bm25"] = "../../elsewhere"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="leaves the pipeline folder"):
        winnow.open(copy)
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(IndexFormatError, match="damaged manifest|cannot read"):
        winnow.open(copy)


def test_build_pipeline_from_folders(hybrid):
    names = json.loads((hybrid / "manifest.json").read_text())["atoms"]
    a, b = (str(hybrid / n) for n in names.values())
    pipe = winnow.build_pipeline(f"rrf:k=10({a} + {b}) % 3")
    hits = pipe.search("posting lists", k=10)
    assert len(hits) == 3 and pipe.name.endswith("% 3")
    with pytest.raises(WinnowError, match="need a corpus"):
        winnow.build_pipeline("bm25 + splade:x")


def test_queries_keep_their_ids_through_a_pipeline(hybrid):
    run = winnow.open(hybrid).retrieve([Query("q-x", "inverted index"), Query("q-y", "bm25")], 3)
    assert run.qids == ["q-x", "q-y"] and [h.qid for h in run.values()] == ["q-x", "q-y"]
