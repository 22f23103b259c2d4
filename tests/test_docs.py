"""Every ``python`` and ``bash`` code block of the README and ``docs/*.md`` runs as written.

Blocks run in a temporary folder holding a link to ``examples/``, in file order, Python blocks of
one file sharing their names. A block is preceded by an HTML comment when it needs more:

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

from winnow.errors import MissingExtraError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!--\s*(?P<note>[^>]*?)\s*-->\s*\n)?```(?P<lang>\w*)\n(?P<code>.*?)```", re.S)


def blocks(page: Path) -> list[tuple[str, str, str]]:
    return [(m["lang"], m["code"], m["note"] or "") for m in BLOCK.finditer(page.read_text(encoding="utf-8"))
            if m["lang"] in ("python", "bash")]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_run(page, tmp_path, monkeypatch):
    found = blocks(page)
    if not found:
        pytest.skip(f"{page.name} has no python or bash blocks")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    if SHARED.is_dir() and not (tmp_path.parent / "shared").exists():
        (tmp_path.parent / "shared").symlink_to(SHARED)  # pages refer to ../shared, as from the repository
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    namespace: dict = {}
    ran = 0
    for lang, code, note in found:
        if note.startswith("not run:") or "python -m venv" in code:
            continue
        if "needs: shared" in note and not SHARED.is_dir():
            continue
        if lang == "python":
            try:
                exec(compile(code, str(page), "exec"), namespace)
            except (MissingExtraError, ModuleNotFoundError) as exc:  # an extra this install lacks
                pytest.skip(f"{page.name}: {exc}")
        else:
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], env=env, capture_output=True, text=True,
                                  timeout=600)
            if done.returncode and "is required for this feature: pip install" in done.stderr:
                pytest.skip(f"{page.name}: {done.stderr.strip().splitlines()[-1]}")
            assert done.returncode == 0, f"{page.name} block failed:\n{code}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        ran += 1
    if not ran:
        pytest.skip(f"{page.name}: every block needs what this machine lacks")
