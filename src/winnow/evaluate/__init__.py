"""Evaluation: ir-measures metrics, BEIR experiments."""

from winnow.evaluate.experiment import EvalResult, run_beir, run_experiment
from winnow.evaluate.metrics import DEFAULT_METRICS, evaluate, per_query

__all__ = ["EvalResult", "run_beir", "run_experiment", "evaluate", "per_query", "DEFAULT_METRICS"]
