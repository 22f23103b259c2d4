"""ONNX Runtime backend: the whole pooled SPLADE function exported once and cached.

The exported graph maps ``(input_ids, attention_mask)`` to pooled, activated vocabulary
weights, so ONNX Runtime never hands back per-token logits. The file is written beside the
model (``<model>/onnx/``) when that folder is writable (by its mode bits too: a root process
may write anywhere, but a folder marked read-only is shared and stays untouched), otherwise under ``$WINNOW_CACHE/onnx``
(default ``~/.cache/winnow/onnx``) in a folder named by a hash of the model's files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from winnow.errors import WinnowError, require
from winnow.fsutil import replacing

logger = logging.getLogger(__name__)
INT8_SUFFIX = "-int8pc"  # per-channel int8 graphs (named apart from older per-tensor ones)

OPSET = 17


def cache_root() -> Path:
    """``$WINNOW_CACHE/onnx``, or ``~/.cache/winnow/onnx``."""
    base = os.environ.get("WINNOW_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "winnow") / "onnx"


def _model_fingerprint(folder: Path) -> str:
    import xxhash

    digest = xxhash.xxh64(str(folder.resolve()).encode())
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".json", ".safetensors", ".bin"):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def graph_path(folder: Path, name: str) -> Path:
    """Where the graph file ``name`` exported from the model in ``folder`` lives (it may not exist yet)."""
    if os.access(folder, os.W_OK) and folder.stat().st_mode & 0o222:
        return folder / "onnx" / name
    return cache_root() / _model_fingerprint(folder) / name


def onnx_path(folder: Path, pooling: str, activation: str, quantize: str) -> Path:
    """Where the exported graph for these settings lives (it may not exist yet)."""
    return graph_path(folder, f"winnow-splade-{pooling}-{activation}{INT8_SUFFIX if quantize == 'int8' else ''}.onnx")


def export_onnx(folder: Path, pooling: str, activation: str, path: Path) -> None:
    """Export the pooled function of the masked-language model in ``folder`` to ``path``."""
    torch = require("torch", "torch")
    from winnow.encode.pooling import make_pooled_mlm
    from winnow.encode.torch_backend import load_masked_lm

    module = make_pooled_mlm(load_masked_lm(folder), pooling, activation)
    example = (torch.ones((2, 8), dtype=torch.int64), torch.ones((2, 8), dtype=torch.int64))
    axes = {0: "batch", 1: "tokens"}
    logger.info("exporting %s to ONNX at %s", folder, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode(), replacing(path) as tmp:
        torch.onnx.export(
            module,
            example,
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["weights"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "weights": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def ensure_onnx(folder: Path, pooling: str, activation: str, quantize: str) -> Path:
    """Return the cached graph for these settings, exporting (and quantising) it on first use."""
    return cached_graph(onnx_path(folder, pooling, activation, quantize), onnx_path(folder, pooling, activation, "none"),
                        lambda out: export_onnx(folder, pooling, activation, out), quantize)


def open_session(path: Path, threads: int):
    """An ONNX Runtime CPU session over ``path`` with every graph optimisation and ``threads`` intra-op
    threads; a damaged graph is refused with a :class:`WinnowError` that says how to recover."""
    ort = require("onnxruntime", "onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on damaged files
        raise WinnowError(f"cannot load ONNX graph {path} ({exc}); delete it to export it again") from exc


def cached_graph(path: Path, fp32: Path, export, quantize: str) -> Path:
    """``path``, made on first use: ``export(fp32)`` writes the float32 graph, then int8 quantisation
    when ``quantize`` asks for it: ONNX Runtime's dynamic quantisation with a scale per output
    channel. One scale per tensor saturates on CPUs without VNNI (all-MiniLM-L6-v2's vectors came
    out at cosine 0.90 to the float ones, against 0.99 per channel)."""
    if path.exists():
        return path
    if not fp32.exists():
        export(fp32)
    if quantize == "int8":
        quantization = require("onnxruntime.quantization", "onnx")
        logger.info("quantising %s to int8", fp32)
        with replacing(path) as tmp:
            quantization.quantize_dynamic(str(fp32), str(tmp), weight_type=quantization.QuantType.QInt8,
                                          per_channel=True)
    return path


class OnnxBackend:
    """Maps padded token ids to pooled vocabulary weights with ONNX Runtime.

    Args:
        folder: The masked-language model folder.
        pooling: ``max`` or ``sum``.
        activation: ``relu`` or ``log1p_relu``.
        threads: Intra-op threads of the session.
        quantize: ``none`` or ``int8``.
    """

    def __init__(self, folder: Path, pooling: str, activation: str, threads: int, quantize: str = "none"):
        self.path = ensure_onnx(folder, pooling, activation, quantize)
        self.session = open_session(self.path, threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Return ``(batch, vocabulary)`` float32 weights for int64 ``(batch, tokens)`` inputs."""
        (out,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return out
