"""Typed exceptions. Every message says what went wrong, where, and what to do."""

from __future__ import annotations


class WinnowError(Exception):
    """Base class of all winnow errors."""


class InputError(WinnowError, ValueError):
    """A bad input record, reported with the file and line it came from."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path, self.line, self.reason = path, line, message
        where = f"{path}:{line}: " if path is not None and line is not None else (f"{path}: " if path else "")
        super().__init__(where + message)


class IndexFormatError(WinnowError):
    """An index folder that is missing, damaged or of an unsupported format version."""


class MissingExtraError(WinnowError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str):
        super().__init__(f"{package} is required for this feature: pip install 'winnow[{extra}]'")


def require(module: str, extra: str):
    """Import an optional dependency or raise :class:`MissingExtraError` naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc


class FilterError(InputError):
    """A metadata filter that does not parse, exceeds a limit or does not fit the index's fields.

    ``position`` is the 0-based character offset in the filter text where the problem was found
    (``None`` for the JSON form and for errors found against an index's fields).
    """

    def __init__(self, message: str, position: int | None = None):
        self.position = position
        super().__init__(f"filter: {message}" if position is None else f"filter, position {position}: {message}")
