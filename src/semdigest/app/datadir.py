"""The data directory's life: required by the commands that read, made by the first one that stores
something, and its store opened without creating anything a reading command did not ask for.

A store found empty beside an index or digests that hold papers (the database was emptied, or replaced by
a 0-byte file) is refused instead of silently starting over; a store on a read-only filesystem or in an
immutable folder is opened read-only, so that reading still works there.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from ..errors import CannotWrite, DamagedStore, NoDataDirectory, StoreError
from ..faults import recovery
from ..indexes.directory import IndexDir
from ..store import Store


def require_home(settings: Settings) -> None:
    """The data directory must exist, as a folder, for anything but the commands that fill it."""
    root = settings.home
    if root.is_dir():
        return
    if root.exists():
        raise StoreError(f"{root} is a file, not a folder: the data directory must be a folder")
    raise NoDataDirectory(
        f"no data directory at {root} ({settings.home_source}); `semdigest init` makes one,"
        " `semdigest demo` fills one with a sample day"
    )


def make_home(settings: Settings, say: Callable[[str], None]) -> None:
    """Make the data directory if it is missing: its parent folders only for the per-user default (a typo
    in --home is not a reason for `mkdir -p`)."""
    root = settings.home
    if root.is_dir():
        return
    if root.exists():
        require_home(settings)
    parent = root.absolute().parent
    if not settings.home_is_default and not parent.is_dir():
        missing = "is not a folder" if parent.exists() else "does not exist"
        raise StoreError(f"cannot make the data directory {root}: {parent} {missing}")
    root.mkdir(parents=settings.home_is_default)
    say(f"created the data directory {root}" + (f" ({settings.home_source})" if settings.home_is_default else ""))


def open_store(settings: Settings, indexes: IndexDir, *, writing: bool) -> Store:
    """The data directory's store. Not `writing` (no writer lock held): the store must exist already."""
    db = settings.layout.db
    if not writing:
        require_home(settings)
        if not db.exists():
            raise NoDataDirectory(
                f"{settings.home} has no papers yet: `semdigest run` fetches today's listing,"
                " `semdigest ingest FILE` loads a snapshot, `semdigest demo` a sample day"
            )
    try:
        store = Store(db)
    except CannotWrite:
        if writing:
            raise
        store = Store(db, readonly=True)
    if store.is_empty():
        lost = _derived_data(settings, indexes)
        if lost:
            store.close()
            raise DamagedStore(
                f"{db} holds no papers but {lost}: the database was emptied or replaced (a 0-byte file?);"
                f" {recovery(db)}; or move index/ and digests/ aside to start over"
            )
    return store


def _derived_data(settings: Settings, indexes: IndexDir) -> str | None:
    """What in the data directory was made from stored papers, if anything."""
    indexed = indexes.count()
    if indexed:
        return f"the index holds {indexed}"
    digests = settings.layout.digests
    if digests.is_dir() and any(digests.glob("*/*.md")):
        return f"{digests} holds digests"
    return None
