"""Cross-encoder reranking: a sequence-classification model scores each (query, document) pair.

Any Hugging Face ``*ForSequenceClassification`` folder or id, or a sentence-transformers
``CrossEncoder`` folder, is read the way sentence-transformers reads it, so the scores equal
``CrossEncoder.predict`` for the same folder:

* the activation applied to the logits comes from ``config_sentence_transformers.json``
  (``activation_fn``, sentence-transformers 5.2 and later), else ``config.json``'s
  ``sentence_transformers.activation_fn`` (v4), else ``sbert_ce_default_activation_function``
  (v2-3), else a sigmoid for one label and none for several;
* the pair length is ``max_length`` if given, else ``max_seq_length`` from
  ``sentence_bert_config.json``, else the tokenizer's ``model_max_length`` capped at the model's
  ``max_position_embeddings``;
* the pair is ``(query text, document title + " " + text)``, truncated longest-first.

Pairs of all queries are sorted by length and scored in batches, with PyTorch or with an ONNX
Runtime graph exported once and cached beside the model (or under ``$WINNOW_CACHE/onnx`` when
the model folder is read-only), as the sparse encoders do.

Documents the source does not hold (deleted since the first stage ran) cannot be scored: they
stay below every scored document, in their input order, and a warning counts them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.encode.options import check_device
from winnow.errors import WinnowError, require
from winnow.retrieve.retriever import Reranker, Retriever
from winnow.rerank.hits import fetch_documents, query_texts, reordered
from winnow.types import Query, Run

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")
ACTIVATIONS = {
    "torch.nn.modules.linear.Identity": lambda x: x,
    "torch.nn.modules.activation.Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "torch.nn.modules.activation.Tanh": np.tanh,
}
ONNX_NAME = "winnow-cross-encoder.onnx"


class CrossEncoderModel:
    """A cross-encoder read from disk: its tokenizer, scoring function and settings.

    Args:
        model: folder or Hugging Face id.
        backend: ``torch`` or ``onnx``.
        max_length: tokens per pair; ``None`` reads it from the folder.
        label: the logit column that is the score when the model has several labels
            (default 1 for two labels, the "relevant" class).
        threads: intra-op threads (default: all cores).
        device: ``cpu`` or ``cuda`` (torch backend).
    """

    def __init__(self, model: str, backend: str = "torch", max_length: int | None = None,
                 label: int | None = None, threads: int | None = None, device: str = "cpu"):
        from winnow.encode.model_layout import resolve_model, token_limit

        if backend not in BACKENDS:
            raise WinnowError(f"unknown cross-encoder backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        check_device("cross-encoder", device, backend)
        transformers = require("transformers", "torch")
        self.folder = _model_folder(resolve_model(model))
        config = _read_json(self.folder / "config.json")
        architectures = config.get("architectures") or []
        if not any(a.endswith("ForSequenceClassification") for a in architectures):
            raise WinnowError(f"model {model}: {architectures or 'no architecture'} is not a sequence-classification "
                              "model; a cross-encoder is a *ForSequenceClassification folder or a "
                              "sentence-transformers CrossEncoder")
        self.num_labels = len(config.get("id2label") or {}) or int(config.get("num_labels", 2))
        self.label = _label(model, self.num_labels, label)
        self.activation_name = _activation_name(self.folder, config, self.num_labels)
        if self.activation_name not in ACTIVATIONS:
            raise WinnowError(f"model {model}: activation {self.activation_name} is not supported; "
                              f"expected one of {', '.join(ACTIVATIONS)}")
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.folder))
        self.max_length = max_length or token_limit(self.folder)
        self.threads = threads or os.cpu_count() or 1
        self._logits = (_torch_logits(self.folder, self.threads, device) if backend == "torch"
                        else _onnx_logits(self.folder, self.threads))

    def score(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """Scores of ``(query, document)`` pairs, float32, in the order given.

        Pairs are sorted by length (longest first) so that each batch pads little.
        """
        order = np.argsort([-(len(q) + len(d)) for q, d in pairs], kind="stable")
        scores = np.empty(len(pairs), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            inputs = self.tokenizer([pairs[i][0] for i in chosen], [pairs[i][1] for i in chosen], padding=True,
                                    truncation="longest_first", max_length=self.max_length, return_tensors="np")
            logits = self._logits({k: v.astype(np.int64) for k, v in inputs.items()})
            scores[chosen] = ACTIVATIONS[self.activation_name](logits[:, self.label])
        return scores


class CrossEncoderReranker(Reranker):
    """Rerank the top ``depth`` hits of each query with a cross-encoder.

    Example::

        ce = CrossEncoderReranker("models/ce-minilm", depth=100)
        pipeline = bm25 % 100 >> ce % 10

    Args:
        model: folder or Hugging Face id of a sequence-classification model or a
            sentence-transformers ``CrossEncoder``.
        depth: candidates asked of the stage before.
        batch_size: pairs per forward pass.
        backend: ``torch`` or ``onnx``.
        max_length: tokens per pair (default: read from the model folder).
        label: logit column used as the score for a model with several labels.
        threads: intra-op threads (default: all cores).
        device: ``cpu`` or ``cuda`` (torch backend).
    """

    def __init__(self, model: str, depth: int = 100, batch_size: int = 32, backend: str = "torch",
                 max_length: int | None = None, label: int | None = None, threads: int | None = None,
                 device: str = "cpu"):
        for name, value in (("depth", depth), ("batch_size", batch_size), ("max_length", max_length or 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WinnowError(f"cross-encoder option {name} must be a positive integer, got {value!r}")
        self.model = CrossEncoderModel(model, backend, max_length, label, threads, device)
        self.depth, self.batch_size = depth, batch_size
        self.name = f"rerank:{model}"

    def rerank(self, queries: list[Query], run: Run, source: Retriever) -> Run:
        """Score every hit of ``run`` with the model; each query's hits best first, ties in input order."""
        texts = query_texts(queries, run, self.name)
        documents = fetch_documents(run, source)
        pairs, owners = [], []
        for qid, hits in run.items():
            for i, doc_id in enumerate(hits.ids):
                doc = documents[doc_id]
                if doc is not None:
                    pairs.append((texts[qid], doc.full_text))
                    owners.append((qid, i))
        scores = self.model.score(pairs, self.batch_size)
        by_query: dict[str, dict[int, float]] = {qid: {} for qid in run}
        for (qid, i), score in zip(owners, scores.tolist()):
            by_query[qid][i] = score
        return Run({qid: reordered(run[qid], by_query[qid], self.name) for qid in run}, self.name)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WinnowError(f"cannot read {path}: {exc}") from exc


def _model_folder(root: Path) -> Path:
    """The transformer folder of ``root``: itself, or the single ``Transformer`` module of a
    sentence-transformers ``modules.json``."""
    modules_json = root / "modules.json"
    if not modules_json.exists():
        return root
    modules = json.loads(modules_json.read_text(encoding="utf-8"))
    if len(modules) != 1 or not modules[0]["type"].endswith(".Transformer"):
        names = [m["type"].rsplit(".", 1)[-1] for m in modules]
        raise WinnowError(f"model {root}: modules {names} are not a single sequence-classification Transformer")
    return root / modules[0].get("path", "")


def _label(model: str, num_labels: int, label: int | None) -> int:
    if label is None:
        if num_labels > 2:
            raise WinnowError(f"model {model} has {num_labels} labels; say which is the score with label=N")
        return num_labels - 1
    if not 0 <= label < num_labels:
        raise WinnowError(f"label {label} is out of range for model {model} ({num_labels} labels)")
    return label


def _activation_name(folder: Path, config: dict, num_labels: int) -> str:
    st_config = folder / "config_sentence_transformers.json"
    if st_config.exists() and _read_json(st_config).get("activation_fn"):
        return _read_json(st_config)["activation_fn"]
    if (config.get("sentence_transformers") or {}).get("activation_fn"):
        return config["sentence_transformers"]["activation_fn"]
    if config.get("sbert_ce_default_activation_function"):
        return config["sbert_ce_default_activation_function"]
    return "torch.nn.modules.activation.Sigmoid" if num_labels == 1 else "torch.nn.modules.linear.Identity"


def _torch_logits(folder: Path, threads: int, device: str):
    torch = require("torch", "torch")
    transformers = require("transformers", "torch")
    from winnow.encode.torch_backend import torch_device, torch_threads

    transformers.utils.logging.disable_progress_bar()
    torch_threads(torch, threads)
    where = torch_device(torch, device)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(folder)).float().eval().to(where)

    def logits(inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v).to(where) for k, v in inputs.items()}
            return model(**tensors).logits.float().cpu().numpy()

    return logits


def _onnx_logits(folder: Path, threads: int):
    from winnow.encode.onnx_backend import open_session

    session = open_session(_ensure_onnx(folder), threads)
    names = {i.name for i in session.get_inputs()}

    def logits(inputs: dict[str, np.ndarray]) -> np.ndarray:
        (out,) = session.run(None, {k: v for k, v in inputs.items() if k in names})
        return out

    return logits


def _ensure_onnx(folder: Path) -> Path:
    """The cached ONNX graph of the model's logits, exported on first use."""
    from winnow.encode.onnx_backend import OPSET, graph_path
    from winnow.fsutil import replacing

    path = graph_path(folder, ONNX_NAME)
    if path.exists():
        return path
    torch = require("torch", "torch")
    transformers = require("transformers", "torch")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(folder)).float().eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    example = tokenizer(["a query"] * 2, ["a document"] * 2, return_tensors="pt")
    names = list(example)

    class Logits(torch.nn.Module):  # positional inputs, so the graph's input names are the tokenizer's
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(**dict(zip(names, tensors))).logits

    axes = {0: "batch", 1: "tokens"}
    logger.info("exporting %s to ONNX at %s", folder, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode(), replacing(path) as tmp:
        torch.onnx.export(Logits(), tuple(example[n] for n in names), str(tmp), input_names=names,
                          output_names=["logits"], dynamic_axes={**{n: axes for n in names}, "logits": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    return path
