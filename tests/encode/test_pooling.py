import numpy as np
import pytest

torch = pytest.importorskip("torch")

from winnow.encode.pooling import make_pooled_mlm, splade_pool
from winnow.encode.torch_backend import load_masked_lm


def naive(folder, input_ids, mask, pooling, activation):
    """The textbook formula on the full (batch, tokens, vocabulary) logits tensor."""
    with torch.no_grad():
        logits = load_masked_lm(folder)(input_ids=input_ids, attention_mask=mask).logits
    act = torch.log1p(torch.relu(logits))
    if activation == "log1p_relu":
        act = torch.log1p(act)
    act = act * mask.unsqueeze(-1)
    return (act.amax(dim=1) if pooling == "max" else act.sum(dim=1)).numpy()


@pytest.mark.parametrize("pooling, activation", [("max", "relu"), ("sum", "relu"), ("max", "log1p_relu")])
def test_chunked_pooling_equals_the_full_logits_computation(tiny_mlm, pooling, activation):
    gen = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, 400, (3, 12), generator=gen)
    mask = torch.ones_like(input_ids)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    module = make_pooled_mlm(load_masked_lm(tiny_mlm), pooling, activation, vocab_chunk=64)
    with torch.no_grad():
        got = module(input_ids, mask).numpy()
    expected = naive(tiny_mlm, input_ids, mask, pooling, activation)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert (expected > 0).mean() > 0.1  # the check is not vacuous


def test_padding_does_not_change_a_vector(tiny_mlm):
    module = make_pooled_mlm(load_masked_lm(tiny_mlm))
    ids = torch.tensor([[2, 50, 60, 70, 3]])
    padded = torch.cat([ids, torch.zeros((1, 4), dtype=torch.int64)], dim=1)
    mask = torch.cat([torch.ones_like(ids), torch.zeros((1, 4), dtype=torch.int64)], dim=1)
    with torch.no_grad():
        np.testing.assert_allclose(module(padded, mask).numpy(), module(ids, torch.ones_like(ids)).numpy(), atol=1e-5)


def test_bfloat16_head_stays_close(tiny_mlm):
    ids = torch.randint(5, 400, (2, 10), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        fp32 = make_pooled_mlm(load_masked_lm(tiny_mlm))(ids, mask).numpy()
        bf16 = make_pooled_mlm(load_masked_lm(tiny_mlm), head_dtype="bfloat16")(ids, mask).numpy()
    np.testing.assert_allclose(bf16, fp32, atol=0.05)


@pytest.mark.parametrize("pooling, activation", [("max", "relu"), ("sum", "relu"), ("max", "log1p_relu"),
                                                 ("sum", "log1p_relu")])
def test_splade_pool_is_the_formula_with_gradients(pooling, activation):
    """The function training differentiates and the wrapper runs per chunk: masked, activated, pooled."""
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 5, 7, generator=gen, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    got = splade_pool(logits, mask, pooling, activation)
    act = torch.log1p(torch.relu(logits.detach()))
    act = torch.log1p(act) if activation == "log1p_relu" else act
    rows = [act[b, : int(mask[b].sum())] for b in range(2)]
    expected = torch.stack([r.amax(dim=0) if pooling == "max" else r.sum(dim=0) for r in rows])
    np.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)
    got.sum().backward()
    assert logits.grad[0, 3:].abs().sum() == 0  # padding gets no gradient
    assert logits.grad.abs().sum() > 0


def test_bias_after_the_max_equals_bias_in_the_logits():
    gen = torch.Generator().manual_seed(3)
    logits, bias = torch.randn(2, 4, 6, generator=gen), torch.randn(6, generator=gen)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    for pooling in ("max", "sum"):
        np.testing.assert_allclose(splade_pool(logits, mask, pooling, bias=bias).numpy(),
                                   splade_pool(logits + bias, mask, pooling).numpy(), rtol=1e-6, atol=1e-6)
