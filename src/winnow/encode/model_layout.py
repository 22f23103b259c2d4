"""Find the parts of a sparse encoder model on disk, whatever layout it was saved in.

Recognised layouts:

* a plain ``*ForMaskedLM`` folder (``config.json`` + weights + tokenizer);
* the same with an ``idf.json`` beside it (OpenSearch ``doc-*`` inference-free models:
  token string -> query weight);
* a sentence-transformers ``SparseEncoder`` folder: ``modules.json`` listing an MLM
  transformer followed by ``SpladePooling``;
* a sentence-transformers inference-free ``Router``: ``router_config.json`` routes queries to
  ``SparseStaticEmbedding`` and documents to MLM transformer + ``SpladePooling``.

Non-local names are fetched with ``huggingface_hub.snapshot_download`` on first use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from winnow.errors import WinnowError, require

logger = logging.getLogger(__name__)

EXPECTED = (
    "a *ForMaskedLM folder (config.json), optionally with idf.json, or a sentence-transformers "
    "SparseEncoder folder (modules.json with an MLM transformer and SpladePooling, or a Router "
    "with SparseStaticEmbedding queries)"
)


@dataclass(frozen=True)
class ModelLayout:
    """Where the pieces of a model live.

    Attributes:
        root: The model folder.
        layout: ``mlm``, ``opensearch``, ``sparse-encoder`` or ``router``.
        mlm_dir: Folder of the masked-language model and its tokenizer.
        pooling: Pooling saved with the model (``SpladePooling``), if any.
        activation: ``relu`` (SPLADE) or ``log1p_relu`` (OpenSearch v3: one more log1p).
        idf_json: ``idf.json`` with query-side token weights, if any.
        static_dir: Folder of a ``SparseStaticEmbedding`` query module, if any.
    """

    root: Path
    layout: str
    mlm_dir: Path
    pooling: str | None = None
    activation: str = "relu"
    idf_json: Path | None = None
    static_dir: Path | None = None

    @property
    def has_query_weights(self) -> bool:
        return self.idf_json is not None or self.static_dir is not None


def resolve_model(model: str) -> Path:
    """Return a local folder for ``model``: the path itself, or a Hugging Face snapshot.

    Raises:
        WinnowError: when ``model`` is neither a folder nor downloadable (e.g. offline).
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise WinnowError(f"model {model!r} is not a folder; expected {EXPECTED}")
    hub = require("huggingface_hub", "torch")
    try:
        return Path(hub.snapshot_download(model))
    except Exception as exc:  # the hub raises many unrelated types (offline, 404, auth)
        raise WinnowError(
            f"could not fetch model {model!r} from the Hugging Face hub ({type(exc).__name__}: {exc}); "
            "pass a local folder or check the id and the network"
        ) from exc


MODEL_FILE_SUFFIXES = (".json", ".safetensors", ".bin", ".txt", ".model")  # weights, configs, tokenizers


def model_files(layout: ModelLayout) -> dict[str, str]:
    """xxh3-64 of each file that defines the model: weights, configs and tokenizer files of the
    model folder and of its MLM folder (relative name -> hex digest)."""
    from winnow.index.manifest import file_digest

    digests = {}
    for folder in dict.fromkeys((layout.root, layout.mlm_dir)):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in MODEL_FILE_SUFFIXES:
                digests[path.relative_to(layout.root).as_posix()] = file_digest(path)
    return digests


def model_record(model: str, layout: ModelLayout) -> dict:
    """What an index records of the model it was built with, to find it and check it again.

    ``model`` is the resolved folder (absolute, so a relative path works from any working
    directory); ``model_id`` the name as given; ``revision`` the hub commit of a downloaded
    snapshot (``None`` for a local folder); ``model_files`` the digests of :func:`model_files`.
    """
    root = layout.root.resolve()
    revision = root.name if root.parent.name == "snapshots" else None
    return {"model": str(root), "model_id": model, "revision": revision, "model_files": model_files(layout)}


def locate_model(record: dict) -> str:
    """The folder of a recorded model: its saved path, or the hub snapshot of its id at its revision."""
    if Path(record["model"]).is_dir() or not record.get("revision"):
        return record["model"]
    hub = require("huggingface_hub", "torch")
    try:
        return hub.snapshot_download(record["model_id"], revision=record["revision"])
    except Exception as exc:  # the hub raises many unrelated types (offline, 404, auth)
        raise WinnowError(f"the index's model {record['model_id']!r} (revision {record['revision']}) is not at "
                          f"{record['model']} and could not be fetched ({type(exc).__name__}: {exc})") from exc


def check_model(record: dict, layout: ModelLayout) -> None:
    """Refuse a model whose files differ from the recorded ones.

    Raises:
        WinnowError: naming the files that changed, appeared or disappeared.
    """
    saved = record.get("model_files")
    if saved is None:  # an index built before models were recorded
        return
    found = model_files(layout)
    changed = sorted(n for n in saved.keys() & found.keys() if saved[n] != found[n])
    missing, extra = sorted(saved.keys() - found.keys()), sorted(found.keys() - saved.keys())
    if changed or missing or extra:
        what = "; ".join(f"{label}: {', '.join(names)}" for label, names in
                         (("changed", changed), ("missing", missing), ("new", extra)) if names)
        raise WinnowError(f"model {layout.root} is not the one this index was built with ({what}); "
                          f"queries must be encoded by the documents' model: restore it or rebuild the index")


def _read_json(path: Path) -> dict | list:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WinnowError(f"cannot read {path}: {exc}") from exc


def _is_mlm_module(module_type: str, folder: Path) -> bool:
    if module_type.endswith("MLMTransformer"):
        return True
    config = folder / "sentence_bert_config.json"
    return module_type.endswith(".Transformer") and config.exists() and _read_json(config).get("transformer_task") == "fill-mask"


def _document_modules(modules: list[tuple[str, Path]], root: Path) -> dict:
    """Parse an ``[MLM transformer, SpladePooling]`` module list into layout fields."""
    if len(modules) != 2 or not _is_mlm_module(*modules[0]) or not modules[1][0].endswith("SpladePooling"):
        names = [t.rsplit(".", 1)[-1] for t, _ in modules]
        raise WinnowError(f"model {root}: document modules {names} are not an MLM transformer + SpladePooling; expected {EXPECTED}")
    mlm_dir, pooling_dir = modules[0][1], modules[1][1]
    pooling = _read_json(pooling_dir / "config.json") if (pooling_dir / "config.json").exists() else {}
    return {
        "mlm_dir": mlm_dir,
        "pooling": pooling.get("pooling_strategy", "max"),
        "activation": pooling.get("activation_function", "relu"),
    }


def _router_layout(root: Path) -> ModelLayout:
    config = _read_json(root / "router_config.json")
    types, structure = config.get("types", {}), config.get("structure", {})
    if "query" not in structure or "document" not in structure:
        raise WinnowError(f"model {root}: router_config.json has no query and document routes; expected {EXPECTED}")
    query = [(types[name], root / name) for name in structure["query"]]
    if len(query) != 1 or not query[0][0].endswith("SparseStaticEmbedding"):
        raise WinnowError(f"model {root}: the query route is not a single SparseStaticEmbedding; only inference-free routers are supported")
    fields = _document_modules([(types[name], root / name) for name in structure["document"]], root)
    return ModelLayout(root=root, layout="router", static_dir=query[0][1], **fields)


def detect_layout(root: Path) -> ModelLayout:
    """Work out which layout ``root`` holds.

    Raises:
        WinnowError: naming the folder and the layouts expected, when none matches.
    """
    root = Path(root)
    modules_json = root / "modules.json"
    if modules_json.exists():
        modules = [(m["type"], root / m.get("path", "")) for m in _read_json(modules_json)]
        if len(modules) == 1 and modules[0][0].endswith((".Router", ".Asym")):
            return _router_layout(root)
        return ModelLayout(root=root, layout="sparse-encoder", **_document_modules(modules, root))
    config = root / "config.json"
    if config.exists() and any(a.endswith("ForMaskedLM") for a in _read_json(config).get("architectures") or []):
        idf = root / "idf.json"
        return ModelLayout(root=root, layout="opensearch" if idf.exists() else "mlm", mlm_dir=root, idf_json=idf if idf.exists() else None)
    raise WinnowError(f"model folder {root} has an unknown layout; expected {EXPECTED}")


def token_limit(folder: Path, fallback: int = 512) -> int:
    """Tokens per text the transformer in ``folder`` reads, as sentence-transformers decides: the
    ``max_seq_length`` of its ``sentence_bert_config.json``, else the smaller of the tokenizer's
    ``model_max_length`` and the position embeddings (``fallback`` when neither is known)."""
    def setting(name: str, key: str):
        path = folder / name
        value = _read_json(path).get(key) if path.exists() else None
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e9 \
            else None

    declared = setting("sentence_bert_config.json", "max_seq_length")
    if declared:
        return declared
    limits = [v for v in (setting("tokenizer_config.json", "model_max_length"),
                          setting("config.json", "max_position_embeddings")) if v]
    return min(limits) if limits else fallback


def load_tokenizer(folder: Path):
    """The fast tokenizer of ``folder`` as a ``tokenizers.Tokenizer`` (no padding, no truncation).

    Uses ``tokenizer.json`` when present, otherwise converts the folder's tokenizer with
    ``transformers`` (e.g. a ``vocab.txt``-only BERT).
    """
    from tokenizers import Tokenizer

    if (folder / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    else:
        transformers = require("transformers", "torch")
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder)).backend_tokenizer
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def special_token_ids(tokenizer) -> np.ndarray:
    """Ids of the tokenizer's special tokens ([CLS], [SEP], [PAD], [MASK], [UNK], ...)."""
    ids = [i for i, token in tokenizer.get_added_tokens_decoder().items() if token.special]
    return np.array(sorted(ids), dtype=np.int64)


def load_model_idf(layout: ModelLayout, tokenizer) -> np.ndarray | None:
    """Query-side weights per token id saved with the model, or ``None`` when it has none.

    ``idf.json`` maps token strings to weights (tokens missing from the vocabulary are
    skipped with a warning); a ``SparseStaticEmbedding`` stores a ``weight`` vector or
    points at such a JSON file.
    """
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    idf_json = layout.idf_json
    if layout.static_dir is not None:
        config_path = layout.static_dir / "config.json"
        config = _read_json(config_path) if config_path.exists() else {}
        if str(config.get("path", "")).endswith(".json"):
            idf_json = layout.static_dir / config["path"]
        else:
            return _static_weights(layout.static_dir, vocab_size)
    if idf_json is None:
        return None
    weights = np.zeros(vocab_size, dtype=np.float32)
    missing = 0
    for token, weight in _read_json(idf_json).items():
        token_id = tokenizer.token_to_id(token)
        if token_id is None:
            missing += 1
        else:
            weights[token_id] = weight
    if missing:
        logger.warning("%s: %d tokens are not in the tokenizer vocabulary and were skipped", idf_json, missing)
    return weights


def _static_weights(folder: Path, vocab_size: int) -> np.ndarray:
    from safetensors.numpy import load_file

    path = folder / "model.safetensors"
    if not path.exists():
        raise WinnowError(f"SparseStaticEmbedding folder {folder} has no model.safetensors (pytorch_model.bin is not supported)")
    weight = load_file(str(path)).get("weight")
    if weight is None or weight.shape != (vocab_size,):
        raise WinnowError(f"{path}: expected a 'weight' vector of {vocab_size} values (one per token)")
    return weight.astype(np.float32)
