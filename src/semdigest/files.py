"""Atomic file writes: readers see the old file or the new one, never half of one.

A replaced file keeps its mode and a new one gets the umask's (0644 under the usual 022), as a plain
`open()` would: tempfile.mkstemp creates its file 0600, which made every page, feed and topics.toml
private whatever the umask said.
"""

from __future__ import annotations

import mmap
import os
import stat
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

from .errors import IndexProblem


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temp_path)` for a temporary file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        try:
            os.fchmod(handle, _mode_for(path))
        finally:
            os.close(handle)
        write(temp)
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _mode_for(path: Path) -> int:
    """The replaced file's permission bits, else what the umask gives a new file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda temp: _discard(temp.write_text(text, encoding="utf-8")))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda temp: _discard(temp.write_bytes(data)))


def _discard(_: object) -> None:
    """What Path.write_text returns (a count) is not what atomic_write's callback returns."""


def crc32_of(path: Path) -> str:
    """crc32 of a file (~3 GB/s): detects truncation and damage of index files."""
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, 2) == 0:
                return "00000000"
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return f"{zlib.crc32(mapped):08x}"
    except FileNotFoundError:
        raise IndexProblem(f"{path} is missing") from None
