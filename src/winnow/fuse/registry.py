"""The fusion methods by name."""

from __future__ import annotations

from winnow.fuse import comb, convex, rrf
from winnow.fuse.params import Method

METHODS: dict[str, Method] = {
    "rrf": rrf.METHOD,
    "convex": convex.METHOD,
    "combsum": comb.COMBSUM,
    "combmnz": comb.COMBMNZ,
}
