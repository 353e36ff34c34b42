"""Real filesystems with real limits, for the tests of a hostile environment: a small tmpfs that fills up,
a read-only mount, an immutable file. They need root (mount, chattr), as developers and CI have here:
as root, `chmod` would stop nothing, so these are the only honest ways to make a write fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def _require_root() -> None:
    assert os.geteuid() == 0, "these tests mount filesystems and set chattr +i: run them as root (as CI does)"


@contextmanager
def small_disk(path: Path, *, contents: Path | None = None, spare: int = 0) -> Iterator[Path]:
    """A tmpfs at `path`, holding a copy of `contents` (symlinks kept as links) and `spare` bytes more."""
    _require_root()
    path.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", str(path))
    try:
        if contents is not None:
            shutil.copytree(contents, path / contents.name, symlinks=True)
        resize(path, used(path) + spare)
        yield path
    finally:
        _run("umount", "-l", str(path))


def used(path: Path) -> int:
    stats = os.statvfs(path)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def resize(path: Path, size: int) -> None:
    """Grow or shrink a tmpfs made by small_disk (never below what it holds)."""
    _run("mount", "-o", f"remount,size={max(size, 4096)}", str(path))


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` itself, bind-mounted read-only over itself: every write under it fails with EROFS."""
    _require_root()
    _run("mount", "--bind", str(path), str(path))
    try:
        _run("mount", "-o", "remount,bind,ro", str(path))
        yield path
    finally:
        _run("umount", "-l", str(path))


@contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """chattr +i: not even root may change, replace or delete the file (or add to the folder)."""
    _require_root()
    _run("chattr", "+i", str(path))
    try:
        yield path
    finally:
        _run("chattr", "-i", str(path))
