"""The student: a masked-language model whose SPLADE-pooled logits are the document weights.

Any MLM folder (splade-tiny, an OpenSearch ``doc-*`` model, a sentence-transformers
``SparseEncoder``) starts as it is. An encoder without an MLM head (a ``BertModel`` such as
all-MiniLM-L6-v2, or the transformer of a sentence-transformers bi-encoder) becomes a
``BertForMaskedLM`` of the same configuration: its encoder weights are loaded and the decoder is
tied to the word embeddings, as BERT's is, so only the head's transform layer starts fresh.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from winnow.errors import WinnowError, require

logger = logging.getLogger(__name__)

SILENT = -1e4  # output bias of special tokens: far below any logit the network produces


def encoder_folder(root: Path) -> Path:
    """The transformer folder of ``root``: itself, or the ``Transformer`` module of a
    sentence-transformers bi-encoder (``modules.json``)."""
    modules_json = root / "modules.json"
    if not modules_json.exists():
        return root
    modules = json.loads(modules_json.read_text(encoding="utf-8"))
    first = modules[0] if modules else {}
    if not str(first.get("type", "")).endswith("Transformer"):
        raise WinnowError(f"model {root}: the first module of modules.json is not a Transformer")
    return root / first.get("path", "")


def load_student(model: str):
    """``(masked-language model, tokenizer)`` of the student, in float32 and training mode.

    Raises:
        WinnowError: for a sparse model saved with sum pooling or another activation than
            ``log(1 + relu)`` (training produces max pooling over it), or an encoder that is
            neither an MLM nor a BERT encoder.
    """
    transformers = require("transformers", "train")
    from winnow.encode.model_layout import detect_layout, resolve_model

    root = resolve_model(model)
    try:
        layout = detect_layout(root)
    except WinnowError:
        layout = None
    if layout is not None:
        if (layout.pooling or "max") != "max" or layout.activation != "relu":
            raise WinnowError(f"student {model}: pools with {layout.pooling} and {layout.activation}; training "
                              "produces max pooling over log(1 + relu) and needs a student saved that way")
        folder = layout.mlm_dir
        network = transformers.AutoModelForMaskedLM.from_pretrained(str(folder))
    else:
        folder = encoder_folder(root)
        network = mlm_from_encoder(folder)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    silence_special_tokens(network, tokenizer)
    return network.float().train(), tokenizer


def silence_special_tokens(network, tokenizer) -> None:
    """Pin the output bias of the special tokens ([CLS], [SEP], [PAD], ...) at :data:`SILENT`.

    Their logits then stay below 0, so SPLADE pooling gives them weight 0 in every reader:
    winnow drops special tokens itself, sentence-transformers' ``SpladePooling`` does not. They
    get no gradient through the ReLU, so training leaves them there.

    Raises:
        WinnowError: when the model's output layer has no bias.
    """
    silence(network, tokenizer.all_special_ids)


def silence(network, token_ids) -> None:
    """Pin the output bias of ``token_ids`` at :data:`SILENT`: no document gets weight on them.

    Raises:
        WinnowError: when the model's output layer has no bias.
    """
    import torch

    bias = getattr(network.get_output_embeddings(), "bias", None)
    if bias is None:
        raise WinnowError("the student's output layer has no bias to keep tokens out of documents")
    with torch.no_grad():
        bias[torch.as_tensor(token_ids, dtype=torch.long)] = SILENT


def mlm_from_encoder(folder: Path):
    """A ``BertForMaskedLM`` holding the weights of the BERT encoder in ``folder``.

    The decoder shares the word embeddings (``tie_word_embeddings``) and its bias starts at 0;
    the head's transform (dense + LayerNorm) is freshly initialised.

    Raises:
        WinnowError: when ``folder`` is not a BERT encoder or its weights do not fit.
    """
    transformers = require("transformers", "train")
    config = transformers.AutoConfig.from_pretrained(str(folder))
    if config.model_type != "bert":
        raise WinnowError(f"{folder}: a {config.model_type} encoder without an MLM head; only BERT encoders "
                          "get one (start from a *ForMaskedLM model otherwise)")
    config.tie_word_embeddings = True
    encoder = transformers.BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    network = transformers.BertForMaskedLM(config)
    missing, unexpected = network.bert.load_state_dict(encoder.state_dict(), strict=False)
    if missing or unexpected:
        raise WinnowError(f"{folder}: encoder weights do not fit a BertForMaskedLM "
                          f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    network.tie_weights()
    network.cls.predictions.bias.data.zero_()
    logger.info("%s: BERT encoder given an MLM head tied to its word embeddings", folder)
    return network
