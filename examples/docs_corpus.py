"""Turn winnow's own documentation into a BEIR corpus: one document per paragraph.

    python examples/docs_corpus.py docs examples/docs-beir/corpus.jsonl

Each paragraph (or table, or list) of ``docs/*.md`` becomes a document whose title is its
section heading and whose id is ``<file>-<n>``. The queries and judgements in
``examples/docs-beir`` were written by hand against those ids.
"""

import json
import sys
from pathlib import Path


def paragraphs(path: Path):
    heading, block = path.stem, []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.strip():
            block.append(line.strip())
            continue
        if block:
            yield heading, " ".join(block)
            block = []


def main(docs: str, out: str) -> None:
    with open(out, "w", encoding="utf-8") as f:
        for path in sorted(Path(docs).glob("*.md")):
            for n, (title, text) in enumerate(paragraphs(path)):
                f.write(json.dumps({"_id": f"{path.stem}-{n}", "title": title, "text": text}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
