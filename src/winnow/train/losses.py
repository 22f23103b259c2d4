"""Losses of inference-free distillation (torch tensors in, scalar tensor out).

An inference-free model scores ``s(q, d) = sum_j idf_j * w_dj`` over the query's tokens ``j``.
Each document weight therefore buys score in proportion to its token's IDF, while its cost, a
posting read by every query holding the token, does not depend on the IDF at all. The
IDF-aware FLOPS penalty prices weights in score units:

    L_flops = sum_j c_j * (mean_i w_ij)^2,    c_j = 1 / max(idf_j, floor)

so frequent, low-IDF tokens (those on the longest posting lists) are suppressed hardest and
rare informative tokens keep their weight; with ``c_j = 1`` it is SPLADE's FLOPS
(Paria et al., ICLR 2020).
"""

from __future__ import annotations


def kl_distillation(student, teacher, temperature: float = 1.0):
    """KL(teacher || student) of the softmax over each query's candidates, averaged over queries.

    Args:
        student: ``(queries, candidates)`` scores of the model being trained.
        teacher: ``(queries, candidates)`` target scores, divided by ``temperature`` before the softmax.
    """
    import torch.nn.functional as F

    return F.kl_div(F.log_softmax(student, dim=-1), F.log_softmax(teacher / temperature, dim=-1),
                    reduction="batchmean", log_target=True)


def flops_penalty(idf, floor: float = 0.1):
    """Per-token price ``1 / max(idf, floor)`` of the IDF-aware FLOPS penalty."""
    return 1.0 / idf.clamp(min=floor)


def idf_flops(doc_weights, penalty):
    """``sum_j penalty_j * (mean over documents of w_j)^2`` for ``(documents, vocabulary)`` weights."""
    return (penalty * doc_weights.mean(dim=0) ** 2).sum()
