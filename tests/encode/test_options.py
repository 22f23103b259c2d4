import pytest

from winnow.encode.options import EncoderOptions, option_value, parse_options, typed_options
from winnow.errors import WinnowError


def test_strings_are_parsed_to_typed_values():
    options = parse_options({"batch_size": "64", "prune_ratio": "0.1", "backend": "onnx", "quantize": "int8", "top_k": "50"})
    assert options == EncoderOptions(batch_size=64, prune_ratio=0.1, backend="onnx", quantize="int8", top_k=50)


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(WinnowError, match="unknown encoder option.*bogus.*valid options: backend, quantize"):
        parse_options({"bogus": "1"})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"batch_size": "many"}, "batch_size='many': expected int"),
        ({"backend": "tpu"}, "choose one of torch, onnx"),
        ({"prune_ratio": "1.5"}, r"prune_ratio must be in \[0, 1\)"),
        ({"quantize": "int8"}, "needs backend=onnx"),
        ({"precision": "bfloat16", "backend": "onnx"}, "needs backend=torch"),
        ({"batch_size": "0"}, "at least 1"),
        ({"top_k": "-1"}, ">= 0"),
        ({"device": "tpu"}, "choose one of cpu, cuda"),
        ({"device": "cuda", "backend": "onnx"}, "device=cuda needs backend=torch"),
    ],
)
def test_bad_values_are_refused(options, message):
    with pytest.raises(WinnowError, match=message):
        parse_options(options)


def test_options_round_trip_through_json():
    options = parse_options({"pooling": "sum", "doc_max_length": "128"})
    assert EncoderOptions(**options.to_json()) == options


def test_the_device_is_not_stored_with_the_index():
    """Where a process runs the model is not a property of the vectors: readers encode on their own."""
    options = parse_options({"device": "cuda"})
    assert options.device == "cuda" and "device" not in options.to_json()
    assert EncoderOptions(**options.to_json()).device == "cpu"


def test_cuda_where_torch_sees_none_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    from winnow.encode.torch_backend import torch_device

    with pytest.raises(WinnowError, match="device=cuda, but PyTorch sees no CUDA device"):
        torch_device(torch, "cuda")


@pytest.mark.parametrize("text, value", [("on", True), ("yes", True), ("TRUE", True), ("1", True),
                                         ("off", False), ("no", False), ("false", False), ("0", False)])
def test_booleans_read_the_same_for_every_encoder(text, value):
    assert option_value("encoder", "flag", text, "bool") is value


def test_none_only_where_the_annotation_allows_it():
    assert option_value("bm25", "stemmer", "none", "str | None") is None
    assert option_value("bm25", "stopwords", "none", "str | tuple[str, ...]") == "none"
    assert option_value("bm25", "workers", "3", "int | None") == 3
    assert option_value("bm25", "k1", 1.5, "float") == 1.5  # typed values from Python pass unchanged


def test_typed_options_names_the_encoder_and_the_valid_keys():
    with pytest.raises(WinnowError, match="unknown bm25 option.*k2; valid options: k1, b"):
        typed_options("bm25", {"k2": "1"}, {"k1": "float", "b": "float"})
    with pytest.raises(WinnowError, match="bm25 option b='x': expected float"):
        typed_options("bm25", {"b": "x"}, {"b": "float"})
