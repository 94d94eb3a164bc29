"""Link each notebook's first rule citation to the rule catalogue (RULES.md).

    python tools/link_rules.py notebooks/*.ipynb

In every notebook the first item a Markdown cell cites (S11, G9.2...) becomes a link to its row
of ``../RULES.md``, so a learner can look the code up where the course first uses one; a cell
that already links it is left alone. Only Markdown sources change; outputs are untouched.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from vmbackup.catalogue import CITATION, rules

LINKED = re.compile(r"\[([SPYLRXGHA]\d{1,2}(?:\.\d{1,2})?)\]\(\.\./RULES\.md#[a-z0-9-]+\)")


def anchor(item: str) -> str:
    """The id of ``item``'s row in RULES.md."""
    return item.lower().replace(".", "-")


def first_citation(notebook: dict) -> tuple[int, re.Match[str]] | None:
    """The Markdown cell and match of a notebook's first citation of a catalogue item."""
    known = rules()
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        for match in CITATION.finditer(text):
            if match.group(0) in known:
                return index, match
    return None


def link(path: Path) -> bool:
    """Link ``path``'s first citation; True if the file changed."""
    raw = path.read_text(encoding="utf-8")
    notebook = json.loads(raw)
    found = first_citation(notebook)
    if found is None:
        return False
    index, match = found
    text = "".join(notebook["cells"][index]["source"])
    start = match.start()
    if text[max(0, start - 1) : start] == "[":
        return False  # already a link
    item = match.group(0)
    text = f"{text[:start]}[{item}](../RULES.md#{anchor(item)}){text[match.end() :]}"
    notebook["cells"][index]["source"] = text.splitlines(keepends=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


if __name__ == "__main__":
    changed = [p for p in map(Path, sys.argv[1:]) if link(p)]
    print(f"linked the first citation in {len(changed)} notebook(s)")
