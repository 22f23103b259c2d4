"""Run the pooled dense model: PyTorch (float32 or bfloat16) or ONNX Runtime (float32 or int8).

Both run the module of :func:`winnow.dense.pooling.make_pooled_encoder`, which maps
``(input_ids, attention_mask, pool_mask)`` to pooled (and normalised) vectors, so ONNX Runtime
never hands back per-token states. The ONNX graph is exported once and cached where the sparse
encoders cache theirs (beside the model when that folder is writable, else under
``$WINNOW_CACHE/onnx``), named by the pooling settings.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from winnow.dense.layout import LATENT, DenseLayout
from winnow.encode.onnx_backend import OPSET, cache_root, cached_graph, open_session
from winnow.errors import require
from winnow.fsutil import replacing

logger = logging.getLogger(__name__)


def load_pooled_model(layout: DenseLayout, modes: tuple[str, ...], normalize: bool):
    """The pooled torch module of ``layout`` in eval mode (float32)."""
    transformers = require("transformers", "torch")
    from winnow.dense.pooling import latent_pooling_class, make_pooled_encoder

    transformers.utils.logging.disable_progress_bar()
    trunk = transformers.AutoModel.from_pretrained(str(layout.transformer_dir)).float().eval()
    latent = latent_pooling_class().load(layout.latent_dir).eval() if modes == (LATENT,) else None
    return make_pooled_encoder(trunk, modes, normalize, latent)


class TorchDenseBackend:
    """Pooled vectors with PyTorch.

    Args:
        layout: The model folder's layout.
        modes: Pooling modes (see :mod:`winnow.dense.pooling`).
        normalize: L2-normalise the vectors.
        threads: Intra-op threads (``torch.set_num_threads`` is process-wide).
        precision: ``float32`` or ``bfloat16``.
    """

    def __init__(self, layout: DenseLayout, modes: tuple[str, ...], normalize: bool, threads: int,
                 precision: str = "float32"):
        torch = require("torch", "torch")
        torch.set_num_threads(threads)
        self._torch = torch
        self.module = load_pooled_model(layout, modes, normalize)
        if precision == "bfloat16":
            self.module = self.module.to(torch.bfloat16)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, pool_mask: np.ndarray) -> np.ndarray:
        """``(batch, dim)`` float32 vectors for int64 ``(batch, tokens)`` inputs."""
        torch = self._torch
        with torch.inference_mode():
            out = self.module(torch.from_numpy(input_ids), torch.from_numpy(attention_mask), torch.from_numpy(pool_mask))
        return out.float().numpy()


def _fingerprint(folder: Path) -> str:
    import xxhash

    digest = xxhash.xxh64(str(folder.resolve()).encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors", ".bin")):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def graph_path(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, quantize: str) -> Path:
    """Where the exported graph for these settings lives (it may not exist yet)."""
    name = f"winnow-dense-{'+'.join(modes)}{'-norm' if normalize else ''}{'-int8' if quantize == 'int8' else ''}.onnx"
    folder = layout.root
    if os.access(folder, os.W_OK) and folder.stat().st_mode & 0o222:
        return folder / "onnx" / name
    return cache_root() / _fingerprint(folder) / name


def export_graph(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, path: Path) -> None:
    """Export the pooled model to ``path`` (dynamic batch and length)."""
    torch = require("torch", "torch")
    module = load_pooled_model(layout, modes, normalize)
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in range(3))
    axes = {0: "batch", 1: "tokens"}
    logger.info("exporting %s to ONNX at %s", layout.root, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode(), replacing(path) as tmp:
        torch.onnx.export(module, example, str(tmp), input_names=["input_ids", "attention_mask", "pool_mask"],
                          output_names=["vectors"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "pool_mask": axes,
                                        "vectors": {0: "batch"}})


def ensure_graph(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, quantize: str) -> Path:
    """The cached graph for these settings, exported (and quantised) on first use."""
    return cached_graph(graph_path(layout, modes, normalize, quantize), graph_path(layout, modes, normalize, "none"),
                        lambda out: export_graph(layout, modes, normalize, out), quantize)


class OnnxDenseBackend:
    """Pooled vectors with ONNX Runtime.

    Args:
        layout: The model folder's layout.
        modes: Pooling modes.
        normalize: L2-normalise the vectors.
        threads: Intra-op threads of the session.
        quantize: ``none`` or ``int8``.
    """

    def __init__(self, layout: DenseLayout, modes: tuple[str, ...], normalize: bool, threads: int,
                 quantize: str = "none"):
        self.path = ensure_graph(layout, modes, normalize, quantize)
        self.session = open_session(self.path, threads)
        self._inputs = {i.name for i in self.session.get_inputs()}  # the exporter drops unused inputs

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, pool_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "pool_mask": pool_mask}
        (out,) = self.session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})
        return out
