"""Save a trained inference-free model in one folder that three readers load.

* **OpenSearch** (``doc-*`` models) and winnow's ``inference-free:MODEL``: the masked-language
  model and its tokenizer at the top, with ``idf.json`` (token -> query weight).
* **sentence-transformers** ``SparseEncoder``: ``modules.json`` names a ``Router`` whose query
  route is a ``SparseStaticEmbedding`` holding the same weights and whose document route is the
  MLM transformer (``transformer_task="fill-mask"``) and ``SpladePooling`` (max, ``log(1 + relu)``).

The folder is written beside its destination and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from winnow.errors import WinnowError, require

IDF_FILE = "idf.json"


def save_inference_free(network, tokenizer, idf: np.ndarray, out_dir: str | Path, max_length: int,
                        extra: dict[str, str] | None = None) -> Path:
    """Write the model, its tokenizer, ``idf.json`` and the sentence-transformers router to ``out_dir``.

    Args:
        network: the trained ``*ForMaskedLM``.
        idf: the query weight of every token id (0: never a query term).
        max_length: document tokens, recorded as the transformer's ``max_seq_length`` (the
            model's whole input, which may be more than training read).
        extra: more files to write at the top (name -> text), such as the training report.

    Raises:
        WinnowError: when ``out_dir`` exists and is not a folder.
    """
    torch = require("torch", "train")
    st = require("sentence_transformers", "train")
    from sentence_transformers.sparse_encoder.modules import Router, SparseStaticEmbedding, SpladePooling, Transformer

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise WinnowError(f"{out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        network.save_pretrained(str(staging))
        tokenizer.model_max_length = max_length
        tokenizer.save_pretrained(str(staging))
        vocab = tokenizer.convert_ids_to_tokens(list(range(len(idf))))
        (staging / IDF_FILE).write_text(json.dumps({t: float(w) for t, w in zip(vocab, idf) if w > 0}),
                                        encoding="utf-8")
        document = Transformer(str(staging), max_seq_length=max_length, transformer_task="fill-mask")
        query = SparseStaticEmbedding(tokenizer=document.tokenizer, weight=torch.from_numpy(np.asarray(
            idf, dtype=np.float32).copy()), frozen=True)
        router = Router.for_query_document(query_modules=[query],
                                           document_modules=[document, SpladePooling("max", "relu")])
        routed = staging / ".router"
        st.SparseEncoder(modules=[router], similarity_fn_name="dot").save(str(routed))
        for entry in routed.iterdir():
            if (staging / entry.name).exists():
                raise WinnowError(f"sentence-transformers wrote {entry.name}, which the MLM folder already holds")
            entry.rename(staging / entry.name)
        routed.rmdir()
        for name, text in (extra or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
