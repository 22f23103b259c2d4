"""The optimisation loop shared by winnow's trainers.

AdamW with linear warm-up then linear decay, gradient accumulation, optional bfloat16 autocast,
gradient clipping, a seed, evaluation on a dev split every ``eval_every`` steps with early stop
after ``patience`` evaluations without improvement (the best weights are restored at the end),
checkpoints every ``checkpoint_every`` steps and resume from the last one, and a progress
callback that sees the loss and the learning rate.

The caller supplies the loss of one micro-batch, drawn from the generator the loop owns, so a
resumed run draws exactly the batches the uninterrupted run would have drawn.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from winnow.errors import WinnowError, require

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
LOG_EVERY = 10


@dataclass(frozen=True)
class TrainerConfig:
    """How to optimise.

    Attributes:
        steps: optimiser steps.
        accumulation: micro-batches whose gradients add up to one step.
        learning_rate: AdamW peak rate.
        warmup: fraction of the steps of linear warm-up (then linear decay to 0).
        weight_decay: AdamW weight decay.
        clip_norm: gradients are clipped to this global norm.
        bf16: run the forward pass under bfloat16 autocast (pays on GPUs and recent x86 CPUs).
        device: ``cpu``, ``cuda`` or ``auto`` (a GPU when one is present).
        seed: batches, dropout and fresh weights.
        eval_every: steps between evaluations (0: never evaluate).
        patience: evaluations without improvement before stopping (0: never stop early).
        checkpoint_every: steps between checkpoints (0: none).
        time_limit: seconds after which training stops at the end of the step, evaluated and
            checkpointed as an early stop is (0: none); the learning-rate schedule is still that of
            ``steps``.
        keep_best: end with the best evaluated weights; ``False`` keeps the last ones (the
            evaluations are still made, reported and used for early stopping).
    """

    steps: int = 1000
    accumulation: int = 1
    learning_rate: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    bf16: bool = False
    device: str = "auto"
    seed: int = 0
    eval_every: int = 0
    patience: int = 0
    checkpoint_every: int = 0
    time_limit: float = 0.0
    keep_best: bool = True

    def __post_init__(self) -> None:
        check_at_least_one(self, ("steps", "accumulation"))
        for name in ("eval_every", "patience", "checkpoint_every", "time_limit"):
            if getattr(self, name) < 0:
                raise WinnowError(f"training option {name} must be >= 0, got {getattr(self, name)}")
        if self.learning_rate <= 0 or not 0 <= self.warmup < 1 or self.weight_decay < 0 or self.clip_norm <= 0:
            raise WinnowError("learning_rate and clip_norm must be > 0, warmup in [0, 1) and weight_decay >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise WinnowError(f"device must be auto, cpu or cuda, got {self.device!r}")


def check_at_least_one(config, names: tuple[str, ...]) -> None:
    """Refuse a training option of ``config`` among ``names`` below 1.

    Raises:
        WinnowError: naming the option and its value.
    """
    for name in names:
        if getattr(config, name) < 1:
            raise WinnowError(f"training option {name} must be at least 1, got {getattr(config, name)}")


@dataclass
class FitResult:
    """What the loop did: the logged history, the evaluations, the best step and its score."""

    history: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    best_step: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    stopped_at_time_limit: bool = False
    resumed_from: int | None = None
    steps_done: int = 0


def device_of(config: TrainerConfig) -> str:
    torch = require("torch", "train")
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def fit(network, config: TrainerConfig, micro_loss: Callable, evaluate: Callable[[], float] | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = False,
        progress: Callable[[int, dict], None] | None = None) -> FitResult:
    """Train ``network`` (already on its device) for ``config.steps`` steps.

    Args:
        micro_loss: ``(rng, step) -> (loss, logs)``: the loss tensor of one micro-batch of step
            ``step`` (from 1) drawn with the ``numpy`` generator ``rng``, and floats to log beside
            it (averaged over the logging window).
        evaluate: the dev score, higher is better (called in eval mode, without gradients).
        checkpoint_dir: where ``checkpoint.pt`` is written every ``checkpoint_every`` steps.
        resume: continue from ``checkpoint_dir``'s checkpoint when there is one.
        progress: called after every step with ``{"loss", "lr", ...}`` of the last logged window
            and the last dev score.

    Returns:
        The history; the network holds the best evaluated weights (the last ones without
        ``evaluate`` or with ``keep_best`` off).
    """
    started = time.perf_counter()
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    from winnow.fsutil import replacing

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = next(network.parameters()).device
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, round(config.warmup * config.steps),
                                                            config.steps)
    result = FitResult()
    best_state, waited, start = None, 0, 1
    path = Path(checkpoint_dir) / CHECKPOINT_FILE if checkpoint_dir else None
    if resume and path is not None and path.exists():
        saved = torch.load(path, map_location=device, weights_only=False)
        network.load_state_dict(saved["network"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        result = saved["result"]
        best_state, waited, start = saved["best_state"], saved["waited"], saved["step"] + 1
        result.resumed_from = saved["step"]
        logger.info("resumed from step %d of %s", saved["step"], path)

    def score(step: int) -> bool:
        """Evaluate; return whether patience ran out."""
        nonlocal best_state, waited
        network.eval()
        with torch.no_grad():
            value = float(evaluate())
        network.train()
        result.evaluations.append({"step": step, "score": value})
        logger.info("step %d: dev score %.4f", step, value)
        if result.best_score is None or value > result.best_score:
            result.best_score, result.best_step, waited = value, step, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in network.state_dict().items()})
            return False
        waited += 1
        return bool(config.patience) and waited >= config.patience

    if evaluate is not None and config.eval_every and start == 1:
        score(0)
    network.train()
    window: list[dict] = []
    for step in range(start, config.steps + 1):
        optimizer.zero_grad()
        logs: dict[str, float] = {}
        for _ in range(config.accumulation):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16):
                loss, extra = micro_loss(rng, step)
            (loss / config.accumulation).backward()
            for key, value in {"loss": loss.item(), **extra}.items():
                logs[key] = logs.get(key, 0.0) + value / config.accumulation
        torch.nn.utils.clip_grad_norm_(network.parameters(), config.clip_norm)
        optimizer.step()
        schedule.step()
        result.steps_done = step
        out_of_time = bool(config.time_limit) and time.perf_counter() - started > config.time_limit
        due = bool(config.eval_every) and (step % config.eval_every == 0 or out_of_time)
        window.append(logs)
        if step % LOG_EVERY == 0 or step == config.steps or out_of_time:
            entry = {"step": step, **{k: float(np.mean([w[k] for w in window])) for k in window[0]},
                     "lr": schedule.get_last_lr()[0]}
            result.history.append(entry)
            window = []
            logger.info("step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in entry.items() if k != "step"))
        stop = evaluate is not None and due and score(step)
        if progress:
            last = result.history[-1] if result.history else {}
            progress(step, {**last, **({"dev": result.evaluations[-1]["score"]} if result.evaluations else {})})
        if path is not None and config.checkpoint_every and (step % config.checkpoint_every == 0 or stop
                                                             or out_of_time):
            path.parent.mkdir(parents=True, exist_ok=True)
            state = {"network": network.state_dict(), "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict(), "rng": rng.bit_generator.state,
                     "torch_rng": torch.get_rng_state(), "result": result, "best_state": best_state,
                     "waited": waited, "step": step}
            with replacing(path) as tmp:
                torch.save(state, tmp)
        if stop:
            result.stopped_early = True
            logger.info("stopping early at step %d: no dev improvement in %d evaluations", step, config.patience)
            break
        if out_of_time:
            result.stopped_at_time_limit = True
            logger.info("stopping at step %d: the time limit of %.0f s is spent", step, config.time_limit)
            break
    if best_state is not None and config.keep_best:
        network.load_state_dict(best_state)
    return result
