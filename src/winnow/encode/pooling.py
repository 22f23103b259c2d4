"""SPLADE pooling: one pure function for training and inference, and a wrapper without the big logits tensor.

SPLADE (Formal et al., SIGIR 2021; v2, arXiv:2109.10086) weights term ``j`` of a text as

    w_j = max_i log(1 + relu(logit_ij))        (sum_i for SPLADE v1)

over the unmasked tokens ``i``. :func:`splade_pool` is that formula on a logits tensor; training
calls it on the MLM's output and the inference wrapper on each vocabulary chunk, so both pool
exactly alike. Because ``log(1 + relu(x))`` is monotone, ``max_i f(x_i) = f(max_i x_i)``: max
pooling takes the masked max of raw logits and activates the pooled ``batch x vocabulary``
matrix once. The MLM head's last layer (``hidden -> vocabulary``) dominates the cost, and
materialising its output is what makes a naive encoder slow, so :func:`make_pooled_mlm` scores
one vocabulary chunk at a time. The same module is exported to ONNX, so ONNX Runtime runs the
whole pooled function.
"""

from __future__ import annotations

ACTIVATIONS = ("relu", "log1p_relu")
POOLINGS = ("max", "sum")


def splade_pool(logits, attention_mask=None, pooling: str = "max", activation: str = "relu", bias=None):
    """SPLADE weights ``(batch, vocabulary)`` of ``(batch, tokens, vocabulary)`` logits (torch tensors).

    Args:
        logits: MLM logits, or a slice of the vocabulary's columns.
        attention_mask: ``(batch, tokens)``, 1 for real tokens; ``None`` when every position
            counts (max pooling is unchanged by padding rows that copy a real token's).
        pooling: ``max`` (SPLADE v2+) or ``sum`` (SPLADE v1) over tokens.
        activation: ``relu`` for ``log(1 + relu(x))``; ``log1p_relu`` applies ``log1p`` once more
            (OpenSearch v3 models).
        bias: Per-vocabulary bias not yet added to ``logits``; max pooling adds it after the max
            (it is constant over tokens), which touches ``batch x vocabulary`` values instead of
            ``batch x tokens x vocabulary``.
    """
    import torch

    if pooling not in POOLINGS or activation not in ACTIVATIONS:
        raise ValueError(f"pooling {pooling!r} / activation {activation!r}: choose from {POOLINGS} / {ACTIVATIONS}")

    def activate(x):
        x = torch.log1p(torch.relu(x))
        return torch.log1p(x) if activation == "log1p_relu" else x

    mask = None if attention_mask is None else attention_mask.unsqueeze(-1).bool()
    if pooling == "max":
        pooled = (logits if mask is None else logits.masked_fill(~mask, float("-inf"))).amax(dim=1).float()
        return activate(pooled if bias is None else pooled + bias)
    weights = activate(logits if bias is None else logits + bias)
    return (weights if mask is None else weights * mask).sum(dim=1)


def _split_output_layer(model):
    """Replace the MLM's ``hidden -> vocabulary`` layer by identity and return it.

    The remaining model then outputs the head's transformed hidden states as ``logits``.
    """
    import torch

    decoder = model.get_output_embeddings()
    for name, module in model.named_modules():
        for child_name, child in module.named_children():
            if child is decoder:
                setattr(module, child_name, torch.nn.Identity())
                return decoder
    raise RuntimeError("output embeddings not found among the model's modules")  # pragma: no cover - transformers invariant


def make_pooled_mlm(model, pooling: str = "max", activation: str = "relu", vocab_chunk: int = 4096, head_dtype: str = "float32"):
    """Wrap a ``*ForMaskedLM`` model into a module ``(input_ids, attention_mask) -> (B, V)`` weights.

    Args:
        model: A transformers masked-language model (modified in place: its output layer moves
            into the wrapper).
        pooling: ``max`` or ``sum`` over tokens.
        activation: ``relu`` for ``log(1 + relu(x))``; ``log1p_relu`` applies ``log1p`` once more.
        vocab_chunk: Vocabulary rows scored per step (bounds the working set to
            ``batch x tokens x vocab_chunk`` floats).
    """
    import torch

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}")

    class PooledMLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            decoder = _split_output_layer(model)
            self.trunk = model
            self.weight = decoder.weight  # (V, H), tied to the input embeddings in most models
            bias = decoder.bias if decoder.bias is not None else torch.zeros(decoder.weight.shape[0])
            self.bias = torch.nn.Parameter(bias.detach(), requires_grad=False)
            self.weight_cast = self.weight if head_dtype == "float32" else self.weight.detach().to(torch.bfloat16)

        def forward(self, input_ids, attention_mask):
            hidden = self.trunk(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, L, H)
            mask = attention_mask
            if pooling == "max":
                # Padding rows become copies of the first token, so the unmasked max over a
                # chunk's logits equals the masked max and no mask touches the big tensor.
                hidden = torch.where(mask.unsqueeze(-1).bool(), hidden, hidden[:, :1, :]).to(self.weight_cast.dtype)
                mask = None
            weight = self.weight_cast if pooling == "max" else self.weight  # bfloat16 applies to max pooling
            pooled = []
            for lo in range(0, self.weight.shape[0], vocab_chunk):
                logits = torch.matmul(hidden, weight[lo : lo + vocab_chunk].t())
                pooled.append(splade_pool(logits, mask, pooling, activation, self.bias[lo : lo + vocab_chunk]))
            return torch.cat(pooled, dim=1)

    return PooledMLM().eval()
