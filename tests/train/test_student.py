"""Students: MLMs as they are, BERT encoders given an MLM head tied to their word embeddings."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from winnow.errors import WinnowError  # noqa: E402
from winnow.train.student import SILENT, load_student  # noqa: E402


@pytest.fixture(scope="module")
def tiny_encoder(tiny_mlm, tmp_path_factory):
    """The tiny model's encoder alone, saved as a sentence-transformers bi-encoder (modules.json)."""
    root = tmp_path_factory.mktemp("bi-encoder")
    transformers.BertModel.from_pretrained(str(tiny_mlm)).save_pretrained(root)
    transformers.AutoTokenizer.from_pretrained(str(tiny_mlm)).save_pretrained(root)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    (root / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    return root


def test_an_encoder_gets_an_mlm_head_tied_to_its_word_embeddings(tiny_encoder):
    network, tokenizer = load_student(str(tiny_encoder))
    encoder = transformers.BertModel.from_pretrained(str(tiny_encoder))
    assert isinstance(network, transformers.BertForMaskedLM) and network.training
    for name, value in encoder.state_dict().items():
        if not name.startswith("pooler."):
            torch.testing.assert_close(network.bert.state_dict()[name], value)
    decoder = network.get_output_embeddings().weight
    assert decoder.data_ptr() == network.bert.embeddings.word_embeddings.weight.data_ptr()
    bias = network.get_output_embeddings().bias
    special = tokenizer.all_special_ids
    assert torch.all(bias[special] == SILENT)
    assert torch.count_nonzero(bias) == len(special)


def test_special_tokens_get_no_document_weight(tiny_mlm):
    from winnow.encode.pooling import splade_pool

    network, tokenizer = load_student(str(tiny_mlm))
    inputs = tokenizer(["an inverted index", "posting lists"], padding=True, return_tensors="pt")
    with torch.no_grad():
        weights = splade_pool(network(**inputs).logits, inputs["attention_mask"])
    assert torch.all(weights[:, tokenizer.all_special_ids] == 0)
    assert torch.count_nonzero(weights) > 0


def test_a_student_that_pools_otherwise_is_refused(tiny_mlm, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    folder = tmp_path / "sum-pooled"
    st.SparseEncoder(modules=[MLMTransformer(str(tiny_mlm), max_seq_length=64), SpladePooling("sum")]).save(str(folder))
    with pytest.raises(WinnowError, match="pools with sum and relu"):
        load_student(str(folder))
