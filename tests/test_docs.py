"""Every ``python`` and ``bash`` code block of the README and ``docs/*.md`` runs as written.

A page's blocks run in file order as one fresh Python process (bash blocks through ``subprocess``),
in a temporary folder holding a link to ``examples/``, so Python blocks of one page share their
names and nothing leaks between pages or into the test process. A block is preceded by an HTML
comment when it needs more:

- ``<!-- needs: shared -->``: the ``../shared`` folder (data, models); skipped without it.
- ``<!-- not run: REASON -->``: commands for machines these tests do not have (a Ray or Milvus
  cluster, an OpenSearch server); the reason is shown in the page's source.

The README's two install-and-run commands create virtual environments; CI runs those itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!--\s*(?P<note>[^>]*?)\s*-->\s*\n)?```(?P<lang>\w*)\n(?P<code>.*?)```", re.S)


def blocks(page: Path) -> list[tuple[str, str, str]]:
    return [(m["lang"], m["code"], m["note"] or "") for m in BLOCK.finditer(page.read_text(encoding="utf-8"))
            if m["lang"] in ("python", "bash")]


MISSING_EXTRA = re.compile(r"(is required for this feature: pip install [^\n]*|ModuleNotFoundError: [^\n]*)")


def page_script(found: list[tuple[str, str, str]], shared: bool) -> tuple[str, int]:
    """One Python program running a page's blocks in order, and how many blocks it runs."""
    parts = ["import subprocess as _subprocess"]
    ran = 0
    for lang, code, note in found:
        if note.startswith("not run:") or "python -m venv" in code:
            continue
        if "needs: shared" in note and not shared:
            continue
        if lang == "python":
            parts.append(code)
        else:
            parts.append(f"_done = _subprocess.run(['bash', '-euo', 'pipefail', '-c', {code!r}], text=True, "
                         "capture_output=True)\n"
                         "print(_done.stdout, end='')\n"
                         "if _done.returncode:\n"
                         f"    raise SystemExit('bash block failed:\\n' + {code!r} + _done.stderr[-3000:])")
        ran += 1
    return "\n".join(parts), ran


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page, tmp_path):
    found = blocks(page)
    if not found:
        pytest.skip(f"{page.name} has no python or bash blocks")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    if SHARED.is_dir() and not (tmp_path.parent / "shared").exists():
        (tmp_path.parent / "shared").symlink_to(SHARED)  # pages refer to ../shared, as from the repository
    script, ran = page_script(found, SHARED.is_dir())
    if not ran:
        pytest.skip(f"{page.name}: every block needs what this machine lacks")
    (tmp_path / "page.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "page.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1200)
    missing = MISSING_EXTRA.search(done.stderr)
    if done.returncode and missing:  # an extra this install lacks
        pytest.skip(f"{page.name}: {missing[1]}")
    assert done.returncode == 0, f"{page.name} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
