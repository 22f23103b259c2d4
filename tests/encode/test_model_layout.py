import json

import numpy as np
import pytest

from winnow.encode.model_layout import detect_layout, load_model_idf, load_tokenizer, resolve_model
from winnow.errors import WinnowError


def test_unknown_layout_names_the_folder_and_what_was_expected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    with pytest.raises(WinnowError, match=f"{tmp_path}.*unknown layout.*ForMaskedLM"):
        detect_layout(tmp_path)


def test_missing_local_path_is_refused(tmp_path):
    with pytest.raises(WinnowError, match="is not a folder"):
        resolve_model(str(tmp_path / "nope"))


def test_unreachable_hub_id_names_the_id(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytest.importorskip("huggingface_hub")
    with pytest.raises(WinnowError, match="winnow-test/no-such-model"):
        resolve_model("winnow-test/no-such-model")


def test_plain_masked_lm_folder(tiny_mlm):
    layout = detect_layout(tiny_mlm)
    assert (layout.layout, layout.mlm_dir, layout.has_query_weights) == ("mlm", tiny_mlm, False)


def test_sentence_transformers_sparse_encoder_folder(st_splade_dir):
    layout = detect_layout(st_splade_dir)
    assert (layout.layout, layout.mlm_dir, layout.pooling, layout.activation) == ("sparse-encoder", st_splade_dir, "max", "relu")


def test_inference_free_router_folder(st_router_dir, idf_weights):
    layout = detect_layout(st_router_dir)
    assert layout.layout == "router" and layout.static_dir.name.startswith("query_")
    np.testing.assert_array_equal(load_model_idf(layout, load_tokenizer(layout.mlm_dir)), idf_weights)


def test_opensearch_folder_with_idf_json(opensearch_dir, idf_weights):
    layout = detect_layout(opensearch_dir)
    assert layout.layout == "opensearch"
    np.testing.assert_allclose(load_model_idf(layout, load_tokenizer(opensearch_dir)), idf_weights)


def test_modules_that_are_not_splade_are_refused(tmp_path):
    (tmp_path / "modules.json").write_text(
        json.dumps([{"path": "", "type": "sentence_transformers.models.Transformer"}, {"path": "1_Pooling", "type": "x.Pooling"}])
    )
    with pytest.raises(WinnowError, match=r"not an MLM transformer \+ SpladePooling"):
        detect_layout(tmp_path)
