"""The distillation loss and the IDF-aware FLOPS penalty."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

torch = pytest.importorskip("torch")

from winnow.train.losses import flops_penalty, idf_flops, kl_distillation  # noqa: E402

scores = arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(2, 6)),
                elements=st.floats(-20, 20, width=32, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(scores, st.floats(0.05, 5.0), st.floats(-3, 3))
def test_kl_is_zero_exactly_when_the_student_matches_the_tempered_teacher(teacher, temperature, shift):
    teacher = torch.from_numpy(teacher)
    matched = teacher / temperature + shift  # a softmax ignores a constant shift
    assert kl_distillation(matched, teacher, temperature).item() == pytest.approx(0.0, abs=1e-4)
    reversed_ = matched.flip(-1)
    expected = torch.sum(torch.softmax(teacher / temperature, -1) * (torch.log_softmax(teacher / temperature, -1)
                                                                      - torch.log_softmax(reversed_, -1))) / len(teacher)
    assert kl_distillation(reversed_, teacher, temperature).item() == pytest.approx(expected.item(), rel=1e-3, abs=1e-4)
    assert kl_distillation(reversed_, teacher, temperature).item() >= -1e-6


def test_idf_flops_with_unit_prices_is_splade_flops():
    weights = torch.rand(5, 12)
    assert idf_flops(weights, torch.ones(12)).item() == pytest.approx(
        torch.sum(torch.mean(weights, dim=0) ** 2).item(), rel=1e-6)
    st_losses = pytest.importorskip("sentence_transformers.sparse_encoder.losses")
    reference = st_losses.FlopsLoss(model=None).compute_loss_from_embeddings(weights)
    assert idf_flops(weights, torch.ones(12)).item() == pytest.approx(reference.item(), rel=1e-6)


def test_low_idf_tokens_are_pushed_down_hardest():
    idf = torch.tensor([0.01, 0.5, 2.0, 8.0])
    penalty = flops_penalty(idf, floor=0.1)
    assert penalty.tolist() == pytest.approx([10.0, 2.0, 0.5, 0.125])
    weights = torch.ones(3, 4, requires_grad=True)
    idf_flops(weights, penalty).backward()
    grad = weights.grad[0]
    assert torch.all(grad[:-1] > grad[1:])  # the gradient shrinks as the IDF grows
    assert grad.tolist() == pytest.approx((2 * penalty / 3).tolist())
