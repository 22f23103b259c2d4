"""Every pooling against a hand computation, with right and left padding and a prompt left out."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from winnow.dense.layout import pooling_modes  # noqa: E402
from winnow.dense.pooling import latent_pooling_class, make_pooled_encoder, pool  # noqa: E402

LENGTHS = [5, 2, 7, 1]
WIDTH = 7
PROMPT = 2


def batch(left: bool, prompt: int = 0):
    """Random hidden states and the masks of texts of :data:`LENGTHS` tokens; ``prompt`` leading
    tokens of each text are left out of the pool mask."""
    rng = np.random.default_rng(7)
    hidden = rng.normal(size=(len(LENGTHS), WIDTH, 4)).astype(np.float32)
    mask = np.zeros((len(LENGTHS), WIDTH), np.int64)
    pool_mask = np.zeros_like(mask)
    for row, n in enumerate(LENGTHS):
        start = WIDTH - n if left else 0
        mask[row, start:start + n] = 1
        pool_mask[row, start + min(prompt, n):start + n] = 1
    return hidden, mask, pool_mask


def real_tokens(hidden, mask, pool_mask, row):
    """The pooled tokens of ``row`` in text order and their 1-based positions in the text."""
    start = int(np.argmax(mask[row]))
    idx = [i for i in range(WIDTH) if pool_mask[row, i]]
    return hidden[row, idx], np.array([i - start + 1 for i in idx], dtype=np.float32)


def by_hand(mode, hidden, mask, pool_mask):
    out = []
    for row in range(len(LENGTHS)):
        tokens, positions = real_tokens(hidden, mask, pool_mask, row)
        if len(tokens) == 0:
            out.append({"mean": np.zeros(4), "mean_sqrt_len_tokens": np.zeros(4), "weightedmean": np.zeros(4),
                        "max": np.full(4, -np.inf), "lasttoken": np.zeros(4),
                        "cls": hidden[row, 0]}[mode])
        elif mode == "mean":
            out.append(tokens.sum(axis=0) / len(tokens))
        elif mode == "mean_sqrt_len_tokens":
            out.append(tokens.sum(axis=0) / np.sqrt(len(tokens)))
        elif mode == "cls":
            out.append(tokens[0])
        elif mode == "max":
            out.append(tokens.max(axis=0))
        elif mode == "lasttoken":
            out.append(tokens[-1])
        elif mode == "weightedmean":
            out.append((tokens * positions[:, None]).sum(axis=0) / positions.sum())
    return np.stack(out).astype(np.float32)


@pytest.mark.parametrize("mode", ["mean", "mean_sqrt_len_tokens", "cls", "max", "lasttoken", "weightedmean"])
@pytest.mark.parametrize("left", [False, True], ids=["right-padded", "left-padded"])
@pytest.mark.parametrize("prompt", [0, PROMPT], ids=["with-prompt", "prompt-excluded"])
def test_pooling_matches_hand_computation(mode, left, prompt):
    hidden, mask, pool_mask = batch(left, prompt)
    got = pool(torch.from_numpy(hidden), torch.from_numpy(mask), torch.from_numpy(pool_mask), (mode,)).numpy()
    np.testing.assert_allclose(got, by_hand(mode, hidden, mask, pool_mask), rtol=1e-6, atol=1e-6)


def test_several_modes_concatenate_in_order():
    hidden, mask, pool_mask = batch(False)
    got = pool(torch.from_numpy(hidden), torch.from_numpy(mask), torch.from_numpy(pool_mask), ("cls", "mean")).numpy()
    want = np.concatenate([by_hand("cls", hidden, mask, pool_mask), by_hand("mean", hidden, mask, pool_mask)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_pooling_modes_read_both_config_styles():
    assert pooling_modes({"pooling_mode": "lasttoken"}) == ("lasttoken",)
    assert pooling_modes({"pooling_mode": ["cls", "max"]}) == ("cls", "max")
    assert pooling_modes({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True}) == ("cls", "mean")
    assert pooling_modes({"pooling_mode_mean_tokens": False}) == ("mean",)


def gelu(x):
    from math import erf, sqrt

    return x * 0.5 * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))


def layer_norm(x, module):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + module.eps) * module.weight.detach().numpy() + module.bias.detach().numpy()


def test_latent_attention_pooling_matches_hand_computation():
    torch.manual_seed(0)
    module = latent_pooling_class()(hidden_size=4, num_latents=3, num_heads=2, mlp_ratio=2).eval()
    hidden, mask, pool_mask = batch(False)
    got = module(torch.from_numpy(hidden), torch.from_numpy(pool_mask)).detach().numpy()
    p = {name: t.detach().numpy().astype(np.float64) for name, t in module.state_dict().items()}
    want = []
    for row in range(len(LENGTHS)):
        x = hidden[row].astype(np.float64)
        q = layer_norm(x, module.norm_q) @ p["to_q.weight"].T
        kv = layer_norm(p["latents"], module.norm_kv) @ p["to_kv.weight"].T
        k, v = kv[:, :4], kv[:, 4:]
        heads = []
        for h in range(2):
            cols = slice(2 * h, 2 * h + 2)
            logits = q[:, cols] @ k[:, cols].T / np.sqrt(2.0)
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
            weights /= weights.sum(axis=1, keepdims=True)
            heads.append(weights @ v[:, cols])
        x = x + np.concatenate(heads, axis=1) @ p["to_out.weight"].T + p["to_out.bias"]
        inner = gelu(layer_norm(x, module.norm_mlp) @ p["mlp.0.weight"].T + p["mlp.0.bias"])
        x = x + inner @ p["mlp.2.weight"].T + p["mlp.2.bias"]
        keep = pool_mask[row].astype(bool)
        want.append(x[keep].mean(axis=0))
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-5, atol=1e-5)


def test_latent_attention_pooling_trains_and_round_trips(tmp_path):
    cls = latent_pooling_class()
    module = cls(hidden_size=8, num_latents=4, num_heads=2)
    hidden = torch.randn(3, 5, 8, requires_grad=True)
    mask = torch.ones(3, 5, dtype=torch.int64)
    module(hidden, mask).sum().backward()
    assert module.latents.grad is not None and module.latents.grad.abs().sum() > 0
    module.save(tmp_path / "latent")
    loaded = cls.load(tmp_path / "latent").eval()
    module.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(hidden, mask), module(hidden, mask))


def test_pooled_encoder_normalizes():
    class Trunk(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            from types import SimpleNamespace

            return SimpleNamespace(last_hidden_state=input_ids.unsqueeze(-1).float().repeat(1, 1, 3))

    encoder = make_pooled_encoder(Trunk(), ("mean",), normalize=True)
    ids = torch.tensor([[3, 4, 0]])
    mask = torch.tensor([[1, 1, 0]])
    out = encoder(ids, mask, mask)
    torch.testing.assert_close(out, torch.full((1, 3), 3 ** -0.5))
