"""One writer per data directory: a cron run overlapping a manual one waits instead of interleaving."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .errors import StoreError


@contextmanager
def writer_lock(path: Path, *, wait: float = 600.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock file `path` exclusively; wait up to `wait` seconds for another writer, then give up.

    flock is released by the kernel when the holder dies, so a killed run never leaves a stale lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        if not _try_lock(handle):
            holder = _holder(handle)
            if on_wait:
                on_wait(f"waiting for another semdigest process to finish ({holder}) ...")
            deadline = time.monotonic() + wait
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"{path.parent} is in use by another semdigest process ({holder}); try again later"
                    )
                time.sleep(0.2)
        _note_holder(handle)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(handle.fileno(), 0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _note_holder(handle: TextIO) -> None:
    """Who holds the lock, for a second writer's message. Only a courtesy: flock is the lock, so a full
    disk that cannot take these few bytes must not stop the command (its own writes will say so)."""
    note = f"pid {os.getpid()}: {' '.join(os.path.basename(arg) for arg in sys.argv[:3])}\n"
    with contextlib.suppress(OSError):  # unbuffered: nothing is left over for close() to fail on
        os.ftruncate(handle.fileno(), 0)
        os.pwrite(handle.fileno(), note.encode(), 0)


def _try_lock(handle: object) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
    except BlockingIOError:
        return False
    return True


def _holder(handle: object) -> str:
    handle.seek(0)  # type: ignore[attr-defined]
    return handle.read().strip() or "unknown process"  # type: ignore[attr-defined]
