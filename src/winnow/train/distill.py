"""Distil an inference-free document encoder from an ensemble of winnow retrievers and rerankers.

Only documents pass through the student (an MLM with SPLADE max pooling); a query is its distinct
tokens weighted by the corpus IDF, exactly as :class:`~winnow.encode.inference_free.StaticQueryEncoder`
weighs it at search time. The data flow:

1. **Queries.** A BEIR split's judged queries (supervised), or pseudo-queries made from the
   corpus (:mod:`~winnow.train.pseudo`, label-free), each with its source document as positive.
2. **Teachers** (:mod:`~winnow.train.teachers`): any retriever or pipeline ranks the corpus, a
   cross-encoder rescores their pool; each teacher's nDCG@10 on the dev queries is reported
   before training. Their scores are normalised per query and summed with weights.
3. **Examples** (:func:`~winnow.train.candidates.teacher_example`): positives plus the
   ensemble's top ``depth``, likely false negatives dropped.
4. **Student** (:mod:`~winnow.train.student`): each step gives every sampled query one positive
   and ``candidates - 1`` negatives and minimises

       KL(softmax(teacher / T) || softmax(student)) + lambda_t * L_flops(idf-aware)

   with ``lambda_t`` ramped up quadratically over the first ``flops_ramp`` of the steps
   (SPLADE's schedule), in the loop of :mod:`~winnow.train.trainer` (evaluation on the dev
   queries, early stop, checkpoints).
5. **Output** (:mod:`~winnow.train.export`): one folder that winnow (``inference-free:MODEL``),
   OpenSearch (``idf.json``) and sentence-transformers (``SparseEncoder``) load.
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
from winnow.train.candidates import ScoredExample, check_sampling, teacher_example
from winnow.train.trainer import check_at_least_one
from winnow.types import Qrels, Query, Run

logger = logging.getLogger(__name__)

REPORT_FILE = "training.json"
PREPARED_FILE = "prepared.json"
DEV_METRIC = "ndcg@10"


@dataclass(frozen=True)
class DistillConfig:
    """What to train and how.

    Attributes:
        student: MLM to start from (folder or Hugging Face id), or a BERT encoder that gets an
            MLM head (:func:`~winnow.train.student.load_student`).
        teachers: pipeline text per teacher (``bm25``, ``zscore(bm25 + dense:MODEL)``, a winnow
            folder) or ``rerank:MODEL`` for a cross-encoder that rescores the others' pool.
        teacher_weights: one per teacher (``None``: equal).
        norm: per-query normalisation of each teacher's scores: ``minmax``, ``zscore``, ``tm2c2`` or ``max``.
        pseudo_queries: label-free mode: how many pseudo-queries to make (dev ones included).
        pseudo_kinds: kinds of pseudo-queries (:data:`winnow.train.pseudo.KINDS`).
        doc2query: a sequence-to-sequence model for the ``doc2query`` kind.
        depth: candidates taken from each teacher's ranking per query.
        candidates: documents per query per step (one positive, the rest mined negatives).
        false_negative_margin: a mined negative the ensemble scores above the positive's score
            minus this margin is dropped.
        dev_queries: queries held out (or drawn from the dev split) to evaluate on.
        steps: optimiser steps.
        queries_per_step: queries per step, split over ``accumulation`` micro-batches.
        accumulation: micro-batches per step.
        learning_rate: AdamW peak rate.
        warmup: fraction of the steps of linear warm-up (then linear decay).
        flops_weight: final weight of the IDF-aware FLOPS penalty.
        flops_ramp: fraction of the steps over which that weight grows quadratically from 0.
        idf_floor: IDF below which a token's FLOPS price stops growing (``1 / idf_floor``).
        temperature: divides the ensemble's scores (each in [0, 1] after min-max).
        doc_max_length: tokens per document read in training, special tokens included (the saved
            model reads as many as its position embeddings allow).
        bf16: bfloat16 autocast in the forward pass.
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: pseudo-queries, sampling and initialisation.
        eval_every: steps between dev evaluations (0: only the final model is kept).
        patience: evaluations without improvement before stopping (0: never).
        checkpoint_every: steps between checkpoints (0: none).
        time_limit: seconds of optimisation after which training stops (0: none).
        keep: ``best`` (the best dev score's weights), ``last``, or ``auto``: best with judged
            queries, last without (held-out pseudo-queries, which the start model already matches
            lexically, judge a model poorly; their scores are still reported).
    """

    student: str
    teachers: tuple[str, ...] = ("bm25",)
    teacher_weights: tuple[float, ...] | None = None
    norm: str = "minmax"
    pseudo_queries: int = 4000
    pseudo_kinds: tuple[str, ...] = ("title", "sentence", "span")
    doc2query: str | None = None
    depth: int = 30
    candidates: int = 8
    false_negative_margin: float = 0.05
    dev_queries: int = 50
    steps: int = 1000
    queries_per_step: int = 8
    accumulation: int = 1
    learning_rate: float = 5e-5
    warmup: float = 0.1
    flops_weight: float = 0.03
    flops_ramp: float = 1 / 3
    idf_floor: float = 0.1
    temperature: float = 0.1
    doc_max_length: int = 256
    bf16: bool = False
    device: str = "auto"
    seed: int = 0
    eval_every: int = 100
    patience: int = 0
    checkpoint_every: int = 100
    time_limit: float = 0.0
    keep: str = "auto"

    def __post_init__(self) -> None:
        from winnow.fuse.normalize import NORMS

        if not self.teachers:
            raise WinnowError("distillation needs at least one teacher")
        check_at_least_one(self, ("queries_per_step", "doc_max_length", "depth", "dev_queries", "pseudo_queries"))
        self.trainer()  # refuses bad optimiser settings now, not after the teachers ran
        check_sampling(self.queries_per_step, self.accumulation, self.candidates, self.depth)
        if min(self.temperature, self.idf_floor) <= 0 or self.flops_weight < 0 or self.false_negative_margin < 0:
            raise WinnowError("temperature and idf_floor must be > 0, flops_weight and false_negative_margin >= 0")
        if not 0 < self.flops_ramp <= 1:
            raise WinnowError(f"flops_ramp must be in (0, 1], got {self.flops_ramp}")
        if self.keep not in ("auto", "best", "last"):
            raise WinnowError(f"keep must be auto, best or last, got {self.keep!r}")
        if self.norm not in NORMS:
            raise WinnowError(f"unknown normalisation {self.norm!r}; choose one of {', '.join(NORMS)}")

    def trainer(self, labelled: bool = True):
        """The optimisation settings; ``labelled``: the dev queries are judged ones (``keep="auto"``)."""
        from winnow.train.trainer import TrainerConfig

        keep_best = self.keep == "best" or (self.keep == "auto" and labelled)
        return TrainerConfig(keep_best=keep_best, steps=self.steps, accumulation=self.accumulation,
                             learning_rate=self.learning_rate, warmup=self.warmup, bf16=self.bf16,
                             device=self.device, seed=self.seed, eval_every=self.eval_every, patience=self.patience,
                             checkpoint_every=self.checkpoint_every, time_limit=self.time_limit)


@dataclass(frozen=True)
class Prepared:
    """Everything the teachers decided, saved so that a resumed run needs no teacher again."""

    examples: list[ScoredExample]
    dev_queries: list[Query]
    dev_qrels: Qrels
    dev_pool: dict[str, list[str]]
    report: dict

    def to_json(self) -> str:
        return json.dumps({"examples": [dataclasses.asdict(e) for e in self.examples],
                           "dev_queries": [[q.id, q.text] for q in self.dev_queries],
                           "dev_qrels": self.dev_qrels.to_dict(), "dev_pool": self.dev_pool, "report": self.report})

    @staticmethod
    def from_json(text: str) -> "Prepared":
        data = json.loads(text)
        examples = [ScoredExample(e["query"], tuple(e["doc_ids"]), tuple(e["scores"]), e["n_positive"])
                    for e in data["examples"]]
        return Prepared(examples, [Query(i, t) for i, t in data["dev_queries"]], Qrels.from_dict(data["dev_qrels"]),
                        data["dev_pool"], data["report"])


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


def training_queries(beir_dir: Path, config: DistillConfig, split: str | None, dev_split: str | None,
                     documents: dict) -> tuple[list[Query], Qrels, list[Query], Qrels, dict]:
    """Training and dev queries with their positives: ``(train, train_qrels, dev, dev_qrels, about)``.

    Without ``split``, pseudo-queries (their source document the one positive); without
    ``dev_split``, the last ``dev_queries`` of the training queries are held out.
    """
    from winnow.corpus.beir import load_beir
    from winnow.train.pseudo import doc2query_generator, pseudo_queries

    if split is None:
        generate = doc2query_generator(config.doc2query, config.seed) if config.doc2query else None
        made = pseudo_queries(documents.values(), config.pseudo_queries, config.seed, config.pseudo_kinds,
                              doc2query=generate)
        queries = [Query(p.id, p.text) for p in made]
        qrels = Qrels({p.id: {p.doc_id: 1} for p in made})
        kinds = {k: sum(p.kind == k for p in made) for k in config.pseudo_kinds}
        about = {"queries": f"{len(made)} pseudo-queries", "kinds": kinds}
    else:
        data = load_beir(beir_dir, split)
        queries, qrels = data.queries, data.qrels
        about = {"queries": f"qrels split {split!r}"}
    if dev_split is None:
        if len(queries) <= config.dev_queries:
            raise WinnowError(f"only {len(queries)} training queries; fewer than dev_queries "
                              f"({config.dev_queries}) plus one")
        dev = queries[-config.dev_queries:]
        queries = queries[:-config.dev_queries]
        about["dev"] = f"{len(dev)} held-out training queries"
        return queries, qrels, dev, Qrels({q.id: qrels[q.id] for q in dev}), about
    data = load_beir(beir_dir, dev_split)
    rng = np.random.default_rng(config.seed)
    dev = [data.queries[i] for i in sorted(rng.permutation(len(data.queries))[:config.dev_queries])]
    about["dev"] = f"{len(dev)} queries of qrels split {dev_split!r}"
    return queries, qrels, dev, Qrels({q.id: data.qrels[q.id] for q in dev}), about


def prepare(beir_dir: str | Path, config: DistillConfig, split: str | None, dev_split: str | None,
            documents: dict, index_dir: str | Path | None = None) -> Prepared:
    """Queries, the teachers' runs, their dev nDCG@10 and the scored training examples."""
    from winnow.evaluate.metrics import evaluate
    from winnow.train.teachers import TeacherSet, ensemble, teacher_runs

    beir_dir = Path(beir_dir)
    queries, qrels, dev, dev_qrels, about = training_queries(beir_dir, config, split, dev_split, documents)
    with TeacherSet(config.teachers, config.teacher_weights, beir_dir, index_dir) as teachers:
        started = time.perf_counter()
        runs = teacher_runs(teachers.teachers, queries + dev, config.depth, documents)
        weights = [t.weight for t in teachers.teachers]
        floors = [getattr(t.stage, "score_floor", None) for t in teachers.teachers]
        seconds = time.perf_counter() - started
    fused = ensemble([runs[t] for t in config.teachers], weights, config.norm, floors)
    dev_ids = {q.id for q in dev}
    scores = {name: evaluate(_only(run, dev_ids), dev_qrels, [DEV_METRIC])[DEV_METRIC] for name, run in runs.items()}
    scores["ensemble"] = evaluate(_only(fused, dev_ids), dev_qrels, [DEV_METRIC])[DEV_METRIC]
    for name, value in scores.items():
        logger.info("teacher %s: dev %s %.4f", name, DEV_METRIC, value)
    lift = split is not None
    examples, dropped = [], 0
    for q in queries:
        positives = [d for d, grade in qrels[q.id].items() if grade > 0 and d in documents]
        example = teacher_example(q.text, fused[q.id], positives, config.false_negative_margin, config.depth, lift)
        if example is None or len(example.doc_ids) - example.n_positive < config.candidates - 1:
            dropped += 1
        else:
            examples.append(example)
    if len(examples) < config.queries_per_step:
        raise WinnowError(f"{beir_dir}: only {len(examples)} training queries keep {config.candidates - 1} negatives "
                          f"after filtering; lower candidates, raise depth or make more queries")
    # The teachers' top documents alone, in document-id order: a pool holding every judged
    # positive, or in the teachers' order, gives a student that lost its weights (all scores
    # tied) a high dev score.
    pool = {q.id: sorted(fused[q.id].ids[:config.depth]) for q in dev}
    report = {**about, "teachers": scores, "teacher_seconds": round(seconds, 1), "examples": len(examples),
              "dropped_queries": dropped}
    return Prepared(examples, dev, dev_qrels, pool, report)


def _only(run: Run, qids: set[str]) -> Run:
    return Run({q: h for q, h in run.items() if q in qids}, run.name)


def train_inference_free(beir_dir: str | Path, out_dir: str | Path, config: DistillConfig,
                         split: str | None = "train", dev_split: str | None = None,
                         index_dir: str | Path | None = None, resume: bool = False,
                         progress: Callable[[int, dict], None] | None = None) -> dict:
    """Train on a BEIR folder's corpus and save the model into ``out_dir``; return the report.

    Args:
        split: the qrels split to train on; ``None`` trains without judgements (pseudo-queries).
        dev_split: the qrels split to evaluate on during training; ``None`` holds out training queries.
        index_dir: keep the teachers' indexes here and reuse them.
        resume: continue from ``OUT.work`` (the teachers' examples and the last checkpoint).
        progress: ``(step, {"loss", "lr", "dev", ...})`` after every step.

    The report (also ``training.json`` in the folder) holds the configuration, each teacher's
    and the ensemble's dev nDCG@10, the start model's, the loss history and every evaluation.
    """
    torch = require("torch", "train")
    from winnow.corpus.beir import read_corpus
    from winnow.train.export import save_inference_free
    from winnow.train.student import load_student, silence
    from winnow.train.trainer import device_of, fit

    started = time.perf_counter()
    beir_dir, out = Path(beir_dir), Path(out_dir)
    work = out.with_name(out.name + ".work")
    documents = {d.id: d for d in read_corpus(beir_dir / "corpus.jsonl")}
    network, tokenizer = load_student(config.student)  # fails fast on a bad student, before the teachers
    cached = work / PREPARED_FILE
    if resume and cached.exists():
        prepared = Prepared.from_json(cached.read_text(encoding="utf-8"))
    else:
        prepared = prepare(beir_dir, config, split, dev_split, documents, index_dir)
        work.mkdir(parents=True, exist_ok=True)
        cached.write_text(prepared.to_json(), encoding="utf-8")

    trainer = config.trainer(labelled=split is not None or dev_split is not None)
    device = torch.device(device_of(trainer))
    network.to(device)
    vocab = network.get_output_embeddings().weight.shape[0]
    idf = corpus_idf((d.full_text for d in documents.values()), tokenizer, vocab)
    idf[tokenizer.all_special_ids] = 0.0
    student = _Student(network, tokenizer, idf, config, device)
    examples = prepared.examples
    micro = config.queries_per_step // config.accumulation
    query_ids = [student.query_ids(e.query) for e in examples]
    ramp = max(1, round(config.flops_ramp * config.steps))

    def micro_loss(rng, step: int):
        from winnow.train.losses import idf_flops, kl_distillation

        batch = rng.choice(len(examples), micro, replace=False)
        docs, targets, rows = [], [], []
        for i in batch:
            chosen = _sample(examples[i], config.candidates, rng)
            docs += [documents[examples[i].doc_ids[j]].full_text for j in chosen]
            targets.append(np.asarray(examples[i].scores, dtype=np.float32)[chosen])
            rows.append(query_ids[i])
        weights = student.documents(docs)
        scores = (weights.view(micro, config.candidates, -1) * student.queries(rows)[:, None, :]).sum(-1)
        distill = kl_distillation(scores.float(), torch.from_numpy(np.stack(targets)).to(device), config.temperature)
        flops = idf_flops(weights.float(), student.penalty)
        lam = config.flops_weight * min(1.0, step / ramp) ** 2
        terms = (weights > 0).sum(dim=1).float().mean().item()
        return distill + lam * flops, {"distill": distill.item(), "flops": flops.item(), "doc_terms": terms}

    def dev_score() -> float:
        from winnow.evaluate.metrics import evaluate

        return evaluate(student.rerank(prepared.dev_queries, prepared.dev_pool, documents), prepared.dev_qrels,
                        [DEV_METRIC])[DEV_METRIC]

    result = fit(network, trainer, micro_loss, dev_score if config.eval_every else None, work, resume, progress)
    report = {"config": dataclasses.asdict(config), "beir": str(beir_dir), "split": split, "dev_split": dev_split,
              **prepared.report, "documents": len(documents),
              "student_start": result.evaluations[0]["score"] if result.evaluations else None,
              "best_step": result.best_step, "best_dev": result.best_score, "stopped_early": result.stopped_early,
              "stopped_at_time_limit": result.stopped_at_time_limit,
              "steps_done": result.steps_done,
              "resumed_from": result.resumed_from, "seconds": round(time.perf_counter() - started, 1),
              "history": result.history, "evaluations": result.evaluations}
    text = json.dumps(report, indent=2)
    silence(network, np.flatnonzero(idf == 0))  # no query can match them: training never scored them
    whole = min(tokenizer.model_max_length, network.config.max_position_embeddings)  # training may read less
    save_inference_free(network.cpu().eval(), tokenizer, idf, out, whole, {REPORT_FILE: text})
    return json.loads(text)


class _Student:
    """The student's two sides as training sees them: pooled document weights, static query weights."""

    def __init__(self, network, tokenizer, idf: np.ndarray, config: DistillConfig, device):
        import torch

        from winnow.train.losses import flops_penalty

        self.network, self.tokenizer, self.config, self.device = network, tokenizer, config, device
        self.columns = torch.from_numpy(np.flatnonzero(idf > 0)).to(device)
        self.slot = np.full(len(idf), -1, dtype=np.int64)
        self.slot[self.columns.cpu().numpy()] = np.arange(len(self.columns))
        self.idf = torch.from_numpy(idf).to(device)[self.columns]
        self.penalty = flops_penalty(self.idf, config.idf_floor)

    def query_ids(self, text: str) -> list[int]:
        """The query's distinct tokens that occur in the corpus, as columns of :meth:`documents`."""
        slots = self.slot[sorted(set(self.tokenizer(text, add_special_tokens=False)["input_ids"]))]
        return slots[slots >= 0].tolist()

    def queries(self, rows: list[list[int]]):
        import torch

        out = torch.zeros(len(rows), len(self.idf), device=self.device)
        for r, ids in enumerate(rows):
            out[r, ids] = self.idf[ids]
        return out

    def documents(self, texts: list[str]):
        """``(documents, corpus tokens)`` weights: SPLADE max pooling of the MLM logits, as the encoders
        pool, over the vocabulary columns a query can match (tokens of the corpus)."""
        from winnow.train.pooled_head import pooled_weights

        inputs = self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.doc_max_length,
                                return_tensors="pt").to(self.device)
        return pooled_weights(self.network, inputs, self.columns)

    def rerank(self, queries: list[Query], pool: dict[str, list[str]], documents: dict, batch: int = 16) -> Run:
        """The student's scores of each query's pool (the teachers' top documents)."""
        ids = list(dict.fromkeys(d for q in queries for d in pool[q.id]))
        row = {d: i for i, d in enumerate(ids)}
        matrix = self.queries([self.query_ids(q.text) for q in queries])
        scores = np.zeros((len(ids), len(queries)), dtype=np.float32)
        for start in range(0, len(ids), batch):
            texts = [documents[d].full_text for d in ids[start:start + batch]]
            scores[start:start + len(texts)] = (self.documents(texts).float() @ matrix.T).cpu().numpy()
        return Run.from_dict({q.id: {d: float(scores[row[d], j]) for d in pool[q.id]} for j, q in enumerate(queries)},
                             "student")


def _sample(example: ScoredExample, n: int, rng) -> np.ndarray:
    """Indices into ``example.doc_ids``: one positive, then ``n - 1`` of the negatives."""
    positive = rng.integers(example.n_positive)
    negatives = np.arange(example.n_positive, len(example.doc_ids))
    return np.concatenate([[positive], rng.choice(negatives, n - 1, replace=False)])
