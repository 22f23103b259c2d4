import pytest

from winnow.encode.options import EncoderOptions, parse_options
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
    ],
)
def test_bad_values_are_refused(options, message):
    with pytest.raises(WinnowError, match=message):
        parse_options(options)


def test_options_round_trip_through_json():
    options = parse_options({"pooling": "sum", "doc_max_length": "128"})
    assert EncoderOptions(**options.to_json()) == options
