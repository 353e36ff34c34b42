"""What the environment does to a run, as one-line SemdigestErrors that say what to do: a full disk, a
read-only filesystem, an immutable file, missing permissions, a damaged SQLite database.

The store turns every sqlite3.DatabaseError into one of these (naming the database file), and the Home
turns an OSError that escapes a write into CannotWrite: a user sees `error: ...`, never a traceback.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import CannotWrite, DamagedStore, SemdigestError, StoreError

F = TypeVar("F", bound=Callable[..., Any])

_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run the command again (finished work is kept)",
    errno.EDQUOT: "the disk quota is used up: free some space and run the command again (finished work is kept)",
    errno.EFBIG: "the file grew past the size this process may write (ulimit -f)",
    errno.EROFS: "the filesystem is read-only",
    errno.EPERM: "not permitted (an immutable file or folder? `lsattr` shows the i flag)",
    errno.EACCES: "permission denied",
    errno.ENOTDIR: "a file stands where a folder is needed",
    errno.EISDIR: "a folder stands where a file is needed",
    errno.ENAMETOOLONG: "the file name is too long",
}

# SQLite's primary result codes (https://sqlite.org/rescode.html)
_SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 5, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26


_WRITING = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def os_problem(error: OSError) -> CannotWrite:
    """An OSError from the environment, as one line naming the file and what to do."""
    hint = _HINTS.get(error.errno or 0, error.strerror or str(error))
    where = error.filename2 or error.filename  # a rename names its destination second
    if error.errno in _WRITING:
        return CannotWrite(f"cannot write {where or 'a file'}: {hint}")
    return CannotWrite(f"{where}: {hint}" if where else hint)


def recovery(path: Path) -> str:
    """How to get a working store back from a damaged one."""
    return (
        f"restore it from a backup, or save what is readable (`sqlite3 {path} .recover | sqlite3 recovered.db`)"
        " and put that in its place, or start a fresh data directory (semdigest --home NEW fetch / ingest FILE)"
    )


def database_problem(path: Path, error: sqlite3.DatabaseError) -> SemdigestError:
    """A sqlite3.DatabaseError, as one line naming the database file and the way out."""
    code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in reason or "not a database" in reason:
        return DamagedStore(f"{path} is damaged ({reason}): {recovery(path)}")
    if code == _SQLITE_FULL:
        return CannotWrite(f"cannot write {path}: {_HINTS[errno.ENOSPC]}")
    if code == _SQLITE_READONLY:
        return CannotWrite(f"cannot write {path}: it is read-only ({reason})")
    if code == _SQLITE_IOERR:
        return CannotWrite(f"cannot read or write {path}: {reason} (a full disk, or a failing one)")
    if code == _SQLITE_CANTOPEN:
        return CannotWrite(f"cannot open {path}: {reason} (its folder must be writable)")
    if code == _SQLITE_BUSY:
        return StoreError(f"{path} is busy: another process holds it ({reason}); try again later")
    return StoreError(f"{path}: {reason}")


# --- the store's guard: every public method of a class with a `path` (or a `store` with one) ------------


class BadValue(ValueError):
    """A stored value that cannot be what semdigest wrote: the file was damaged or edited by hand."""


def guard_database_errors(cls: type) -> type:
    """Wrap every public method (and __init__, __enter__, __exit__) of `cls` in `_guarded`."""
    for name, value in list(vars(cls).items()):
        if callable(value) and (not name.startswith("_") or name in ("__init__", "__enter__", "__exit__")):
            setattr(cls, name, _guarded(value))
    return cls


def _guarded(method: F) -> F:
    """SQLite's and the stored values' failures as one line naming the database; a bug's (ProgrammingError:
    a closed connection, a wrong number of parameters) stay as they are."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError as error:
            raise database_problem(_path_of(self), error) from None
        except BadValue as error:
            path = _path_of(self)
            raise DamagedStore(f"{path} is damaged ({error}): {recovery(path)}") from None

    return guarded  # type: ignore[return-value]


def _path_of(owner: Any) -> Path:
    return owner.path if hasattr(owner, "path") else owner.store.path


def stored_day(text: object) -> date:
    """A stored day: only `YYYY-MM-DD` (a day like `z/../../x` must never reach a path built from it)."""
    if not isinstance(text, str) or len(text) != 10:
        raise BadValue(f"{text!r} is stored where a day belongs")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{text!r} is stored where a day belongs") from None


def sound_vectors(blobs: Sequence[bytes], size: int) -> list[bool]:
    """Which blobs are finite float32 unit vectors of `size` bytes (the embedding cache holds L2-normalised
    vectors only; a flipped bit makes NaN, a cut one a wrong length)."""
    if not blobs:
        return []
    sound = [len(blob) == size and size > 0 and size % 4 == 0 for blob in blobs]
    rows = [i for i, ok in enumerate(sound) if ok]
    if rows:
        matrix = np.frombuffer(b"".join(blobs[i] for i in rows), dtype=np.float32).reshape(len(rows), -1)
        with np.errstate(all="ignore"):
            norms = np.einsum("ij,ij->i", matrix, matrix)
            good = np.isfinite(matrix).all(axis=1) & (np.abs(norms - 1.0) < 2e-3)
        for i, ok in zip(rows, good.tolist()):
            sound[i] = ok
    return sound
