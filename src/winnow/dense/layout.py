"""Read what a dense encoder folder says about itself.

Recognised layouts:

* a plain Hugging Face encoder folder (``config.json`` + weights + tokenizer): mean pooling,
  cosine similarity, unless options say otherwise;
* a sentence-transformers folder: ``modules.json`` lists a ``Transformer``, a ``Pooling``
  (``1_Pooling/config.json``: ``pooling_mode`` or the older ``pooling_mode_*_tokens`` flags,
  ``include_prompt``), optionally a ``Normalize``; ``sentence_bert_config.json`` gives
  ``max_seq_length`` and ``do_lower_case``; ``config_sentence_transformers.json`` gives the
  ``prompts``, ``default_prompt_name`` and ``similarity_fn_name``;
* either of those with winnow's trainable ``LatentAttentionPooling`` module in place of ``Pooling``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from winnow.errors import WinnowError

POOLINGS = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
LATENT = "latent"
# sentence-transformers' legacy boolean keys, in its concatenation order
_LEGACY_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
DOCUMENT_PROMPTS = ("document", "passage", "corpus")  # sentence-transformers' encode_document order
EXPECTED = ("a Hugging Face encoder folder (config.json), or a sentence-transformers folder whose modules.json "
            "lists Transformer, Pooling (or LatentAttentionPooling) and optionally Normalize")


@dataclass(frozen=True)
class DenseLayout:
    """Where the pieces of a dense encoder live and how it pools.

    Attributes:
        root: The model folder.
        layout: ``hf`` or ``sentence-transformers``.
        transformer_dir: Folder of the transformer and its tokenizer.
        pooling: Pooling modes, concatenated in this order (sentence-transformers allows several),
            or ``("latent",)``.
        include_prompt: Whether prompt tokens take part in the pooling.
        normalize: A ``Normalize`` module follows the pooling.
        similarity: ``cosine`` or ``dot`` (sentence-transformers' ``similarity_fn_name``).
        do_lower_case: Lower-case texts before tokenizing.
        prompts: Named prompts (``query``, ``document``, ...).
        default_prompt_name: Prompt applied when none is asked for.
        latent_dir: Folder of a saved ``LatentAttentionPooling``.
    """

    root: Path
    layout: str
    transformer_dir: Path
    pooling: tuple[str, ...] = ("mean",)
    include_prompt: bool = True
    normalize: bool = False
    similarity: str = "cosine"
    do_lower_case: bool = False
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    latent_dir: Path | None = None

    def prompt(self, side: str) -> str:
        """The saved prompt of ``side`` (``query`` or ``document``), or the default one, or ``""``."""
        names = ("query",) if side == "query" else DOCUMENT_PROMPTS
        for name in names:
            if name in self.prompts:
                return self.prompts[name]
        return self.prompts.get(self.default_prompt_name, "") if self.default_prompt_name else ""


def read_json(path: Path) -> dict | list:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WinnowError(f"cannot read {path}: {exc}") from exc


def pooling_modes(config: dict) -> tuple[str, ...]:
    """The modes of a sentence-transformers ``Pooling`` config, either key style."""
    mode = config.get("pooling_mode")
    if mode is None:
        modes = tuple(m for key, m in _LEGACY_KEYS.items() if config.get(key))
        return modes or ("mean",)
    modes = (mode,) if isinstance(mode, str) else tuple(mode)
    unknown = [m for m in modes if m not in POOLINGS]
    if unknown:
        raise WinnowError(f"pooling mode(s) {unknown} are not supported; winnow pools with {', '.join(POOLINGS)}")
    return modes


def _sentence_transformers(root: Path) -> DenseLayout:
    modules = read_json(root / "modules.json")
    kinds = [(m["type"].rsplit(".", 1)[-1], root / m.get("path", "")) for m in modules]
    names = [k for k, _ in kinds]
    if not names or names[0] != "Transformer" or len(names) < 2 or names[1] not in ("Pooling", "LatentAttentionPooling") \
            or names[2:] not in ([], ["Normalize"]):
        raise WinnowError(f"model {root}: modules {names} are not supported; expected {EXPECTED}")
    transformer_dir, pooling_dir = kinds[0][1], kinds[1][1]
    bert = transformer_dir / "sentence_bert_config.json"
    bert_config = read_json(bert) if bert.exists() else {}
    st_path = root / "config_sentence_transformers.json"
    st_config = read_json(st_path) if st_path.exists() else {}
    fields = {
        "root": root, "layout": "sentence-transformers", "transformer_dir": transformer_dir,
        "normalize": names[2:] == ["Normalize"],
        "similarity": "dot" if st_config.get("similarity_fn_name") in ("dot", "dot_product") else "cosine",
        "do_lower_case": bool(bert_config.get("do_lower_case", False)),
        "prompts": dict(st_config.get("prompts") or {}),
        "default_prompt_name": st_config.get("default_prompt_name"),
    }
    if names[1] == "LatentAttentionPooling":
        return DenseLayout(pooling=(LATENT,), latent_dir=pooling_dir, **fields)
    config = read_json(pooling_dir / "config.json") if (pooling_dir / "config.json").exists() else {}
    return DenseLayout(pooling=pooling_modes(config), include_prompt=bool(config.get("include_prompt", True)), **fields)


def detect_dense_layout(root: Path) -> DenseLayout:
    """Work out which layout ``root`` holds.

    Raises:
        WinnowError: naming the folder and the layouts expected, when none matches.
    """
    root = Path(root)
    if (root / "modules.json").exists():
        return _sentence_transformers(root)
    if (root / "config.json").exists():
        return DenseLayout(root=root, layout="hf", transformer_dir=root)
    raise WinnowError(f"model folder {root} has an unknown layout; expected {EXPECTED}")
