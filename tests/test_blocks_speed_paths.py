"""The fast paths of ``vmbackup.blocks`` (mapped windows, byte comparison of two images) give
exactly what a plain per-block loop gives: the same xxh3 checksums and the same changed blocks,
for files and for every kind of buffer, with short last blocks, grown, shrunk and empty images.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from vmbackup.blocks import Image, Manifest, _source, changed_blocks, manifest

BLOCK = 4096


def reference_checksums(data: bytes, block_size_bytes: int) -> list[int]:
    """One xxh3-64 checksum per block, hashed in a plain loop over the whole bytes."""
    return [
        xxhash.xxh3_64_intdigest(data[at : at + block_size_bytes])
        for at in range(0, len(data), block_size_bytes)
    ]


def reference_changed(new: bytes, old: bytes, block_size_bytes: int) -> list[bool]:
    """Changed blocks by comparing the reference checksums; blocks past the old end changed."""
    now, before = (
        reference_checksums(new, block_size_bytes),
        reference_checksums(old, block_size_bytes),
    )
    return [i >= len(before) or checksum != before[i] for i, checksum in enumerate(now)]


def random_bytes(size_bytes: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size=size_bytes, dtype=np.uint8).tobytes()


def changed_copy(data: bytes, positions: list[int]) -> bytes:
    out = bytearray(data)
    for at in positions:
        out[at % len(out)] ^= 0x5A
    return bytes(out)


def as_path(tmp_path: Path, name: str) -> Callable[[bytes], Path]:
    def write(data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


KINDS: dict[str, Callable[[bytes], Image]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "uint8 array": lambda data: np.frombuffer(data, dtype=np.uint8),
    "read-only slice": lambda data: memoryview(b"xy" + data)[2:],
}

#: Odd sizes: shorter than a block, a short last block of 1 byte and of a block less one byte.
SIZES_BYTES = [1, BLOCK - 1, 5 * BLOCK + 1, 7 * BLOCK + BLOCK - 1, 9 * BLOCK]


@pytest.mark.parametrize("size_bytes", SIZES_BYTES)
@pytest.mark.parametrize("chunk_bytes", [BLOCK, 3 * BLOCK, 1 << 20])
def test_files_and_buffers_give_the_reference_checksums(
    tmp_path: Path, size_bytes: int, chunk_bytes: int
) -> None:
    data = random_bytes(size_bytes, seed=size_bytes)
    expected = reference_checksums(data, BLOCK)
    images: dict[str, Image] = {name: kind(data) for name, kind in KINDS.items()}
    images["file"] = as_path(tmp_path, "disk.img")(data)
    for name, image in images.items():
        got = manifest(image, BLOCK, chunk_bytes=chunk_bytes)
        assert got.checksums.dtype == np.uint64, name
        assert got.checksums.tolist() == expected, name
        assert (got.size_bytes, got.blocks) == (size_bytes, len(expected)), name


def test_arrays_of_wider_types_are_hashed_as_their_raw_bytes() -> None:
    data = random_bytes(6 * BLOCK + 12, seed=3)
    words = np.frombuffer(data, dtype=np.uint32)
    assert manifest(words, BLOCK).checksums.tolist() == reference_checksums(data, BLOCK)
    strided = np.frombuffer(data, dtype=np.uint8)[::2]  # not contiguous: its bytes in order
    assert manifest(strided, BLOCK).checksums.tolist() == reference_checksums(
        strided.tobytes(), BLOCK
    )


def test_small_blocks_in_windows_of_the_mmap_granularity(tmp_path: Path) -> None:
    """512-byte blocks: a file window is widened to whole pages of the mmap offset granularity."""
    data = random_bytes(3 * mmap.ALLOCATIONGRANULARITY + 700, seed=4)
    path = as_path(tmp_path, "small.img")(data)
    for chunk_bytes in (512, 1536, mmap.ALLOCATIONGRANULARITY + 512):
        got = manifest(path, 512, chunk_bytes=chunk_bytes)
        assert got.checksums.tolist() == reference_checksums(data, 512)


def test_a_file_is_hashed_from_mapped_pages_not_read_into_bytes(tmp_path: Path) -> None:
    path = as_path(tmp_path, "disk.img")(random_bytes(3 * BLOCK, seed=5))
    with _source(path) as source:
        window = source.window(BLOCK, BLOCK)
        assert isinstance(window.obj, mmap.mmap)
        assert window.readonly
        assert bytes(window) == path.read_bytes()[BLOCK : 2 * BLOCK]
        del window


# Old and new sizes: same size, a short last block changed alone, grown, shrunk, grown by less
# than a block, and both with short last blocks of different lengths.
PAIRS_BYTES = [
    (8 * BLOCK, 8 * BLOCK),
    (8 * BLOCK + 100, 8 * BLOCK + 100),
    (6 * BLOCK, 9 * BLOCK + 17),
    (9 * BLOCK + 17, 6 * BLOCK),
    (6 * BLOCK, 6 * BLOCK + 10),
    (6 * BLOCK + 300, 6 * BLOCK + 10),
]


@pytest.mark.parametrize(("old_bytes", "new_bytes"), PAIRS_BYTES)
@pytest.mark.parametrize("chunk_bytes", [BLOCK, 2 * BLOCK, 1 << 20])
def test_image_and_manifest_diffs_match_the_reference(
    tmp_path: Path, old_bytes: int, new_bytes: int, chunk_bytes: int
) -> None:
    base = random_bytes(max(old_bytes, new_bytes), seed=old_bytes + new_bytes)
    old = base[:old_bytes]
    new = changed_copy(base[:new_bytes], [7, 2 * BLOCK + 5, 2 * BLOCK + 9, new_bytes - 1])
    expected = reference_changed(new, old, BLOCK)
    assert any(expected)
    assert not all(expected)
    old_path = as_path(tmp_path, "old.img")(old)
    new_path = as_path(tmp_path, "new.img")(new)
    kept = Manifest.load(manifest(old_path, BLOCK).save(tmp_path / "old.npz"))
    pairs: list[tuple[Image, Image]] = [
        (new_path, old_path),
        (new, old),
        (new_path, bytearray(old)),
    ]
    for new_image, old_image in pairs:
        by_images = changed_blocks(
            new_image, old_image, block_size_bytes=BLOCK, chunk_bytes=chunk_bytes
        )
        by_manifest = changed_blocks(new_image, kept, chunk_bytes=chunk_bytes)
        assert by_images.dtype == bool
        assert by_images.tolist() == expected
        assert by_manifest.tolist() == expected


def test_identical_images_have_no_changed_blocks(tmp_path: Path) -> None:
    data = random_bytes(5 * BLOCK + 3, seed=6)
    path = as_path(tmp_path, "disk.img")(data)
    assert not changed_blocks(path, data, block_size_bytes=BLOCK).any()
    assert not changed_blocks(np.frombuffer(data, np.uint8), manifest(path, BLOCK)).any()


def test_empty_files_and_buffers(tmp_path: Path) -> None:
    """mmap refuses a zero-length file: an empty image has no blocks, and is no error."""
    empty = as_path(tmp_path, "empty.img")(b"")
    data = random_bytes(2 * BLOCK + 1, seed=7)
    full = as_path(tmp_path, "full.img")(data)
    empties: list[Image] = [empty, b"", np.zeros(0, dtype=np.uint8)]
    for image in empties:
        got = manifest(image, BLOCK)
        assert (got.blocks, got.size_bytes, got.checksums.dtype) == (0, 0, np.dtype(np.uint64))
        assert changed_blocks(image, full, block_size_bytes=BLOCK).tolist() == []
        assert changed_blocks(full, image, block_size_bytes=BLOCK).tolist() == [True] * 3
        assert changed_blocks(full, manifest(image, BLOCK)).tolist() == [True] * 3
    assert changed_blocks(empty, empty, block_size_bytes=BLOCK).tolist() == []
    with _source(empty) as source:
        assert (source.size_bytes, bytes(source.window(0, 0))) == (0, b"")
    saved = Manifest.load(manifest(empty, BLOCK).save(tmp_path / "empty.npz"))
    assert (saved.blocks, saved.size_bytes) == (0, 0)


@settings(max_examples=60, deadline=None)
@given(
    old_bytes=st.integers(0, 12 * 512),
    new_bytes=st.integers(0, 12 * 512),
    flips=st.lists(st.integers(0, 12 * 512), max_size=6),
    chunk_blocks=st.integers(1, 20),
)
def test_any_sizes_and_changes_match_the_reference(
    old_bytes: int, new_bytes: int, flips: list[int], chunk_blocks: int
) -> None:
    base = random_bytes(max(old_bytes, new_bytes, 1), seed=old_bytes)
    old = base[:old_bytes]
    new = changed_copy(base[:new_bytes], flips) if new_bytes else b""
    chunk_bytes = chunk_blocks * 512
    expected = reference_changed(new, old, 512)
    assert manifest(new, 512, chunk_bytes=chunk_bytes).checksums.tolist() == (
        reference_checksums(new, 512)
    )
    by_images = changed_blocks(new, old, block_size_bytes=512, chunk_bytes=chunk_bytes)
    by_manifest = changed_blocks(new, manifest(old, 512), chunk_bytes=chunk_bytes)
    assert by_images.tolist() == expected
    assert by_manifest.tolist() == expected
