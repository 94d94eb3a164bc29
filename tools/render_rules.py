"""Write RULES.md, the rule catalogue as a page, from vmbackup/catalogue_data/*.toml.

python tools/render_rules.py            # writes RULES.md beside the README
python tools/render_rules.py --check    # exits 1 if RULES.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from vmbackup.catalogue import render_markdown

TARGET = Path(__file__).resolve().parent.parent / "RULES.md"


def main(argv: list[str]) -> int:
    text = render_markdown()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print("RULES.md is out of date: run python tools/render_rules.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.name} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
