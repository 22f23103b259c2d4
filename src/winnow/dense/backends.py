"""Run the pooled dense model: PyTorch (float32 or bfloat16) or ONNX Runtime (float32 or int8).

Both run the module of :func:`winnow.dense.pooling.make_pooled_encoder`, which maps
``(input_ids, attention_mask, pool_mask)`` to pooled (and normalised) vectors, so ONNX Runtime
never hands back per-token states. The ONNX graph is exported once and cached where the sparse
encoders cache theirs (beside the model when that folder is writable, else under
``$WINNOW_CACHE/onnx``), named by the pooling settings.

For BERT trunks the float32 graph is then rewritten by ONNX Runtime's transformer optimizer
(fused multi-head attention, embedding and skip layer norms, bias + GELU) and that fused graph,
cached beside the plain one, is what the session runs: the same float32 arithmetic in fewer,
larger kernels, so the vectors stay those of PyTorch (to about 1e-6) and encoding is faster.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from winnow.dense.layout import LATENT, DenseLayout, read_json
from winnow.encode.onnx_backend import INT8_SUFFIX, OPSET, cache_root, cached_graph, open_session
from winnow.errors import require
from winnow.fsutil import replacing

logger = logging.getLogger(__name__)


# model_type in config.json -> the transformer optimizer's model type whose fusions fit it
FUSIBLE = {"bert": "bert"}


def load_pooled_model(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, attention: str | None = None):
    """The pooled torch module of ``layout`` in eval mode (float32).

    Args:
        attention: transformers' ``attn_implementation`` (``None``: its default, SDPA where it can).
    """
    transformers = require("transformers", "torch")
    from winnow.dense.pooling import latent_pooling_class, make_pooled_encoder

    transformers.utils.logging.disable_progress_bar()
    extra = {"attn_implementation": attention} if attention else {}
    trunk = transformers.AutoModel.from_pretrained(str(layout.transformer_dir), **extra).float().eval()
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
        device: ``cpu`` or ``cuda``.
    """

    def __init__(self, layout: DenseLayout, modes: tuple[str, ...], normalize: bool, threads: int,
                 precision: str = "float32", device: str = "cpu"):
        torch = require("torch", "torch")
        from winnow.encode.torch_backend import torch_device, torch_threads

        torch_threads(torch, threads)
        self._torch = torch
        self._device = torch_device(torch, device)
        self.module = load_pooled_model(layout, modes, normalize).to(self._device)
        if precision == "bfloat16":
            self.module = self.module.to(torch.bfloat16)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, pool_mask: np.ndarray) -> np.ndarray:
        """``(batch, dim)`` float32 vectors for int64 ``(batch, tokens)`` inputs."""
        torch = self._torch
        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(a).to(self._device) for a in (input_ids, attention_mask, pool_mask)))
        return out.float().cpu().numpy()


def _fingerprint(folder: Path) -> str:
    import xxhash

    digest = xxhash.xxh64(str(folder.resolve()).encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors", ".bin")):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def graph_path(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, quantize: str,
               fused: bool = False) -> Path:
    """Where the exported graph for these settings lives (it may not exist yet)."""
    suffix = "-fused" if fused else INT8_SUFFIX if quantize == "int8" else ""
    name = f"winnow-dense-{'+'.join(modes)}{'-norm' if normalize else ''}{suffix}.onnx"
    folder = layout.root
    if os.access(folder, os.W_OK) and folder.stat().st_mode & 0o222:
        return folder / "onnx" / name
    return cache_root() / _fingerprint(folder) / name


def export_graph(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, path: Path) -> None:
    """Export the pooled model to ``path`` (dynamic batch and length).

    Attention is exported as explicit matrix products and softmax (transformers' ``eager``
    implementation): that is the pattern ONNX Runtime's optimizer fuses, which SDPA's is not.
    """
    torch = require("torch", "torch")
    module = load_pooled_model(layout, modes, normalize, attention="eager")
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in range(3))
    axes = {0: "batch", 1: "tokens"}
    logger.info("exporting %s to ONNX at %s", layout.root, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode(), replacing(path) as tmp:
        torch.onnx.export(module, example, str(tmp), input_names=["input_ids", "attention_mask", "pool_mask"],
                          output_names=["vectors"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "pool_mask": axes,
                                        "vectors": {0: "batch"}})


def fusion_model_type(layout: DenseLayout, modes: tuple[str, ...]) -> str | None:
    """The transformer optimizer's model type for this trunk, or ``None`` when it has no fusions for it."""
    if modes == (LATENT,):  # the latent pooling's own attention is left as exported
        return None
    config = layout.transformer_dir / "config.json"
    return FUSIBLE.get(read_json(config).get("model_type", "")) if config.exists() else None


def fuse_graph(layout: DenseLayout, model_type: str, plain: Path, path: Path) -> None:
    """Write ONNX Runtime's transformer-optimised version of the float32 graph ``plain`` to ``path``.

    Only the optimizer's pattern fusions run (``opt_level=0``); the session applies ONNX Runtime's
    own graph optimisations when it loads the result.
    """
    optimizer = require("onnxruntime.transformers.optimizer", "onnx")
    config = read_json(layout.transformer_dir / "config.json")
    logger.info("fusing the transformer layers of %s into %s", plain, path)
    model = optimizer.optimize_model(str(plain), model_type=model_type,
                                     num_heads=int(config["num_attention_heads"]),
                                     hidden_size=int(config["hidden_size"]), opt_level=0, use_gpu=False)
    logger.info("fused operators: %s", {k: v for k, v in model.get_fused_operator_statistics().items() if v})
    with replacing(path) as tmp:
        model.save_model_to_file(str(tmp))


def ensure_graph(layout: DenseLayout, modes: tuple[str, ...], normalize: bool, quantize: str) -> Path:
    """The cached graph for these settings, made on first use: float32 graphs of BERT trunks
    exported and fused (from a fresh export, so a graph cached by an older exporter never feeds the
    fusions), others exported as they are, or quantised to int8."""
    model_type = fusion_model_type(layout, modes)
    if quantize == "int8" or model_type is None:
        return cached_graph(graph_path(layout, modes, normalize, quantize), graph_path(layout, modes, normalize, "none"),
                            lambda out: export_graph(layout, modes, normalize, out), quantize)
    fused = graph_path(layout, modes, normalize, "none", fused=True)
    if not fused.exists():
        fused.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=fused.parent) as tmp:
            plain = Path(tmp) / "plain.onnx"
            export_graph(layout, modes, normalize, plain)
            fuse_graph(layout, model_type, plain, fused)
    return fused


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
