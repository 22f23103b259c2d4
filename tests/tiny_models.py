"""A tiny random masked-language model built from the fixture corpus (no model hub)."""

from __future__ import annotations

import json
from pathlib import Path

from winnow.types import Document

DATA = Path(__file__).resolve().parent / "data" / "tiny"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def load_docs() -> list[Document]:
    docs = []
    for line in (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        docs.append(Document(record["_id"], record["text"], record.get("title", "")))
    return docs


def load_queries() -> list[str]:
    return [json.loads(line)["text"] for line in (DATA / "queries.jsonl").read_text(encoding="utf-8").splitlines()]


def build_tiny_mlm(folder: Path) -> Path:
    """Save a random 2-layer BertForMaskedLM with a WordPiece vocabulary trained on the fixture corpus."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    texts = [d.full_text for d in load_docs()] + load_queries()
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=400, special_tokens=SPECIAL_TOKENS))
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=128)
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128
    )
    model = BertForMaskedLM(config)
    with torch.no_grad():  # a larger output bias makes many logits positive, so vectors are not trivially sparse
        model.cls.predictions.bias.normal_(0.0, 1.0)
    model.save_pretrained(folder)
    return folder
