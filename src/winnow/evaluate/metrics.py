"""Metrics through ir-measures, named the way people write them (``ndcg@10``, ``recall@100``)."""

from __future__ import annotations

import re

from winnow.errors import WinnowError
from winnow.types import Qrels, Run

# winnow name (lowercase, without cutoff) -> ir-measures measure name
_ALIASES = {
    "ndcg": "nDCG", "ndcg_cut": "nDCG", "recall": "R", "r": "R", "mrr": "RR", "rr": "RR", "map": "AP",
    "ap": "AP", "p": "P", "precision": "P", "success": "Success", "judged": "Judged", "bpref": "Bpref",
    "rprec": "Rprec", "infap": "infAP",
}
DEFAULT_METRICS = ("ndcg@10", "recall@100", "recall@1000", "mrr@10", "map")


def to_measure(name: str):
    """Translate e.g. ``ndcg@10`` / ``MRR@10`` / ``map`` / ``nDCG@10`` into an ir-measures measure."""
    import ir_measures

    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*(?:@\s*(\d+))?\s*", name)
    if not m:
        raise WinnowError(f"cannot parse metric {name!r}; write e.g. ndcg@10, recall@100, mrr@10, map")
    base, cutoff = m.group(1), m.group(2)
    base = _ALIASES.get(base.lower(), base)
    try:
        return ir_measures.parse_measure(f"{base}@{cutoff}" if cutoff else base)
    except (ValueError, NameError, SyntaxError, AttributeError) as exc:
        raise WinnowError(f"unknown metric {name!r}; known: {', '.join(sorted(_ALIASES))} (with @k)") from exc


def evaluate(run: Run, qrels: Qrels, metrics=DEFAULT_METRICS) -> dict[str, float]:
    """Mean of each metric over the judged queries, keyed by the names exactly as given.

    Queries that are judged but missing from the run count as zero (as trec_eval with ``-c``).
    """
    import ir_measures

    measures = {name: to_measure(name) for name in metrics}
    run_dict = run.to_dict()
    for qid in qrels.judgements:
        run_dict.setdefault(qid, {})
    agg = ir_measures.calc_aggregate(list(set(measures.values())), qrels.judgements, run_dict)
    return {name: float(agg.get(m, 0.0)) for name, m in measures.items()}


def per_query(run: Run, qrels: Qrels, metrics=DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """Per-query values: ``{qid: {metric: value}}``."""
    import ir_measures

    measures = {name: to_measure(name) for name in metrics}
    names = {m: n for n, m in measures.items()}
    out: dict[str, dict[str, float]] = {}
    for row in ir_measures.iter_calc(list(set(measures.values())), qrels.judgements, run.to_dict()):
        out.setdefault(row.query_id, {})[names[row.measure]] = float(row.value)
    return out
