"""SPLADE pooling without the ``batch x tokens x vocabulary`` logits tensor.

SPLADE (Formal et al., SIGIR 2021; v2, arXiv:2109.10086) weights term ``j`` of a text as

    w_j = max_i log(1 + relu(logit_ij))        (sum_i for SPLADE v1)

over the unmasked tokens ``i``. The MLM head's last layer (``hidden -> vocabulary``) dominates
the cost, and materialising its output is what makes a naive encoder slow. Because
``log(1 + relu(x))`` is monotone, ``max_i f(x_i) = f(max_i x_i)``: the kernel below takes the
masked max of raw logits one vocabulary chunk at a time and applies the activation once to the
pooled ``batch x vocabulary`` matrix. The same module is exported to ONNX, so ONNX Runtime runs
the whole pooled function.
"""

from __future__ import annotations

ACTIVATIONS = ("relu", "log1p_relu")


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

        def activate(self, x):
            x = torch.log1p(torch.relu(x))
            return torch.log1p(x) if activation == "log1p_relu" else x

        def forward(self, input_ids, attention_mask):
            hidden = self.trunk(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, L, H)
            mask = attention_mask.unsqueeze(-1).bool()
            if pooling == "max":
                # Padding rows become copies of the first token, so an unmasked max over the
                # chunk's logits equals the masked max; the bias is constant over tokens.
                hidden = torch.where(mask, hidden, hidden[:, :1, :]).to(self.weight_cast.dtype)
            pooled = []
            for lo in range(0, self.weight.shape[0], vocab_chunk):
                if pooling == "max":
                    pooled.append(torch.matmul(hidden, self.weight_cast[lo : lo + vocab_chunk].t()).amax(dim=1))
                else:
                    logits = torch.matmul(hidden, self.weight[lo : lo + vocab_chunk].t()) + self.bias[lo : lo + vocab_chunk]
                    pooled.append((self.activate(logits) * mask).sum(dim=1))
            out = torch.cat(pooled, dim=1)
            return self.activate(out.float() + self.bias) if pooling == "max" else out

    return PooledMLM().eval()
