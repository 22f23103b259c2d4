"""PyTorch backend: the pooled SPLADE function of :mod:`winnow.encode.pooling` run eagerly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from winnow.errors import WinnowError, require


def load_masked_lm(folder: Path):
    """Load a transformers ``*ForMaskedLM`` model from ``folder`` in eval mode (float32)."""
    transformers = require("transformers", "torch")
    transformers.utils.logging.disable_progress_bar()  # winnow draws its own progress; no per-load weight bars
    return transformers.AutoModelForMaskedLM.from_pretrained(str(folder)).float().eval()


def torch_threads(torch, threads: int) -> None:
    """Give PyTorch ``threads`` intra-op threads unless it has them already. Setting the count
    again once numba's OpenMP threads have run a kernel (both use one ``libgomp``) made every
    PyTorch parallel region after it about six times slower: a MiniLM batch 25 s instead of 4."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def torch_device(torch, device: str):
    """``torch.device(device)``, refusing ``cuda`` where PyTorch sees no CUDA device."""
    if device == "cuda" and not torch.cuda.is_available():
        raise WinnowError("device=cuda, but PyTorch sees no CUDA device here")
    return torch.device(device)


class TorchBackend:
    """Maps padded token ids to pooled vocabulary weights with PyTorch.

    Args:
        folder: The masked-language model folder.
        pooling: ``max`` or ``sum``.
        activation: ``relu`` or ``log1p_relu``.
        threads: Intra-op threads (``torch.set_num_threads`` is process-wide).
        precision: ``float32`` or ``bfloat16`` for the vocabulary projection.
        device: ``cpu`` or ``cuda``.
    """

    def __init__(self, folder: Path, pooling: str, activation: str, threads: int, precision: str = "float32",
                 device: str = "cpu"):
        torch = require("torch", "torch")
        from winnow.encode.pooling import make_pooled_mlm

        torch_threads(torch, threads)
        self._torch = torch
        self._device = torch_device(torch, device)
        self.module = make_pooled_mlm(load_masked_lm(folder), pooling, activation,
                                      head_dtype=precision).to(self._device)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Return ``(batch, vocabulary)`` float32 weights for int64 ``(batch, tokens)`` inputs."""
        torch = self._torch
        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(a).to(self._device) for a in (input_ids, attention_mask)))
        return out.float().cpu().numpy()
