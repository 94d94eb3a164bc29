"""Changed-block detection over real bytes (items S10, S16).

The service finds what to send in an incremental backup by checksumming each block of the disk
and comparing with the previous backup's checksums (S10). This module does the same on disk
images: a :class:`Manifest` holds one 64-bit xxh3 checksum per block; :func:`changed_blocks`
compares a new image with a manifest (one read of the new image) or with the old image;
:func:`extents` coalesces changed blocks into contiguous runs, and :func:`fragmentation`
measures how scattered they are (S16: scattered changes back up more slowly).

Images are read in chunks of ``chunk_bytes``, so memory stays bounded however large the image.
An image is a file path, a bytes-like buffer, or a numpy array (its raw bytes).

This is a model of the source of changes, not of Azure's exact block size: the service's block
size is not published, so ``block_size_bytes`` is a parameter (default 64 KiB, an assumption).

Note: this module reads image files given by the caller, as its subject is bytes on disk;
``vmbackup.data`` remains the reader of the project's datasets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xxhash

__all__ = [
    "DEFAULT_BLOCK_SIZE_BYTES",
    "Manifest",
    "changed_blocks",
    "extents",
    "fragmentation",
    "manifest",
]

#: Assumption: change-tracking block size [bytes] (the service does not publish its own).
DEFAULT_BLOCK_SIZE_BYTES = 64 * 1024
#: How much of an image is held in memory at once [bytes].
DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024

Image = str | os.PathLike[str] | bytes | bytearray | memoryview | npt.NDArray[np.generic]


def _check_block_size(block_size_bytes: int) -> int:
    if not (isinstance(block_size_bytes, int | np.integer) and block_size_bytes >= 512):
        raise ValueError(f"block_size_bytes={block_size_bytes!r} must be a whole number >= 512")
    if block_size_bytes & (block_size_bytes - 1):
        raise ValueError(f"block_size_bytes={block_size_bytes!r} must be a power of two")
    return int(block_size_bytes)


def _chunks(image: Image, block_size_bytes: int, chunk_bytes: int) -> Iterator[memoryview]:
    """Yield the image in pieces that hold whole blocks (the last may be short)."""
    step = max(block_size_bytes, chunk_bytes - chunk_bytes % block_size_bytes)
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"image={str(path)!r} is not a file")
        with path.open("rb") as handle:
            while piece := handle.read(step):
                yield memoryview(piece)
        return
    if isinstance(image, np.ndarray):
        buffer = np.ascontiguousarray(image).data.cast("B")
    elif isinstance(image, bytes | bytearray | memoryview):
        buffer = memoryview(image).cast("B")
    else:
        raise ValueError(
            f"image of type {type(image).__name__} is not a path, a bytes-like buffer or an array"
        )
    for offset in range(0, len(buffer), step):
        yield buffer[offset : offset + step]


def _hash_blocks(piece: memoryview, block_size_bytes: int) -> npt.NDArray[np.uint64]:
    count = -(-len(piece) // block_size_bytes)
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter(
        (digest(piece[i * block_size_bytes : (i + 1) * block_size_bytes]) for i in range(count)),
        dtype=np.uint64,
        count=count,
    )


@dataclass(frozen=True)
class Manifest:
    """The per-block checksums of one image, as kept from the previous backup.

    Attributes
    ----------
    block_size_bytes
        Block size [bytes].
    size_bytes
        Image size [bytes].
    checksums
        One xxh3-64 checksum per block (the last block may be short).
    """

    block_size_bytes: int
    size_bytes: int
    checksums: npt.NDArray[np.uint64]

    @property
    def blocks(self) -> int:
        """Number of blocks."""
        return int(self.checksums.size)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the manifest to ``path`` (numpy ``.npz``); return the path written."""
        target = Path(path)
        with target.open("wb") as handle:
            np.savez(
                handle,
                block_size_bytes=self.block_size_bytes,
                size_bytes=self.size_bytes,
                checksums=self.checksums,
            )
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read a manifest written by :meth:`save`; ValueError if the file is not one."""
        try:
            with np.load(Path(path)) as stored:
                return cls(
                    block_size_bytes=int(stored["block_size_bytes"]),
                    size_bytes=int(stored["size_bytes"]),
                    checksums=stored["checksums"].astype(np.uint64),
                )
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(
                f"path={str(path)!r} is not a saved block manifest ({error})"
            ) from error


def manifest(
    image: Image,
    block_size_bytes: int = DEFAULT_BLOCK_SIZE_BYTES,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Manifest:
    """Checksum every block of ``image`` (S10), reading it in chunks.

    >>> m = manifest(bytes(200_000), block_size_bytes=65536)
    >>> m.blocks, m.size_bytes
    (4, 200000)
    """
    size = _check_block_size(block_size_bytes)
    parts, total = [], 0
    for piece in _chunks(image, size, chunk_bytes):
        parts.append(_hash_blocks(piece, size))
        total += len(piece)
    sums = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    return Manifest(block_size_bytes=size, size_bytes=total, checksums=sums)


def changed_blocks(
    new_image: Image,
    previous: Manifest | Image,
    *,
    block_size_bytes: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> npt.NDArray[np.bool_]:
    """Which blocks of ``new_image`` differ from the previous backup (S10).

    Parameters
    ----------
    new_image
        The image now.
    previous
        The previous backup's :class:`Manifest` (the new image is read once), or the previous
        image itself (both are read, chunk by chunk).
    block_size_bytes
        Needed only when ``previous`` is an image (default 64 KiB); a manifest brings its own.

    Returns
    -------
    numpy.ndarray
        One boolean per block of the new image: True where the block changed. Blocks beyond the
        end of the previous image (the disk grew) count as changed.

    Examples
    --------
    >>> old = bytes(4 * 4096)
    >>> new = bytearray(old); new[5000] = 1
    >>> changed_blocks(bytes(new), old, block_size_bytes=4096).tolist()
    [False, True, False, False]
    """
    if isinstance(previous, Manifest):
        if block_size_bytes is not None and block_size_bytes != previous.block_size_bytes:
            raise ValueError(
                f"block_size_bytes={block_size_bytes} differs from the manifest's "
                f"{previous.block_size_bytes}"
            )
        reference = previous
    else:
        reference = manifest(
            previous, block_size_bytes or DEFAULT_BLOCK_SIZE_BYTES, chunk_bytes=chunk_bytes
        )
    now = manifest(new_image, reference.block_size_bytes, chunk_bytes=chunk_bytes)
    common = min(now.blocks, reference.blocks)
    changed = np.ones(now.blocks, dtype=bool)
    changed[:common] = now.checksums[:common] != reference.checksums[:common]
    return changed


def extents(changed: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Coalesce changed blocks into contiguous runs.

    Parameters
    ----------
    changed
        A boolean mask per block (as from :func:`changed_blocks`), or sorted block indices.

    Returns
    -------
    numpy.ndarray
        Shape (n_extents, 2): first block and length of each run.

    >>> extents([True, True, False, True, False, False, True, True, True]).tolist()
    [[0, 2], [3, 1], [6, 3]]
    """
    values = np.asarray(changed)
    if values.dtype == bool:
        padded = np.concatenate(([False], values, [False])).astype(np.int8)
        edges = np.diff(padded)
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
    else:
        blocks = np.unique(values.astype(np.int64))
        if blocks.size and blocks[0] < 0:
            raise ValueError(f"block indices must be >= 0; found {blocks[0]}")
        if blocks.size == 0:
            return np.zeros((0, 2), dtype=np.int64)
        breaks = np.flatnonzero(np.diff(blocks) != 1) + 1
        starts = blocks[np.concatenate(([0], breaks))]
        ends = blocks[np.concatenate((breaks - 1, [blocks.size - 1]))] + 1
    return np.column_stack((starts, ends - starts)).astype(np.int64)


def fragmentation(runs: npt.ArrayLike) -> float:
    """How scattered the changes are: 0 for one contiguous run, 1 when no two changed blocks
    touch: ``(extents - 1) / (changed blocks - 1)``.

    >>> fragmentation([[0, 8]]), fragmentation([[0, 1], [5, 1], [9, 1]])
    (0.0, 1.0)
    """
    table = np.asarray(runs, dtype=np.int64).reshape(-1, 2)
    blocks = int(table[:, 1].sum())
    if blocks <= 1:
        return 0.0
    return (table.shape[0] - 1) / (blocks - 1)
