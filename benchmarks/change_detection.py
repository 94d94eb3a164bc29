"""Change detection speed and memory: block manifests and changed blocks on disk images.

For each image size (default 1 and 4 GiB) two images are written to a temporary folder: random
bytes, and a copy with a few percent of its 64 KiB blocks changed. Three operations of
``vmbackup.blocks`` are timed against two references measured in the same run on the same,
page-cached bytes:

- ``manifest``: checksum every block of the new image;
- ``diff vs manifest``: changed blocks of the new image against the old image's saved manifest;
- ``diff of images``: changed blocks of the new image against the old image itself.

References: a plain read of the same bytes (``readinto`` a reused 1 MiB buffer; both images for
the diff of images), and ``hashlib.sha256`` over each 64 KiB block of the same bytes (both images
for the diff of images, as hashing both is what a checksum diff would do). Ratios above 1 mean
faster than the reference. Peak memory is the peak resident set of a fresh process that imports
the package and runs the operation once (Linux ``VmHWM``, else ``ru_maxrss``), so it includes the
interpreter, numpy and the mapped pages of the image being read.

Goals (issue 16): at least 0.8x the plain read, at least 6x sha256 per block, and a peak under
256 MB at 4 GiB. Run: .venv/bin/python benchmarks/change_detection.py [--sizes 1,4]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vmbackup.blocks import DEFAULT_BLOCK_SIZE_BYTES, Manifest, changed_blocks, manifest

GIB = 1 << 30
CHUNK_BYTES = 64 << 20
READ_BUFFER_BYTES = 1 << 20
GOAL_READ_RATIO = 0.8
GOAL_SHA256_RATIO = 6.0
GOAL_PEAK_MB = 256.0
GOAL_PEAK_AT_GIB = 4.0


def write_images(
    folder: Path, size_bytes: int, changed_fraction: float, seed: int = 16
) -> tuple[Path, Path, np.ndarray]:
    """Write an old and a new image of ``size_bytes``; return their paths and the true mask.

    The content is random-ish: one random 64 MiB chunk, XORed with a different 64-bit word for
    each chunk so that no two blocks are equal. In the new image one byte of each chosen block
    is inverted.
    """
    block = DEFAULT_BLOCK_SIZE_BYTES
    blocks = -(-size_bytes // block)
    rng = np.random.default_rng(seed)
    truth = np.zeros(blocks, dtype=bool)
    truth[rng.choice(blocks, size=max(1, round(changed_fraction * blocks)), replace=False)] = True
    base = np.frombuffer(rng.bytes(CHUNK_BYTES), dtype=np.uint64)
    old_path, new_path = folder / "old.img", folder / "new.img"
    with old_path.open("wb") as old, new_path.open("wb") as new:
        for start in range(0, size_bytes, CHUNK_BYTES):
            length = min(CHUNK_BYTES, size_bytes - start)
            chunk = base ^ np.uint64(0x9E3779B97F4A7C15 * (start // CHUNK_BYTES + 1) % 2**64)
            data = chunk.view(np.uint8)[:length]
            old.write(data.tobytes())
            first = start // block
            hit = np.flatnonzero(truth[first : first + -(-length // block)])
            spans = np.minimum(block, length - hit * block)
            positions = hit * block + (rng.integers(0, 2**31, size=hit.size) % spans)
            data[positions] ^= 0xFF
            new.write(data.tobytes())
    return old_path, new_path, truth


def plain_read(*paths: Path) -> None:
    buffer = bytearray(READ_BUFFER_BYTES)
    view = memoryview(buffer)
    for path in paths:
        with path.open("rb", buffering=0) as handle:
            while handle.readinto(view):
                pass


def sha256_blocks(*paths: Path) -> None:
    block = DEFAULT_BLOCK_SIZE_BYTES
    buffer = bytearray(READ_BUFFER_BYTES)
    view = memoryview(buffer)
    for path in paths:
        with path.open("rb", buffering=0) as handle:
            while got := handle.readinto(view):
                for at in range(0, got, block):
                    hashlib.sha256(view[at : min(at + block, got)]).digest()


def operations(old: Path, new: Path, saved: Path) -> dict[str, Callable[[], object]]:
    return {
        "manifest": lambda: manifest(new),
        "diff vs manifest": lambda: changed_blocks(new, Manifest.load(saved)),
        "diff of images": lambda: changed_blocks(new, old),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set [MB].

    Linux's ``VmHWM`` where there is one: after a fork and exec, ``ru_maxrss`` also counts the
    parent's resident set at the fork, which would charge the image writer to the child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def child_peak_mb(operation: str, old: Path, new: Path, saved: Path) -> float:
    """Peak RSS [MB] of a fresh process that runs ``operation`` once."""
    command = [sys.executable, __file__, "--peak-of", operation, str(old), str(new), str(saved)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def available_memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def measure(folder: Path, size_gib: float, changed_fraction: float, runs: int) -> None:
    size_bytes = int(size_gib * GIB)
    began = time.perf_counter()
    old, new, truth = write_images(folder, size_bytes, changed_fraction)
    saved = manifest(old).save(folder / "old_manifest.npz")
    plain_read(old, new)  # the images are now page-cached; this reads them once more to be sure
    print(
        f"\n{size_gib:g} GiB images: {truth.size} blocks of "
        f"{DEFAULT_BLOCK_SIZE_BYTES // 1024} KiB, "
        f"{truth.sum()} changed ({100 * truth.mean():.1f}%); written in "
        f"{time.perf_counter() - began:.1f} s; best of {runs}"
    )
    ops = operations(old, new, saved)
    references: dict[str, Callable[[], object]] = {
        "read new": lambda: plain_read(new),
        "read both": lambda: plain_read(new, old),
        "sha256 new": lambda: sha256_blocks(new),
        "sha256 both": lambda: sha256_blocks(new, old),
    }
    best = dict.fromkeys([*references, *ops], float("inf"))
    results: dict[str, object] = {}
    for _ in range(runs):  # rounds interleave every case, so load on the machine hits all alike
        for name, run in [*references.items(), *ops.items()]:
            start = time.perf_counter()
            results[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)
    got, kept = results["manifest"], Manifest.load(saved)
    if not (isinstance(got, Manifest) and np.array_equal(got.checksums != kept.checksums, truth)):
        raise SystemExit("manifest: the checksums do not differ at exactly the changed blocks")
    for name in ("diff vs manifest", "diff of images"):
        if not np.array_equal(results[name], truth):  # type: ignore[arg-type]
            raise SystemExit(f"{name}: found other blocks than the ones changed")

    for name in references:
        gb_s = (2 if "both" in name else 1) * size_bytes / best[name] / 1e9
        print(f"  {name:<17} {best[name]:7.3f} s  {gb_s:6.2f} GB/s")
    idle = child_peak_mb("nothing", old, new, saved)
    print(f"  peak RSS of a process that only imports numpy and vmbackup.blocks: {idle:.1f} MB")
    for name in ops:
        both = name == "diff of images"
        read_ratio = best["read both" if both else "read new"] / best[name]
        sha_ratio = best["sha256 both" if both else "sha256 new"] / best[name]
        peak = child_peak_mb(name, old, new, saved)
        gb_s = (2 if both else 1) * size_bytes / best[name] / 1e9
        peak_goal = (
            f"(goal < {GOAL_PEAK_MB:.0f} MB at {GOAL_PEAK_AT_GIB:g} GiB: "
            f"{verdict(peak < GOAL_PEAK_MB)})"
            if size_gib >= GOAL_PEAK_AT_GIB
            else f"(goal < {GOAL_PEAK_MB:.0f} MB at {GOAL_PEAK_AT_GIB:g} GiB)"
        )
        print(
            f"  {name:<17} {best[name]:7.3f} s  {gb_s:6.2f} GB/s\n"
            f"      {read_ratio:5.2f}x the plain read   (goal >= {GOAL_READ_RATIO}x: "
            f"{verdict(read_ratio >= GOAL_READ_RATIO)})\n"
            f"      {sha_ratio:5.2f}x sha256 per block (goal >= {GOAL_SHA256_RATIO:g}x: "
            f"{verdict(sha_ratio >= GOAL_SHA256_RATIO)})\n"
            f"      peak RSS {peak:6.1f} MB      {peak_goal}"
        )
    for path in (old, new, saved):
        path.unlink()


def parse_sizes(text: str) -> list[float]:
    try:
        sizes = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise SystemExit(f"--sizes={text!r} must be comma-separated GiB, such as 1,4") from error
    if not sizes or min(sizes) <= 0:
        raise SystemExit(f"--sizes={text!r} must list sizes > 0 GiB, such as 1,4")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,4", help="image sizes [GiB], comma-separated")
    parser.add_argument("--changed-percent", type=float, default=3.0, help="blocks changed [%%]")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; the best counts")
    parser.add_argument("--dir", default=None, help="where to write the images (default: TMPDIR)")
    parser.add_argument("--peak-of", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_of:  # child process: run one operation once and print its peak RSS
        name, old, new, saved = args.peak_of
        if name != "nothing":
            operations(Path(old), Path(new), Path(saved))[name]()
        print(f"{peak_rss_mb():.1f}")
        return

    sizes = parse_sizes(args.sizes)
    with tempfile.TemporaryDirectory(prefix="change_detection_", dir=args.dir) as name:
        folder = Path(name)
        free = shutil.disk_usage(folder).free
        memory = available_memory_bytes()
        print(
            f"change detection benchmark in {folder}: {free / GIB:.1f} GiB free on disk, "
            + (f"{memory / GIB:.1f} GiB memory available" if memory else "memory unknown")
        )
        for size_gib in sizes:
            need = 2.05 * size_gib * GIB
            if need > free - GIB:
                print(f"\nskipped {size_gib:g} GiB: two images need {need / GIB:.1f} GiB on disk")
                continue
            if memory is not None and need > memory:
                print(f"\nnote: {size_gib:g} GiB images may not stay page-cached (see above)")
            measure(folder, size_gib, args.changed_percent / 100, args.runs)
    print(f"\nbenchmark process peak RSS {peak_rss_mb():.0f} MB (writing the images)")


if __name__ == "__main__":
    main()
