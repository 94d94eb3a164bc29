"""Print the score of the last ``mutmut run`` and its surviving mutants (``make mutation``).

Reads ``mutmut results --all true``; equivalent mutants listed in
``tests/equivalent_mutants.txt`` (one name per line, ``#`` comments) are shown apart and left
out of the score's denominator, with their reason.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.90


def _equivalent() -> dict[str, str]:
    listed: dict[str, str] = {}
    path = ROOT / "tests" / "equivalent_mutants.txt"
    if path.is_file():
        for line in path.read_text().splitlines():
            name, _, reason = line.partition("#")
            if name.strip():
                listed[name.strip()] = reason.strip()
    return listed


def main() -> int:
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, cwd=ROOT
    )
    status: dict[str, str] = {}
    for line in out.stdout.splitlines():
        name, sep, state = line.strip().rpartition(": ")
        if sep and name:
            status[name] = state
    if not status:
        print("no mutation results: run `make mutation` first", file=sys.stderr)
        return 2
    equivalent = _equivalent()
    counts = Counter(status.values())
    judged = {n: s for n, s in status.items() if n not in equivalent and s != "not checked"}
    killed = sum(1 for s in judged.values() if s in ("killed", "timeout", "segfault"))
    score = killed / max(len(judged), 1)
    print(f"mutants: {len(status)}; by status: {dict(sorted(counts.items()))}")
    print(f"equivalent (listed in tests/equivalent_mutants.txt): {len(equivalent)}")
    print(f"score: {killed} of {len(judged)} killed = {score:.1%} (goal >= {GOAL:.0%})")
    survivors = sorted(n for n, s in judged.items() if s == "survived")
    if survivors:
        print(f"\nsurvivors ({len(survivors)}); `.venv/bin/mutmut show NAME` prints a diff:")
        for name in survivors:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
