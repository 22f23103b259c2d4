"""The student's memory-light pooled head gives the naive SPLADE pooling's values and gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from winnow.encode.pooling import splade_pool  # noqa: E402
from winnow.train.pooled_head import pooled_weights  # noqa: E402
from winnow.train.student import silence  # noqa: E402

TEXTS = ["an inverted index of posting lists", "learned sparse retrieval", "bm25",
         "the inference free model weighs each query token by its idf and nothing else at all"]


@pytest.fixture(scope="module")
def student(tiny_mlm):
    """The tiny MLM with its special tokens silenced, as students are: [PAD]'s output row is zero,
    so its logit ties over all tokens, and at a tie any split of the gradient is right."""
    network = transformers.AutoModelForMaskedLM.from_pretrained(str(tiny_mlm)).float().eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_mlm))
    silence(network, tokenizer.all_special_ids)
    return network, tokenizer


def value_and_grads(network, weights_of, target):
    network.zero_grad()
    weights = weights_of()
    loss = (weights * target).sum() + 0.3 * (weights.mean(dim=0) ** 2).sum()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in network.named_parameters() if p.grad is not None}
    return weights.detach(), grads


@settings(max_examples=8, deadline=None)
@given(texts=st.lists(st.sampled_from(TEXTS), min_size=1, max_size=4), side=st.sampled_from(["right", "left"]),
       every=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_values_and_gradients_equal_naive_pooling(student, texts, side, every, seed):
    network, tokenizer = student
    tokenizer.padding_side = side
    inputs = tokenizer(texts, padding=True, return_tensors="pt")
    columns = torch.arange(0, network.config.vocab_size, every)
    target = torch.rand(len(texts), len(columns), generator=torch.Generator().manual_seed(seed))
    fast, fast_grads = value_and_grads(network, lambda: pooled_weights(network, inputs, columns), target)
    naive, naive_grads = value_and_grads(
        network, lambda: splade_pool(network(**inputs).logits, inputs["attention_mask"])[:, columns], target)
    tokenizer.padding_side = "right"
    torch.testing.assert_close(fast, naive, rtol=1e-5, atol=1e-6)
    assert fast_grads.keys() == naive_grads.keys()
    for name, grad in naive_grads.items():
        torch.testing.assert_close(fast_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_the_output_layer_is_restored(student):
    network, tokenizer = student
    decoder = network.get_output_embeddings()
    inputs = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled_weights(network, inputs)
        logits = network(**inputs).logits
    assert network.get_output_embeddings() is decoder
    assert logits.shape[-1] == network.config.vocab_size
