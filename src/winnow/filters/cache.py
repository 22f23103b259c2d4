"""The masks of recently used filters, so a repeated filter is not evaluated over every document again.

A retriever answers from one snapshot of its index (a searcher from one commit), so a filter's
mask never changes while the retriever lives; a reopened searcher starts with an empty cache.
Filters are keyed by their parsed form, so the text and the JSON form of one filter share a mask.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, TypeVar

from winnow.filters.expression import Filter

MASKS_KEPT = 16  # filters whose masks a retriever keeps (each one byte per document)

Mask = TypeVar("Mask")


class MaskCache(Generic[Mask]):
    """A bounded, thread-safe, least-recently-used map from filter to mask.

    Args:
        size: the most filters kept; the least recently used is dropped first.

    Example::

        masks = MaskCache()
        allowed = masks.get('year >= 2020', columns.mask)  # evaluated
        allowed = masks.get({"field": "year", "op": ">=", "value": 2020}, columns.mask)  # kept
    """

    def __init__(self, size: int = MASKS_KEPT):
        self.size = size
        self._masks: OrderedDict[Filter, Mask] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec, evaluate: Callable[[Filter], Mask]) -> Mask:
        """The mask of ``spec`` (a :class:`Filter`, its text or JSON form): the one kept, or
        ``evaluate(filter)`` kept from now on. Callers share a kept mask and must not change it.

        Raises:
            FilterError: the filter does not parse, or as ``evaluate`` (nothing is kept then).
        """
        from winnow.filters import parse_filter

        f = parse_filter(spec)
        with self._lock:
            mask = self._masks.get(f)
            if mask is not None:
                self._masks.move_to_end(f)
                return mask
        mask = evaluate(f)  # outside the lock: two threads may both evaluate a new filter, both get equal masks
        with self._lock:
            self._masks[f] = mask
            self._masks.move_to_end(f)
            while len(self._masks) > self.size:
                self._masks.popitem(last=False)
        return mask

    def __len__(self) -> int:
        return len(self._masks)
