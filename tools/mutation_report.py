"""The score of ``make mutation`` and its surviving mutants, and the random sample it can draw.

``python tools/mutation_report.py [PATTERN ...]`` reads ``mutmut results --all true`` and prints
the score over the mutants whose names match the patterns (all when none are given; patterns as
``mutmut run`` takes them, ``vmbackup.policy.*``), the score of each module, and the survivors.
``--draw N`` prints a seeded random sample of N mutant names, read from mutmut's ``.meta`` files
under ``mutants/``; ``--sample FILE`` scores only the names in FILE and gives the score's 95%
interval (Wilson), which is how ``make mutation SAMPLE=N`` measures the whole package in an hour
or two instead of days.

Equivalent mutants listed in ``tests/equivalent_mutants.txt`` (one name per line, then ``#`` and
the reason) are shown apart and left out of the denominator. A timeout counts as killed (a
mutant that loops forever is caught); with mutmut's fork server a hang is not a polars deadlock,
but the count is printed so that a jump in it gets a look.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.90
KILLED = ("killed", "timeout", "segfault")
UNJUDGED = ("not checked", "skipped", "check was interrupted by user")


def _equivalent() -> dict[str, str]:
    listed: dict[str, str] = {}
    path = ROOT / "tests" / "equivalent_mutants.txt"
    if path.is_file():
        for line in path.read_text().splitlines():
            name, _, reason = line.partition("#")
            if name.strip():
                listed[name.strip()] = reason.strip()
    return listed


def _all_names() -> list[str]:
    """Every generated mutant's name, from the ``.meta`` files mutmut writes beside each file."""
    names: list[str] = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        names.extend(json.loads(meta.read_text())["exit_code_by_key"])
    return sorted(names)


def _results() -> dict[str, str]:
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, cwd=ROOT
    )
    status: dict[str, str] = {}
    for line in out.stdout.splitlines():
        name, sep, state = line.strip().rpartition(": ")
        if sep and name:
            status[name] = state
    return status


def _module(name: str) -> str:
    head, _, _ = name.partition(".x_")
    return head.partition(".xǁ")[0]


def wilson_interval(killed: int, judged: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% interval of a proportion ``killed / judged`` (Wilson's score interval).

    >>> [round(x, 3) for x in wilson_interval(90, 100)]
    [0.826, 0.945]
    """
    if judged == 0:
        return 0.0, 1.0
    p = killed / judged
    centre = (p + z * z / (2 * judged)) / (1 + z * z / judged)
    half = z * math.sqrt(p * (1 - p) / judged + z * z / (4 * judged * judged))
    half /= 1 + z * z / judged
    return max(0.0, centre - half), min(1.0, centre + half)


def report(status: dict[str, str], *, sampled: bool) -> int:
    equivalent = _equivalent()
    counts = Counter(status.values())
    judged = {n: s for n, s in status.items() if n not in equivalent and s not in UNJUDGED}
    killed = sum(1 for s in judged.values() if s in KILLED)
    score = killed / max(len(judged), 1)
    print(f"mutants: {len(status)}; by status: {dict(sorted(counts.items()))}")
    print(f"equivalent (tests/equivalent_mutants.txt): {sum(n in equivalent for n in status)}")
    line = f"score: {killed} of {len(judged)} killed = {score:.1%} (goal >= {GOAL:.0%})"
    if sampled:
        low, high = wilson_interval(killed, len(judged))
        line += f"; 95% interval {low:.1%} to {high:.1%} for the whole package"
    print(line)
    by_module: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, state in judged.items():
        by_module[_module(name)][0] += state in KILLED
        by_module[_module(name)][1] += 1
    print("\nby module (killed / judged):")
    for module, (k, n) in sorted(by_module.items(), key=lambda kv: kv[1][0] / kv[1][1]):
        print(f"  {module:32s} {k:5d} / {n:5d} = {k / n:6.1%}")
    survivors = sorted(n for n, s in judged.items() if s not in KILLED)
    if survivors:
        print(f"\nsurvivors ({len(survivors)}); `.venv/bin/mutmut show NAME` prints a diff:")
        for name in survivors:
            print(f"  {name}  [{judged[name]}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="mutant name patterns (default: all)")
    parser.add_argument("--draw", type=int, metavar="N", help="print N sampled mutant names")
    parser.add_argument("--seed", type=int, default=2026, help="the sample's seed")
    parser.add_argument("--sample", type=Path, metavar="FILE", help="score only these names")
    args = parser.parse_args(argv)
    if args.draw is not None:
        names = _all_names()
        if not names:
            print("no mutants generated: run `make mutation MODULES=...` once", file=sys.stderr)
            return 2
        if args.draw < 1:
            print(f"--draw must be a positive count, got {args.draw}", file=sys.stderr)
            return 2
        drawn = random.Random(args.seed).sample(names, min(args.draw, len(names)))
        print("\n".join(sorted(drawn)))
        return 0
    status = _results()
    if not status:
        print("no mutation results: run `make mutation` first", file=sys.stderr)
        return 2
    if args.sample is not None:
        wanted = set(args.sample.read_text().split())
        status = {n: s for n, s in status.items() if n in wanted}
    if args.patterns:
        status = {
            n: s for n, s in status.items() if any(fnmatch.fnmatch(n, p) for p in args.patterns)
        }
    return report(status, sampled=args.sample is not None)


if __name__ == "__main__":
    raise SystemExit(main())
