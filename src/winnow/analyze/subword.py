"""Subword analyzer backed by a Hugging Face ``tokenizers`` vocabulary.

Terms are the tokenizer's tokens (WordPiece, BPE, Unigram), the vocabulary learned
sparse models use; it also serves languages written without spaces.
"""

from __future__ import annotations

from pathlib import Path

from winnow.errors import WinnowError


def load_tokenizer(source: str | Path):
    """Load a ``tokenizers.Tokenizer`` from a ``tokenizer.json`` file, a model folder or a hub id."""
    from tokenizers import Tokenizer

    path = Path(source)
    if path.is_dir():
        path = path / "tokenizer.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    if Path(source).exists():
        raise WinnowError(f"{source}: no tokenizer.json found")
    try:
        return Tokenizer.from_pretrained(str(source))
    except Exception as exc:  # hub errors come in many types
        raise WinnowError(f"cannot load tokenizer {source!r}: not a local tokenizer.json or folder, "
                          f"and the hub failed ({exc})") from exc


class SubwordAnalyzer:
    """Analyze text into subword tokens (special tokens excluded).

    Args:
        tokenizer: path to ``tokenizer.json``, a model folder or a hub id.
        lowercase: lowercase before tokenizing (for tokenizers without a normaliser).
    """

    kind = "subword"

    def __init__(self, tokenizer: str | Path, lowercase: bool = False):
        self.source, self.lowercase = str(tokenizer), lowercase
        self.tokenizer = load_tokenizer(tokenizer)

    def analyze(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def save(self, folder: Path) -> None:
        """Write ``tokenizer.json`` into an index folder so the index is self-contained."""
        self.tokenizer.save(str(Path(folder) / "tokenizer.json"))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "tokenizer": "tokenizer.json", "lowercase": self.lowercase}

    @classmethod
    def from_dict(cls, d: dict, folder: Path | None = None) -> "SubwordAnalyzer":
        src = Path(folder) / d["tokenizer"] if folder is not None else d["tokenizer"]
        return cls(src, lowercase=d.get("lowercase", False))
