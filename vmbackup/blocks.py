"""Changed-block detection over real bytes (items S10, S16).

The service finds what to send in an incremental backup by checksumming each block of the disk
and comparing with the previous backup's checksums (S10). This module does the same on disk
images: a :class:`Manifest` holds one 64-bit xxh3 checksum per block; :func:`changed_blocks`
compares a new image with a manifest (one read of the new image) or with the old image;
:func:`extents` coalesces changed blocks into contiguous runs, and :func:`fragmentation`
measures how scattered they are (S16: scattered changes back up more slowly).

An image is a file path, a bytes-like buffer, or a numpy array (its raw bytes). A file is mapped
into memory one window of ``chunk_bytes`` at a time and each block is hashed straight from the
mapped pages, so no bytes are copied and memory stays bounded however large the image; a buffer
is hashed in place. Two images are compared byte for byte with numpy on the mapped windows,
without hashing either. Either way the work runs at about the speed of memory (see
``benchmarks/change_detection.py``).

This is a model of the source of changes, not of Azure's exact block size: the service's block
size is not published, so ``block_size_bytes`` is a parameter (default 64 KiB, an assumption).

Note: this module reads image files given by the caller, as its subject is bytes on disk;
``vmbackup.data`` remains the reader of the project's datasets. A file must not shrink while it
is being read (a mapped page past the new end of the file stops the process with SIGBUS).
"""

from __future__ import annotations

import mmap
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
#: How much of an image is mapped (or compared) at once [bytes].
DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024

Image = str | os.PathLike[str] | bytes | bytearray | memoryview | npt.NDArray[np.generic]


def _check_block_size(block_size_bytes: int) -> int:
    if not (isinstance(block_size_bytes, int | np.integer) and block_size_bytes >= 512):
        raise ValueError(f"block_size_bytes={block_size_bytes!r} must be a whole number >= 512")
    if block_size_bytes & (block_size_bytes - 1):
        raise ValueError(f"block_size_bytes={block_size_bytes!r} must be a power of two")
    return int(block_size_bytes)


def _step_bytes(block_size_bytes: int, chunk_bytes: int) -> int:
    """Window length [bytes]: whole blocks, and a multiple of the mmap offset granularity."""
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int | np.integer):
        raise ValueError(f"chunk_bytes={chunk_bytes!r:.40} must be a whole number of bytes")
    if not 1 <= chunk_bytes <= 2**34:
        raise ValueError(f"chunk_bytes={chunk_bytes!r} must be between 1 and 2**34 bytes")
    unit = max(block_size_bytes, mmap.ALLOCATIONGRANULARITY)
    return max(unit, int(chunk_bytes) - int(chunk_bytes) % unit)


class _Source:
    """An image's bytes, handed out as read-only windows (mapped pages or buffer slices)."""

    def __init__(self, size_bytes: int, buffer: memoryview | None, fileno: int | None) -> None:
        self.size_bytes = size_bytes
        self._buffer = buffer
        self._fileno = fileno

    def window(self, offset_bytes: int, length_bytes: int) -> memoryview:
        """The bytes ``[offset, offset + length)``; a file window is unmapped when dropped."""
        if self._buffer is not None:
            return self._buffer[offset_bytes : offset_bytes + length_bytes]
        if length_bytes == 0:  # mmap refuses a zero-length mapping (an empty file)
            return memoryview(b"")
        assert self._fileno is not None
        mapped = mmap.mmap(self._fileno, length_bytes, access=mmap.ACCESS_READ, offset=offset_bytes)
        return memoryview(mapped)


@contextmanager
def _source(image: Image) -> Iterator[_Source]:
    """Open ``image`` for reading: a file is kept open (and mapped window by window)."""
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"image={str(path)!r} is not a file")
        with path.open("rb", buffering=0) as handle:
            yield _Source(os.fstat(handle.fileno()).st_size, None, handle.fileno())
        return
    if isinstance(image, np.ndarray):
        buffer = np.ascontiguousarray(image).data.cast("B")
    elif isinstance(image, bytes | bytearray | memoryview):
        buffer = memoryview(image).cast("B")
    else:
        raise ValueError(
            f"image of type {type(image).__name__} is not a path, a bytes-like buffer or an array"
        )
    yield _Source(len(buffer), buffer, None)


def _blocks(size_bytes: int, block_size_bytes: int) -> int:
    return -(-size_bytes // block_size_bytes)


def _hash_blocks(window: memoryview, block_size_bytes: int, out: npt.NDArray[np.uint64]) -> None:
    """Write the xxh3-64 checksum of each block of ``window`` (the last may be short) to ``out``.

    One call per block on a slice of the window: no bytes are copied. xxhash keeps the GIL for
    inputs up to 64 KiB, so threads would not run these calls in parallel at the default block
    size, and one thread already hashes at about the speed of memory.
    """
    digest = xxhash.xxh3_64_intdigest
    out[:] = np.fromiter(
        (
            digest(window[at : at + block_size_bytes])
            for at in range(0, len(window), block_size_bytes)
        ),
        dtype=np.uint64,
        count=out.size,
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
            with Path(path).open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
                block_size = int(stored["block_size_bytes"])
                size = int(stored["size_bytes"])
                checksums = np.asarray(stored["checksums"])
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, TypeError) as error:
            raise ValueError(
                f"path={str(path)!r} is not a saved block manifest ({type(error).__name__}: "
                f"{error})"
            ) from None
        try:
            _check_block_size(block_size)
        except ValueError as error:
            raise ValueError(f"path={str(path)!r}: {error}") from None
        expected = -(-size // block_size) if size >= 0 else -1
        if checksums.ndim != 1 or checksums.dtype.kind not in "ui" or checksums.size != expected:
            raise ValueError(
                f"path={str(path)!r}: size_bytes={size} at block_size_bytes={block_size} needs "
                f"{max(expected, 0)} checksums, found {checksums.size} of type {checksums.dtype}"
            )
        return cls(
            block_size_bytes=block_size, size_bytes=size, checksums=checksums.astype(np.uint64)
        )


def manifest(
    image: Image,
    block_size_bytes: int = DEFAULT_BLOCK_SIZE_BYTES,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Manifest:
    """Checksum every block of ``image`` (S10), one mapped window at a time.

    Parameters
    ----------
    image
        A file path, a bytes-like buffer or a numpy array (its raw bytes).
    block_size_bytes
        Block size [bytes]: a power of two, at least 512.
    chunk_bytes
        How much of a file is mapped at once [bytes] (rounded to whole blocks).

    Returns
    -------
    Manifest
        One xxh3-64 checksum per block; the last block may be short.

    Examples
    --------
    >>> m = manifest(bytes(200_000), block_size_bytes=65536)
    >>> m.blocks, m.size_bytes
    (4, 200000)
    """
    size = _check_block_size(block_size_bytes)
    step = _step_bytes(size, chunk_bytes)
    with _source(image) as source:
        total = source.size_bytes
        sums = np.empty(_blocks(total, size), dtype=np.uint64)
        for offset in range(0, total, step):
            window = source.window(offset, min(step, total - offset))
            first = offset // size
            _hash_blocks(window, size, sums[first : first + _blocks(len(window), size)])
            del window  # unmaps a file window before the next one is mapped
    return Manifest(block_size_bytes=size, size_bytes=total, checksums=sums)


def _compare_images(
    new_image: Image, old_image: Image, block_size_bytes: int, chunk_bytes: int
) -> npt.NDArray[np.bool_]:
    """Changed blocks of ``new_image`` against ``old_image``, comparing bytes with numpy.

    A block is unchanged when both images hold it whole or with the same length, byte for byte;
    this is what equal checksums mean, without a hash's (2**-64) chance of a collision.
    """
    size = block_size_bytes
    step = _step_bytes(size, chunk_bytes)
    with _source(new_image) as new, _source(old_image) as old:
        changed = np.ones(_blocks(new.size_bytes, size), dtype=bool)
        # Bytes held by both images in blocks of the same length in each.
        same_length = min(new.size_bytes, old.size_bytes)
        if new.size_bytes != old.size_bytes:
            same_length -= same_length % size
        words = size // 8
        for offset in range(0, same_length, step):
            length = min(step, same_length - offset)
            whole = length - length % size
            a, b = new.window(offset, length), old.window(offset, length)
            first = offset // size
            if whole:
                x = np.frombuffer(a, dtype=np.uint64, count=whole // 8).reshape(-1, words)
                y = np.frombuffer(b, dtype=np.uint64, count=whole // 8).reshape(-1, words)
                np.any(x != y, axis=1, out=changed[first : first + whole // size])
                del x, y
            if whole < length:  # the last block, short and of the same length in both
                changed[first + whole // size] = bytes(a[whole:]) != bytes(b[whole:])
            del a, b  # unmaps file windows before the next ones are mapped
    return changed


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
        The previous backup's :class:`Manifest` (the new image is read once and hashed), or the
        previous image itself (both are read and compared byte for byte, window by window).
    block_size_bytes
        Block size [bytes], needed only when ``previous`` is an image (default 64 KiB); a
        manifest brings its own.
    chunk_bytes
        How much of each file is mapped at once [bytes].

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
        size = _check_block_size(block_size_bytes or DEFAULT_BLOCK_SIZE_BYTES)
        return _compare_images(new_image, previous, size, chunk_bytes)
    now = manifest(new_image, reference.block_size_bytes, chunk_bytes=chunk_bytes)
    common = min(now.blocks, reference.blocks)
    changed = np.ones(now.blocks, dtype=bool)
    changed[:common] = now.checksums[:common] != reference.checksums[:common]
    return changed


def _integers(field: str, values: object, allow_bool: bool = False) -> npt.NDArray[Any]:
    """``values`` as an integer (or, if allowed, boolean) array; ValueError otherwise."""
    if isinstance(values, str | bytes | dict) or values is None:
        raise ValueError(f"{field}={values!r:.60} must be a list of block indices or a mask")
    try:
        array = np.asarray(values)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{field}={values!r:.60} must be a list of block numbers") from None
    if array.dtype == bool and allow_bool:
        return array
    if array.size == 0:
        return np.zeros(array.shape, dtype=np.int64)
    if array.dtype.kind not in "iu" or (array.dtype == np.uint64 and array.max() > 2**62):
        raise ValueError(f"{field}={values!r:.60} must hold whole block numbers")
    return array.astype(np.int64)


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
    values = _integers("changed", changed, allow_bool=True)
    if values.ndim != 1:
        raise ValueError(f"changed has shape {values.shape}; give a 1-D mask or list of indices")
    if values.dtype == bool:
        padded = np.concatenate(([False], values, [False])).astype(np.int8)
        edges = np.diff(padded)
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
    else:
        blocks = np.unique(values.astype(np.int64))
        if blocks.size and blocks[0] < 0:
            raise ValueError(f"changed: block indices must be >= 0; found {blocks[0]}")
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
    table = _integers("runs", runs)
    if table.size % 2 or (table.ndim == 2 and table.shape[1] != 2) or table.ndim > 2:
        raise ValueError(f"runs has shape {table.shape}; give (first block, length) pairs")
    table = table.reshape(-1, 2)
    if (table < 0).any():
        raise ValueError(f"runs hold {table.min()}; first blocks and lengths are >= 0")
    blocks = int(table[:, 1].sum())
    if blocks <= 1:
        return 0.0
    return (table.shape[0] - 1) / (blocks - 1)
