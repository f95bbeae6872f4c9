"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one.

The bytes go to a hidden temporary name in the same folder, are fsynced, then renamed over the
final name (rename is atomic within a file system) and the folder is fsynced so the rename itself
survives a crash. A process killed mid-write leaves only a hidden `.*.partial` file, which the
next export of that folder removes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PARTIAL_SUFFIX = ".partial"


class HashingWriter:
    """A binary file wrapper that keeps the SHA-256 and size of everything written through it."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write and hash a chunk."""
        self._digest.update(data)
        self.size += len(data)
        return self._handle.write(data)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes written so far."""
        return self._digest.hexdigest()


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def partial_path(final: Path) -> Path:
    """The hidden temporary name a file is written under before the rename."""
    return final.with_name(f".{final.name}.{os.getpid()}{PARTIAL_SUFFIX}")


@contextlib.contextmanager
def atomic_writer(final: Path) -> Iterator[HashingWriter]:
    """Yield a hashing writer; on success the file appears complete under `final`, on error nothing does."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = partial_path(final)
    try:
        with open(temporary, "wb") as handle:
            writer = HashingWriter(handle)
            yield writer
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        _fsync_folder(final.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(final: Path, data: bytes) -> str:
    """Write bytes atomically; returns their SHA-256."""
    with atomic_writer(final) as writer:
        writer.write(data)
    return writer.sha256


def remove_partials(folder: Path) -> list[Path]:
    """Delete temporary files a killed export left behind; returns what was removed."""
    if not folder.is_dir():
        return []
    leftovers = sorted(folder.glob(f".*{PARTIAL_SUFFIX}"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return leftovers


def sha256_of(path: Path) -> str:
    """SHA-256 of a file on disk, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
