"""``import winnow`` is pure: no heavy dependency loads until a feature needs it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numba", "torch", "transformers", "typer", "rich")


def modules_after(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_winnow_loads_no_heavy_module():
    assert modules_after("import winnow") == []


def test_value_types_load_no_heavy_module():
    assert modules_after("import winnow\nwinnow.Document('a', 'b'); winnow.Run.from_dict({})") == []


def test_the_probe_can_see_heavy_modules():
    """Guard against a probe that could never fail: numba does show up once a kernel runs compiled."""
    assert "numba" in modules_after("from winnow.retrieve import kernels\nkernels.better(1.0, 0, 0.0, 1)")
