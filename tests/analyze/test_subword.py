"""SubwordAnalyzer over a tiny WordPiece tokenizer built here (no hub), alone and inside a BM25 index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from winnow.analyze import SubwordAnalyzer, analyzer_from_dict
from winnow.errors import WinnowError
from winnow.types import Document

VOCAB = ["[UNK]", "[CLS]", "[SEP]", "run", "##ning", "##s", "dog", "cat", "the", "jump", "##ed", "fast"]


@pytest.fixture(scope="session")
def tokenizer_file(tmp_path_factory) -> Path:
    """A WordPiece tokenizer without a normaliser, whose post-processor adds [CLS] ... [SEP]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


def test_subword_tokens_without_special_tokens(tokenizer_file):
    a = SubwordAnalyzer(tokenizer_file)
    assert a.analyze("the dogs jumped running") == ["the", "dog", "##s", "jump", "##ed", "run", "##ning"]
    assert a.analyze("zebra") == ["[UNK]"]
    assert a.analyze("Dogs") == ["[UNK]"]  # no normaliser: case matters ...
    assert SubwordAnalyzer(tokenizer_file, lowercase=True).analyze("Dogs") == ["dog", "##s"]  # ... unless asked


def test_folder_source_and_round_trip(tokenizer_file, tmp_path):
    a = SubwordAnalyzer(tokenizer_file.parent, lowercase=True)  # a model folder works too
    a.save(tmp_path)
    d = json.loads(json.dumps(a.to_dict()))
    assert d == {"kind": "subword", "tokenizer": "tokenizer.json", "lowercase": True}
    again = analyzer_from_dict(d, tmp_path)
    assert isinstance(again, SubwordAnalyzer) and again.lowercase
    assert again.analyze("Running Cats") == a.analyze("Running Cats") == ["run", "##ning", "cat", "##s"]


def test_folder_without_tokenizer_is_an_error(tmp_path):
    with pytest.raises(WinnowError, match="no tokenizer.json"):
        SubwordAnalyzer(tmp_path)


DOCS = [Document("a", "the dogs run fast"), Document("b", "cats jumped"), Document("c", "running dogs running")]


@pytest.mark.parametrize("how", ["spec", "keyword"])
def test_bm25_index_keeps_its_tokenizer(tokenizer_file, tmp_path, how):
    from winnow.encode.registry import build_encoder
    from winnow.index.writer import build_index
    from winnow.retrieve.searcher import Searcher

    source = shutil.copy(tokenizer_file, tmp_path / "tokenizer.json")
    encoder = build_encoder(f"bm25:tokenizer={source}") if how == "spec" else build_encoder("bm25", tokenizer=str(source))
    assert isinstance(encoder.analyzer, SubwordAnalyzer)
    build_index(DOCS, encoder, tmp_path / "ix")
    Path(source).unlink()  # the index must not depend on the original file

    searcher = Searcher(tmp_path / "ix")
    assert (searcher.index.query_dir / "tokenizer.json").is_file()
    assert set(searcher.index.vocabulary) == {"the", "dog", "##s", "run", "fast", "cat", "jump", "##ed", "##ning"}
    terms, weights = searcher.encode("running running dogs zebra")
    vocab = searcher.index.vocabulary
    assert {vocab[t]: w for t, w in zip(terms.tolist(), weights.tolist())} == {"run": 2, "##ning": 2, "dog": 1, "##s": 1}
    assert searcher.search("running", k=3).ids[0] == "c"
