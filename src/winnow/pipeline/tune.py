"""Tune a pipeline's fusion parameters on a qrels split (Bruch et al. 2023 tune the convex weight
on held-out judgements; RRF's k likewise), innermost fusion first."""

from __future__ import annotations

from typing import Callable

from winnow.pipeline.grammar import Chain, Cut, Fuse, Node, build, unparse
from winnow.retrieve.retriever import DEFAULT_DEPTH
from winnow.types import Qrels, Query, Run


def tune_pipeline(node: Node, resolve: Callable[[str], object], queries: list[Query], qrels: Qrels,
                  metric: str = "ndcg@10", depth: int = DEFAULT_DEPTH,
                  runs: dict[str, Run] | None = None) -> dict[str, dict]:
    """Parameters for every fusion in ``node``: ``{fusion text: params}``, for :func:`build`'s ``tuned``.

    Each fusion's inputs are retrieved once, ``depth`` deep, on ``queries`` (a split other than
    the one reported), and :func:`winnow.fuse.tune` searches its grid. ``runs`` keeps the runs
    retrieved, by pipeline text, across calls with the same queries and depth (several pipelines
    tuned over the same retrievers retrieve each once).
    """
    from winnow.fuse import check_params, tune

    tuned: dict[str, dict] = {}
    runs = {} if runs is None else runs

    def retrieve(part: Node, retriever) -> Run:
        text = unparse(part)
        if text not in runs:
            runs[text] = retriever.retrieve(queries, depth)
        return runs[text]

    def visit(n: Node) -> None:
        if isinstance(n, Cut):
            visit(n.inner)
        elif isinstance(n, (Chain, Fuse)):
            for part in n.parts:
                visit(part)
        if isinstance(n, Fuse):
            parts = [build(p, resolve, tuned) for p in n.parts]
            fixed = check_params(n.method, {k: v for k, v in n.params if k != "depth"}, len(parts))
            tuned[unparse(n)] = tune([retrieve(p, r) for p, r in zip(n.parts, parts)], qrels, n.method, metric,
                                     floors=[p.score_floor for p in parts], grid={k: [v] for k, v in fixed.items()})

    visit(node)
    return tuned
