"""A one-shot ``winnow search`` of a tiny index loads only what answering it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from winnow.retrieve.searcher import Searcher

QUERY = "document length postings"


def search_in_process(index, *options: str) -> tuple[dict, list[str]]:
    """Run ``winnow search`` in a fresh interpreter; its JSON answer (``--json``) or None, and which of
    numba, rich and pydantic were loaded when it finished."""
    probe = ("import json, sys\nfrom winnow.cli.app import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(json.dumps([m for m in ('numba', 'rich', 'pydantic') if m in sys.modules]))")
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_DISABLE_JIT"}
    out = subprocess.run([sys.executable, "-c", probe, "search", str(index), QUERY, "-k", "5", *options], env=env,
                         capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    answer = json.loads(lines[0]) if "--json" in options else None
    return answer, json.loads(lines[-1])


def test_a_tiny_index_is_searched_without_importing_numba_or_rich(tiny_index):
    answer, loaded = search_in_process(tiny_index, "--json")
    assert "numba" not in loaded and "rich" not in loaded
    expected = Searcher(tiny_index).search(QUERY, k=5)
    assert [h["id"] for h in answer["hits"]] == list(expected.ids)


def test_the_results_table_loads_rich_but_not_numba(tiny_index):
    _, loaded = search_in_process(tiny_index)
    assert "rich" in loaded and "numba" not in loaded
