"""ranx's own fusion of winnow's runs, tuned on one split and scored on another: the yardstick
that ``winnow eval``'s fused pipelines are compared against.

    winnow eval DATA --split train --retriever bm25 --retriever dense:MODEL --run-out train-runs
    winnow eval DATA --split test  --retriever bm25 --retriever dense:MODEL --run-out test-runs
    python benchmarks/ranx_fusion.py DATA train-runs test-runs [--tune-split train] [--fused DIR]

For every method (weighted sum under min-max, z-score and max normalisation; RRF; CombSUM and
CombMNZ), ranx's ``optimize_fusion`` picks the parameters on the tuning split's qrels (nDCG@10),
then the fused test run is scored. Runs are matched by file name across both folders. ``--fused``
adds runs fused elsewhere (winnow's, one TREC file each) to the same table.

Every run is scored twice: by ranx, and by ir-measures (pytrec_eval, as ``winnow eval`` scores).
The two order tied scores differently (trec_eval breaks ties by document id, descending), which
moves nDCG@10 by about 0.001 on nfcorpus, so compare rows within one column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

METHODS = [  # (label, ranx method, ranx norm, whether parameters are tuned)
    ("wsum min-max", "wsum", "min-max", True),
    ("wsum z-score", "wsum", "zmuv", True),
    ("wsum max", "wsum", "max", True),
    ("rrf", "rrf", "min-max", True),
    ("combsum min-max", "sum", "min-max", False),
    ("combsum z-score", "sum", "zmuv", False),
    ("combmnz min-max", "mnz", "min-max", False),
    ("combmnz z-score", "mnz", "zmuv", False),
]


def read_qrels(data: Path, split: str):
    from ranx import Qrels

    judged: dict[str, dict[str, int]] = {}
    with open(data / "qrels" / f"{split}.tsv", encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            qid, docid, grade = line.rstrip("\n").split("\t")
            if int(grade) > 0:
                judged.setdefault(qid, {})[docid] = int(grade)
    return Qrels(judged)


def read_runs(folder: Path) -> dict:
    from ranx import Run

    return {path.stem: Run.from_file(str(path), kind="trec") for path in sorted(folder.iterdir()) if path.is_file()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="BEIR folder (qrels/SPLIT.tsv)")
    ap.add_argument("tune_runs", type=Path, help="runs of the tuning split, one TREC file per retriever")
    ap.add_argument("test_runs", type=Path, help="runs of the test split, same file names")
    ap.add_argument("--tune-split", default="train")
    ap.add_argument("--test-split", default="test")
    ap.add_argument("--metric", default="ndcg@10")
    ap.add_argument("--fused", type=Path, help="fused test runs to score alongside, one TREC file each")
    args = ap.parse_args()

    from ranx import fuse, optimize_fusion

    tune, test = read_runs(args.tune_runs), read_runs(args.test_runs)
    names = [name for name in tune if name in test]
    if len(names) < 2:
        raise SystemExit(f"need at least two runs present in both folders, found {names}")
    tune_qrels, test_qrels = read_qrels(args.data, args.tune_split), read_qrels(args.data, args.test_split)
    for name in names:  # a query a retriever found nothing for is in no TREC file: an empty ranking
        tune[name].make_comparable(tune_qrels)
        test[name].make_comparable(test_qrels)
    tune_runs, test_runs = [tune[n] for n in names], [test[n] for n in names]
    print(f"runs: {', '.join(names)}\n")
    score = scorer(args.data, args.test_split, test_qrels, args.metric)
    print(f"| fusion | parameters tuned on {args.tune_split} | {args.metric} {args.test_split} (ranx) "
          f"| {args.metric} {args.test_split} (ir-measures) |")
    print("|---|---|---:|---:|")
    for name in names:
        print(f"| {name} alone | - | {score(test[name])} |")
    for label, method, norm, tuned in METHODS:
        params = (optimize_fusion(tune_qrels, tune_runs, norm=norm, method=method, metric="ndcg@10")
                  if tuned else {})
        fused = fuse(test_runs, norm=norm, method=method, params=params)
        shown = ", ".join(f"{k}={[float(x) for x in v] if isinstance(v, tuple) else v}"
                          for k, v in params.items()) or "-"
        print(f"| ranx {label} | {shown} | {score(fused)} |")
    for name, run in read_runs(args.fused).items() if args.fused else ():
        run.make_comparable(test_qrels)
        print(f"| {name} | - | {score(run)} |")


def scorer(data: Path, split: str, qrels, metric: str):
    """``run -> "ranx | ir-measures"``: the metric of a ranx run by ranx and by ``winnow eval``'s
    evaluator."""
    from ranx import evaluate as ranx_evaluate

    from winnow.corpus.beir import read_qrels as read_judgements
    from winnow.evaluate.metrics import evaluate
    from winnow.types import Run

    judged = read_judgements(data / "qrels" / f"{split}.tsv")

    def score(run) -> str:
        ours = evaluate(Run.from_dict(run.to_dict(), "ranx"), judged, [metric])[metric]
        return f"{ranx_evaluate(qrels, run, metric):.4f} | {ours:.4f}"

    return score


if __name__ == "__main__":
    main()
