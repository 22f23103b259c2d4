"""Fine-tune a cross-encoder reranker on a BEIR split's judgements (needs the ``train`` extra).

The encoder of ``base`` (any Hugging Face encoder or sentence-transformers bi-encoder folder)
gets a fresh one-logit classification head. Each training query contributes one judged
positive and ``candidates - 1`` BM25-mined negatives (:func:`~winnow.train.candidates.mine_candidates`);
the model scores every ``(query, document)`` pair and minimises either

* ``listwise``: the cross-entropy of the positive under a softmax over the query's candidates
  (the localised contrastive estimation of Gao et al. 2021, "Rethink Training of BERT Rerankers
  in Multi-Stage Retrieval Pipeline"), or
* ``pointwise``: binary cross-entropy with label 1 for the positive and 0 for the negatives
  (monoBERT, Nogueira and Cho 2019).

AdamW, linear warm-up then linear decay, gradient accumulation and a seed, in the loop of
:mod:`~winnow.train.trainer`. The output folder is a sequence-classification model in the
sentence-transformers ``CrossEncoder`` layout
(``config.json`` names the activation, the tokenizer carries the maximum length), so both
:class:`~winnow.rerank.cross_encoder.CrossEncoderReranker` and
``sentence_transformers.CrossEncoder`` load it and give the same scores.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from winnow.errors import WinnowError, require
from winnow.train.candidates import TrainingSet, check_sampling, mine_candidates
from winnow.train.trainer import check_at_least_one

logger = logging.getLogger(__name__)

REPORT_FILE = "training.json"
LOSSES = ("listwise", "pointwise")
# Raw logits, not a sigmoid: a float32 sigmoid saturates to 1.0 for logits above ~17, which
# would tie the best documents of a ranking.
ACTIVATION = "torch.nn.modules.linear.Identity"


@dataclass(frozen=True)
class CrossEncoderConfig:
    """What to train and how.

    Attributes:
        base: encoder to start from (folder or Hugging Face id); its head, if any, is replaced.
        steps: optimiser steps.
        queries_per_step: queries per optimiser step (split over ``accumulation`` micro-batches).
        accumulation: micro-batches whose gradients add up to one step.
        candidates: documents per query: one judged positive, the rest BM25 negatives.
        depth: BM25 candidates mined per query.
        loss: ``listwise`` (softmax cross-entropy over a query's candidates) or ``pointwise`` (BCE).
        learning_rate: AdamW peak rate.
        warmup: fraction of the steps of linear warm-up (then linear decay to 0).
        weight_decay: AdamW weight decay.
        max_length: tokens per (query, document) pair, special tokens included.
        seed: sampling, dropout, head initialisation and pseudo-query seed.
        pseudo_queries: pseudo-queries made from the corpus when training without judgements.
        device: ``auto``, ``cpu`` or ``cuda``.
        bf16: bfloat16 autocast in the forward pass.
        time_limit: seconds of optimisation after which training stops (0: none).
    """

    base: str
    steps: int = 300
    queries_per_step: int = 8
    accumulation: int = 1
    candidates: int = 8
    depth: int = 30
    loss: str = "listwise"
    learning_rate: float = 3e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256
    seed: int = 0
    pseudo_queries: int = 4000
    device: str = "auto"
    bf16: bool = False
    time_limit: float = 0.0

    def __post_init__(self) -> None:
        check_at_least_one(self, ("queries_per_step", "max_length", "pseudo_queries"))
        self.trainer()  # refuses bad optimiser settings
        check_sampling(self.queries_per_step, self.accumulation, self.candidates, self.depth)
        if self.loss not in LOSSES:
            raise WinnowError(f"unknown loss {self.loss!r}; expected one of {', '.join(LOSSES)}")

    def trainer(self):
        from winnow.train.trainer import TrainerConfig

        return TrainerConfig(steps=self.steps, accumulation=self.accumulation, learning_rate=self.learning_rate,
                             warmup=self.warmup, weight_decay=self.weight_decay, device=self.device, seed=self.seed,
                             bf16=self.bf16, time_limit=self.time_limit)


def ranking_loss(logits, loss: str):
    """The training loss of ``logits`` ``(queries, candidates)`` whose column 0 is the positive.

    ``listwise``: ``mean_q -log softmax(logits_q)[0]``; ``pointwise``: the mean binary
    cross-entropy of ``sigmoid(logits)`` against labels ``[1, 0, ..., 0]``.
    """
    import torch
    import torch.nn.functional as F

    if loss == "listwise":
        return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    return F.binary_cross_entropy_with_logits(logits, labels)


def train_cross_encoder(beir_dir: str | Path, out_dir: str | Path, config: CrossEncoderConfig,
                        split: str | None = "train", progress: Callable[[int, dict], None] | None = None) -> dict:
    """Train on one split of a BEIR folder (``None``: on pseudo-queries, no judgements), save the
    model into ``out_dir``; return the report.

    The report (also saved as ``training.json``) holds the configuration, the data sizes, the
    seconds taken and, every :data:`~winnow.train.trainer.LOG_EVERY` steps, the mean loss and the
    learning rate.

    Raises:
        WinnowError: when fewer training queries than ``queries_per_step`` have enough candidates.
        MissingExtraError: without torch and transformers.
    """
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    from winnow.encode.model_layout import resolve_model
    from winnow.train.trainer import device_of, fit

    started = time.perf_counter()
    torch.manual_seed(config.seed)  # the fresh head's weights
    train = mine_candidates(beir_dir, split, config.depth, config.pseudo_queries, config.seed)
    examples = [e for e in train.examples if len(e.doc_ids) >= config.candidates]
    if len(examples) < config.queries_per_step:
        kind = "pseudo-" if split is None else f"{split} "
        raise WinnowError(f"{beir_dir}: only {len(examples)} {kind}queries have {config.candidates} candidates; "
                          f"lower candidates or queries_per_step")
    train = TrainingSet(examples, train.texts)

    base = resolve_model(config.base)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=1, ignore_mismatched_sizes=True).float()
    trainer = config.trainer()
    device = torch.device(device_of(trainer))
    model.to(device)
    micro = config.queries_per_step // config.accumulation

    def micro_loss(rng, step: int):
        queries, docs = [], []
        for i in rng.choice(len(examples), micro, replace=False):
            chosen = _sample_candidates(examples[i], config.candidates, rng)
            queries += [examples[i].query] * config.candidates
            docs += [train.texts[examples[i].doc_ids[j]] for j in chosen]
        inputs = tokenizer(queries, docs, padding=True, truncation="longest_first", max_length=config.max_length,
                           return_tensors="pt").to(device)
        return ranking_loss(model(**inputs).logits.float().view(-1, config.candidates), config.loss), {}

    history = fit(model, trainer, micro_loss, progress=progress).history
    save_cross_encoder(model.cpu().eval(), tokenizer, out_dir, config.max_length)
    report = {"config": dataclasses.asdict(config), "beir": str(beir_dir), "split": split,
              "queries": len(examples), "documents": len(train.texts),
              "seconds": round(time.perf_counter() - started, 1), "history": history}
    (Path(out_dir) / REPORT_FILE).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def save_cross_encoder(model, tokenizer, out_dir: str | Path, max_length: int) -> None:
    """Save a sequence-classification model in the sentence-transformers ``CrossEncoder`` layout.

    ``config.json`` gets the ``sentence_transformers.activation_fn`` entry that
    sentence-transformers (v4 and later) reads, and the tokenizer's ``model_max_length`` is the
    pair length the model was trained with.
    """
    model.config.sentence_transformers = {"activation_fn": ACTIVATION}
    tokenizer.model_max_length = max_length
    tokenizer.init_kwargs.pop("max_length", None)  # a stored truncation length would override it
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def _sample_candidates(example, n: int, rng) -> np.ndarray:
    """Indices into ``example.doc_ids``: one judged positive first, then ``n - 1`` negatives."""
    positive = rng.integers(example.n_positive)
    negatives = np.arange(example.n_positive, len(example.doc_ids))
    if len(negatives) < n - 1:  # fewer BM25 negatives than asked: other positives fill in last
        negatives = np.delete(np.arange(len(example.doc_ids)), positive)
    return np.concatenate([[positive], rng.choice(negatives, n - 1, replace=False)])
