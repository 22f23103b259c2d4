"""The student's document weights without its ``tokens x vocabulary`` logits tensor.

SPLADE max pooling, ``w_j = log(1 + relu(max_i (h_i . E_j + b_j)))`` over a document's tokens
``i``, is one matrix product followed by a max. Autograd through the naive form keeps the whole
``documents x tokens x vocabulary`` logits (2 GB for 64 documents of 256 tokens) and walks it
several times. But the max routes each weight's gradient to one token only, so
:class:`MaxPooledLogits` keeps just the winning token of each (document, term) and its backward
touches only the terms that are active (a few hundred per document): the same values and
gradients (at an exact tie the gradient goes to one of the tied tokens, where autograd's ``amax``
splits it among them), at the cost of the forward product alone.

Training also scores only the vocabulary columns an IDF-weighted query can ever match (tokens
that occur in the corpus); :func:`pooled_weights` takes those columns.
"""

from __future__ import annotations

from contextlib import contextmanager


def _autograd_function():
    import torch

    class MaxPooledLogits(torch.autograd.Function):
        """``(documents, columns)`` masked max over tokens of ``hidden @ weight.T`` (no bias)."""

        @staticmethod
        def forward(ctx, hidden, weight, mask):
            rows = []
            winners = []
            for d in range(hidden.shape[0]):
                real = mask[d].nonzero().squeeze(1)
                values, at = (hidden[d, real] @ weight.T).max(dim=0)
                rows.append(values)
                winners.append(real[at])
            ctx.save_for_backward(hidden, weight, torch.stack(winners))
            return torch.stack(rows)

        @staticmethod
        def backward(ctx, grad):
            hidden, weight, winners = ctx.saved_tensors
            grad_hidden = torch.zeros_like(hidden) if ctx.needs_input_grad[0] else None
            grad_weight = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
            for d in range(hidden.shape[0]):
                active = grad[d].nonzero().squeeze(1)
                if active.numel() == 0:
                    continue
                g, tokens = grad[d, active].unsqueeze(1), winners[d, active]
                if grad_hidden is not None:  # dtypes differ under autocast: sum in each gradient's own
                    grad_hidden[d].index_add_(0, tokens, (g * weight[active]).to(hidden.dtype))
                if grad_weight is not None:
                    grad_weight.index_add_(0, active, (g * hidden[d, tokens]).to(weight.dtype))
            return grad_hidden, grad_weight, None

    return MaxPooledLogits


_FUNCTION = None


def max_pooled_logits(hidden, weight, mask):
    """Per document, the max over its real tokens of ``hidden[d] @ weight.T``.

    Args:
        hidden: ``(documents, tokens, hidden)`` states entering the output layer.
        weight: ``(columns, hidden)`` rows of the output layer.
        mask: ``(documents, tokens)``, true for real tokens (each document has at least one).
    """
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = _autograd_function()
    return _FUNCTION.apply(hidden, weight, mask.bool())


@contextmanager
def _without_output_layer(network):
    """The network with its output layer replaced by the identity: ``logits`` are its inputs."""
    import torch

    decoder = network.get_output_embeddings()
    for parent in network.modules():
        for name, child in parent.named_children():
            if child is decoder:
                setattr(parent, name, torch.nn.Identity())
                try:
                    yield decoder
                finally:
                    setattr(parent, name, decoder)
                return
    raise LookupError("output layer not found among the network's modules")


def pooled_weights(network, inputs, columns=None):
    """SPLADE max-pooled ``log(1 + relu)`` weights ``(documents, columns)`` of tokenised ``inputs``.

    Args:
        network: a ``*ForMaskedLM`` whose output layer is a linear map with a bias.
        inputs: the tokenizer's tensors.
        columns: vocabulary ids to score (``None``: all).
    """
    import torch

    with _without_output_layer(network) as decoder:
        hidden = network(**inputs).logits
    weight, bias = decoder.weight, decoder.bias
    if columns is not None:
        weight, bias = weight[columns], bias[columns]
    return torch.log1p(torch.relu(max_pooled_logits(hidden, weight, inputs["attention_mask"]) + bias))
