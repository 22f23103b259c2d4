"""Turn a transformer's last hidden states into one vector per text.

Every pooling takes ``hidden`` ``(B, L, H)``, the attention mask the model saw and a *pool mask*
(the attention mask with instruction tokens zeroed when they are left out of the pool), and
returns ``(B, H)``. They follow sentence-transformers' ``Pooling`` exactly, so the same folder
gives the same vectors:

* ``mean``: ``sum_i m_i h_i / max(sum_i m_i, 1e-9)``; ``mean_sqrt_len_tokens`` divides by the root;
* ``cls``: the first pooled token (after any left padding and excluded prompt);
* ``max``: the element-wise max over pooled tokens;
* ``weightedmean``: position-weighted mean, weight ``i + 1`` counted from the first real token
  (Muennighoff, "SGPT", arXiv:2202.08904);
* ``lasttoken``: the last pooled token, with left or right padding (decoder embedders);
* ``latent``: NV-Embed's latent-attention pooling (Lee et al., arXiv:2405.17428), trainable.

The functions import torch lazily; :func:`make_pooled_encoder` wraps a transformer into one module
``(input_ids, attention_mask, pool_mask) -> (B, D)`` that both backends run (ONNX exports it whole).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from winnow.dense.layout import LATENT, POOLINGS


def mean(hidden, pool_mask, sqrt_len: bool = False):
    import torch

    mask = pool_mask.unsqueeze(-1).to(hidden.dtype)
    total = (hidden * mask).sum(dim=1, dtype=torch.float32)
    count = torch.clamp(mask.sum(dim=1, dtype=torch.float32), min=1e-9)
    return (total / (torch.sqrt(count) if sqrt_len else count)).to(hidden.dtype)


def cls(hidden, pool_mask):
    import torch

    first = pool_mask.to(torch.int32).argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0]), first]


def max_pool(hidden, pool_mask):
    mask = pool_mask.unsqueeze(-1).to(hidden.dtype)
    return hidden.masked_fill(mask == 0, float("-inf")).max(dim=1).values


def weighted_mean(hidden, attention_mask, pool_mask):
    import torch

    pad = attention_mask.to(torch.int32).argmax(dim=1)  # left padding before the first real token
    positions = torch.arange(1, hidden.shape[1] + 1, dtype=torch.float32).unsqueeze(0)
    weights = (positions - pad.unsqueeze(1).to(torch.float32)) * pool_mask.to(torch.float32)
    total = (hidden.to(torch.float32) * weights.unsqueeze(-1)).sum(dim=1)
    return (total / torch.clamp(weights.sum(dim=1, keepdim=True), min=1e-9)).to(hidden.dtype)


def last_token(hidden, pool_mask):
    """The last position whose mask is 1 (right padding: the end of the text; left: position L-1)."""
    import torch

    mask = pool_mask.to(torch.int32)
    length = hidden.shape[1]
    values, flipped = mask.flip(1).max(1)
    index = torch.where(values == 0, torch.full_like(flipped, length - 1), length - 1 - flipped)
    return hidden[torch.arange(hidden.shape[0]), index] * values.unsqueeze(-1).to(hidden.dtype)


def pool(hidden, attention_mask, pool_mask, modes: tuple[str, ...]):
    """The concatenation of ``modes`` (each one of :data:`~winnow.dense.layout.POOLINGS`)."""
    import torch

    out = []
    for mode in modes:
        if mode in ("mean", "mean_sqrt_len_tokens"):
            out.append(mean(hidden, pool_mask, sqrt_len=mode == "mean_sqrt_len_tokens"))
        elif mode == "cls":
            out.append(cls(hidden, pool_mask))
        elif mode == "max":
            out.append(max_pool(hidden, pool_mask))
        elif mode == "weightedmean":
            out.append(weighted_mean(hidden, attention_mask, pool_mask))
        elif mode == "lasttoken":
            out.append(last_token(hidden, pool_mask))
        else:
            raise ValueError(f"pooling {mode!r}: choose from {', '.join(POOLINGS)}")
    return out[0] if len(out) == 1 else torch.cat(out, dim=-1)


def _latent_class():
    import torch
    from torch import nn

    class LatentAttentionPooling(nn.Module):
        """NV-Embed's latent-attention pooling (Lee et al., "NV-Embed", arXiv:2405.17428, sec. 3.2).

        The last hidden states ``Q`` (``B x L x d``) cross-attend to a trainable latent array
        ``K = V`` (``r x d``), ``O = softmax(Q K^T / sqrt(d_h)) V`` per head, with pre-norm and a
        residual; then a GELU MLP (``d -> mlp_ratio * d -> d``), pre-norm and residual; then the
        masked mean over tokens.

        Args:
            hidden_size: ``d``, the transformer's hidden size.
            num_latents: ``r`` (512 in the paper).
            num_heads: Attention heads (8 in the paper).
            mlp_ratio: Width of the MLP relative to ``d``.
        """

        def __init__(self, hidden_size: int, num_latents: int = 512, num_heads: int = 8, mlp_ratio: int = 4):
            super().__init__()
            if hidden_size % num_heads:
                raise ValueError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
            self.config = {"hidden_size": hidden_size, "num_latents": num_latents, "num_heads": num_heads,
                           "mlp_ratio": mlp_ratio}
            self.num_heads = num_heads
            self.latents = nn.Parameter(torch.randn(num_latents, hidden_size) * hidden_size ** -0.5)
            self.norm_q = nn.LayerNorm(hidden_size)
            self.norm_kv = nn.LayerNorm(hidden_size)
            self.to_q = nn.Linear(hidden_size, hidden_size, bias=False)
            self.to_kv = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
            self.to_out = nn.Linear(hidden_size, hidden_size)
            self.norm_mlp = nn.LayerNorm(hidden_size)
            self.mlp = nn.Sequential(nn.Linear(hidden_size, mlp_ratio * hidden_size), nn.GELU(),
                                     nn.Linear(mlp_ratio * hidden_size, hidden_size))

        def attend(self, hidden):
            """Per-token outputs ``(B, L, d)`` before the mean."""
            b, n, d = hidden.shape
            h, dh = self.num_heads, d // self.num_heads
            q = self.to_q(self.norm_q(hidden)).view(b, n, h, dh).transpose(1, 2)  # (B, h, L, dh)
            k, v = self.to_kv(self.norm_kv(self.latents)).chunk(2, dim=-1)  # (r, d) each
            k = k.view(-1, h, dh).transpose(0, 1)  # (h, r, dh)
            v = v.view(-1, h, dh).transpose(0, 1)
            weights = torch.softmax(q @ k.transpose(-1, -2) * dh ** -0.5, dim=-1)  # (B, h, L, r)
            out = (weights @ v).transpose(1, 2).reshape(b, n, d)
            x = hidden + self.to_out(out)
            return x + self.mlp(self.norm_mlp(x))

        def forward(self, hidden, pool_mask):
            return mean(self.attend(hidden), pool_mask)

        def save(self, folder: str | Path) -> None:
            """Write ``config.json`` and ``model.safetensors`` (a sentence-transformers module folder)."""
            from safetensors.torch import save_file

            folder = Path(folder)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "config.json").write_text(json.dumps(self.config, indent=1), encoding="utf-8")
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(folder / "model.safetensors"))

        @classmethod
        def load(cls, folder: str | Path) -> "LatentAttentionPooling":
            from safetensors.torch import load_file

            folder = Path(folder)
            module = cls(**json.loads((folder / "config.json").read_text(encoding="utf-8")))
            module.load_state_dict(load_file(str(folder / "model.safetensors")))
            return module

    return LatentAttentionPooling


@functools.cache
def latent_pooling_class():
    """The ``LatentAttentionPooling`` class, built on first use so that torch loads lazily.

    ``latent_pooling_class()(hidden_size)`` makes a new module; ``.load(folder)`` reads a saved one.
    """
    return _latent_class()


def make_pooled_encoder(trunk, modes: tuple[str, ...], normalize: bool, latent=None):
    """Wrap a transformers ``AutoModel`` into ``(input_ids, attention_mask, pool_mask) -> (B, D)``.

    Args:
        trunk: The transformer (its output's ``last_hidden_state`` is pooled).
        modes: Pooling modes, or ``("latent",)`` with ``latent`` the pooling module.
        normalize: L2-normalise the pooled vectors (``x / max(||x||, 1e-12)``).
    """
    import torch

    class PooledEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = trunk
            self.latent = latent

        def forward(self, input_ids, attention_mask, pool_mask):
            hidden = self.trunk(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if modes == (LATENT,):
                out = self.latent(hidden, pool_mask)
            else:
                out = pool(hidden, attention_mask, pool_mask, modes)
            return torch.nn.functional.normalize(out, p=2, dim=-1) if normalize else out

    return PooledEncoder().eval()
