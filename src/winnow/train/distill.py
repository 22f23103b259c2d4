"""Distil an inference-free document encoder from a fused dense + sparse teacher.

Only documents pass through the student (an MLM with SPLADE pooling); a query is its distinct
tokens weighted by the corpus IDF, exactly as :class:`~winnow.encode.inference_free.StaticQueryEncoder`
will weigh it at search time. Each step samples queries, gives each one judged positive and
``candidates - 1`` other BM25 candidates, and minimises

    KL(softmax(teacher / T) || softmax(student)) + lambda_t * L_flops(idf-aware)

with ``lambda_t`` ramped up quadratically over the first ``flops_ramp`` of the steps (SPLADE's
schedule). The result is a model folder (weights, tokenizer, ``idf.json``) that the
``inference-free`` encoder loads with ``idf=model``.
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

from winnow.encode.bm25 import lucene_idf
from winnow.errors import WinnowError, require
from winnow.train.candidates import TrainingSet, mine_candidates
from winnow.train.losses import flops_penalty, idf_flops, kl_distillation
from winnow.train.teachers import dense_scores, fuse, sparse_scores

logger = logging.getLogger(__name__)

REPORT_FILE = "training.json"
LOG_EVERY = 10


@dataclass(frozen=True)
class DistillConfig:
    """What to train and how.

    Attributes:
        student: MLM to start from (folder or Hugging Face id); usually the sparse teacher.
        dense_teacher: sentence-transformers bi-encoder, or None.
        sparse_teacher: SPLADE model, or None (at least one teacher is needed).
        teacher_weights: weights of the dense and the sparse teacher in the fusion.
        steps: optimiser steps.
        queries_per_step: queries per batch.
        candidates: documents per query (one judged positive, the rest BM25 candidates).
        depth: BM25 candidates mined per query.
        learning_rate: AdamW peak rate (linear warm-up over 10% of the steps, then linear decay).
        flops_weight: final weight of the IDF-aware FLOPS penalty.
        flops_ramp: fraction of the steps over which that weight grows quadratically from 0.
        idf_floor: IDF below which a token's FLOPS price stops growing (``1 / idf_floor``).
        temperature: divides the fused teacher scores (each in [0, number of teachers]).
        doc_max_length: tokens per document, special tokens included.
        seed: sampling and initialisation seed.
    """

    student: str
    dense_teacher: str | None = None
    sparse_teacher: str | None = None
    teacher_weights: tuple[float, float] = (1.0, 1.0)
    steps: int = 400
    queries_per_step: int = 2
    candidates: int = 8
    depth: int = 30
    learning_rate: float = 5e-5
    flops_weight: float = 0.03
    flops_ramp: float = 1 / 3
    idf_floor: float = 0.1
    temperature: float = 0.1
    doc_max_length: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.dense_teacher or self.sparse_teacher):
            raise WinnowError("distillation needs a dense teacher, a sparse teacher or both")
        for name in ("steps", "queries_per_step", "doc_max_length"):
            if getattr(self, name) < 1:
                raise WinnowError(f"training option {name} must be at least 1, got {getattr(self, name)}")
        if self.candidates < 2 or self.depth < self.candidates - 1:
            raise WinnowError(f"training needs candidates >= 2 and depth >= candidates - 1, "
                              f"got candidates={self.candidates}, depth={self.depth}")
        if min(self.learning_rate, self.temperature, self.idf_floor) <= 0 or self.flops_weight < 0:
            raise WinnowError("learning_rate, temperature and idf_floor must be > 0 and flops_weight >= 0")
        if not 0 < self.flops_ramp <= 1:
            raise WinnowError(f"flops_ramp must be in (0, 1], got {self.flops_ramp}")


def corpus_idf(texts, tokenizer, vocab_size: int, batch: int = 1000) -> np.ndarray:
    """Lucene IDF of every token id over ``texts`` (0 for tokens no text contains)."""
    df = np.zeros(vocab_size, dtype=np.int64)
    n = 0
    chunk: list[str] = []

    def count(chunk):
        for encoding in tokenizer(chunk, add_special_tokens=False, verbose=False)["input_ids"]:
            df[np.unique(np.asarray(encoding, dtype=np.int64))] += 1

    for text in texts:
        chunk.append(text)
        n += 1
        if len(chunk) == batch:
            count(chunk)
            chunk = []
    if chunk:
        count(chunk)
    return lucene_idf(df, n).astype(np.float32)


def teacher_targets(config: DistillConfig, train: TrainingSet) -> list[np.ndarray]:
    """Fused teacher scores of every example's candidates."""
    teachers, weights = [], []
    for model, weight, score in ((config.dense_teacher, config.teacher_weights[0], dense_scores),
                                 (config.sparse_teacher, config.teacher_weights[1], sparse_scores)):
        if model:
            start = time.perf_counter()
            teachers.append(score(model, train, max_length=config.doc_max_length))
            weights.append(weight)
            logger.info("teacher %s scored %d queries in %.0f s", model, len(train.examples), time.perf_counter() - start)
    return fuse(teachers, weights)


def train_inference_free(beir_dir: str | Path, out_dir: str | Path, config: DistillConfig, split: str = "train",
                         progress: Callable[[int, dict], None] | None = None) -> dict:
    """Train on one split of a BEIR folder and save the model into ``out_dir``; return the report.

    The report (also saved as ``training.json``) holds the configuration, the IDF source, and
    every ``LOG_EVERY`` steps the distillation loss, the FLOPS penalty and the mean number of
    non-zero document weights.
    """
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    from winnow.corpus.beir import load_beir

    student_dir = _student_folder(config.student)
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    train = mine_candidates(beir_dir, split, config.depth)
    examples = [e for e in train.examples if len(e.doc_ids) >= config.candidates]
    if len(examples) < config.queries_per_step:
        raise WinnowError(f"{beir_dir}: only {len(examples)} {split} queries have {config.candidates} candidates; "
                          f"lower candidates or queries_per_step")
    train = TrainingSet(examples, train.texts)
    targets = teacher_targets(config, train)

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(student_dir))
    model = transformers.AutoModelForMaskedLM.from_pretrained(str(student_dir)).float().train()
    vocab = model.get_output_embeddings().weight.shape[0]
    idf = corpus_idf((d.full_text for d in load_beir(beir_dir, split=split).corpus()), tokenizer, vocab)
    idf[tokenizer.all_special_ids] = 0.0
    idf_t = torch.from_numpy(idf)
    penalty = flops_penalty(idf_t, config.idf_floor)
    keep = torch.ones(vocab)
    keep[tokenizer.all_special_ids] = 0.0  # special tokens never reach the index
    query_ids = [sorted(set(tokenizer(e.query, add_special_tokens=False)["input_ids"])) for e in examples]

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, max(1, config.steps // 10), config.steps)
    ramp = max(1, round(config.flops_ramp * config.steps))
    history = []
    for step in range(1, config.steps + 1):
        batch = rng.choice(len(examples), config.queries_per_step, replace=False)
        docs, teacher = [], []
        for i in batch:
            chosen = _sample_candidates(examples[i], config.candidates, rng)
            docs += [train.texts[examples[i].doc_ids[j]] for j in chosen]
            teacher.append(targets[i][chosen])
        inputs = tokenizer(docs, padding=True, truncation=True, max_length=config.doc_max_length, return_tensors="pt")
        weights = _pooled(model, inputs) * keep
        queries = torch.zeros(len(batch), vocab)
        for row, i in enumerate(batch):
            queries[row, query_ids[i]] = idf_t[query_ids[i]]
        student = (weights.view(len(batch), config.candidates, vocab) * queries[:, None, :]).sum(-1)
        distill = kl_distillation(student, torch.from_numpy(np.stack(teacher)), config.temperature)
        flops = idf_flops(weights, penalty)
        lam = config.flops_weight * min(1.0, step / ramp) ** 2
        loss = distill + lam * flops
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % LOG_EVERY == 0 or step == config.steps:
            entry = {"step": step, "distill": distill.item(), "flops": flops.item(), "lambda": lam,
                     "doc_terms": (weights > 0).sum(dim=1).float().mean().item()}
            history.append(entry)
            logger.info("step %(step)d: distill %(distill).4f flops %(flops).3f doc terms %(doc_terms).0f", entry)
        if progress:
            progress(step, history[-1] if history else {})

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    vocab_tokens = tokenizer.convert_ids_to_tokens(list(range(vocab)))
    (out / "idf.json").write_text(json.dumps({t: float(w) for t, w in zip(vocab_tokens, idf) if w > 0}), encoding="utf-8")
    report = {"config": dataclasses.asdict(config), "beir": str(beir_dir), "split": split,
              "queries": len(examples), "documents": len(train.texts), "idf": "corpus (Lucene, student tokenizer)",
              "seconds": round(time.perf_counter() - started, 1), "history": history}
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def _student_folder(student: str) -> Path:
    """The MLM folder of the student, which must pool as the saved model will: max, ``log(1 + relu)``.

    The output is a plain MLM folder with ``idf.json``, which the encoders read with those settings.

    Raises:
        WinnowError: for a student saved with sum pooling or another activation.
    """
    from winnow.encode.model_layout import detect_layout, resolve_model

    layout = detect_layout(resolve_model(student))
    if (layout.pooling or "max") != "max" or layout.activation != "relu":
        raise WinnowError(f"student {student}: pools with {layout.pooling} and {layout.activation}; training "
                          "produces max pooling over log(1 + relu) and needs a student saved that way")
    return layout.mlm_dir


def _sample_candidates(example, n: int, rng) -> np.ndarray:
    """Indices into ``example.doc_ids``: one judged positive, then ``n - 1`` of the other candidates."""
    positive = rng.integers(example.n_positive)
    rest = np.delete(np.arange(len(example.doc_ids)), positive)
    return np.concatenate([[positive], rng.choice(rest, n - 1, replace=False)])


def _pooled(model, inputs):
    """The student's document weights ``(batch, vocabulary)``: SPLADE max pooling of its MLM logits.

    The same :func:`~winnow.encode.pooling.splade_pool` the encoders run at indexing time; the
    model keeps its output layer, so gradients reach every weight and it saves as a plain MLM.
    """
    from winnow.encode.pooling import splade_pool

    return splade_pool(model(**inputs).logits, inputs["attention_mask"], "max", "relu")
