"""The manifest of one index generation: every file the indexes consist of, and what verifies each one.

It is written last, after every file of the generation is complete and synced, and no file of a generation
changes after that (only the manifest's stamps may be renewed, see `restamp`): a file that no longer
matches its record was damaged. Verification is in proportion to a file's cost:

- full (`semdigest index`, `semdigest check`): the crc32 of every file (~30 ms for a 120 MB FAISS file);
- quick (every reader's open): files up to WHOLE_LIMIT still whole (at 78k papers the FAISS state, the
  BM25 vocabulary and offsets); a larger file by its size, the crc32 of BLOCKS fixed blocks (its header
  and its end among them), and its stamp, the [mtime, ctime] it had when the manifest was written.
  Writing into a file changes its ctime, and so does setting its mtime back (`os.utime`), so bytes that a
  program overwrote, whatever it did to the mtime, make the file be checked whole. Damage beneath the
  filesystem (a failing disk) keeps the stamp: the sampled blocks and the checks of what a query reads
  (vectors.py, lexical.py) catch part of it, `semdigest check` all of it.

A copied data directory (a backup, a CI cache) has new stamps, so its large files are checked whole on
every open until `semdigest index` finds them whole and records the new stamps.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..errors import IndexDamaged
from ..files import atomic_write_text, crc32_of

MANIFEST = "MANIFEST.json"
FORMAT = 1
WHOLE_LIMIT = 4 << 20  # bytes: a file this small is checked whole on every open
BLOCK, BLOCKS = 4096, 16


@dataclass(frozen=True)
class FileRecord:
    size: int
    crc32: str  # of the whole file
    blocks: list[str]  # crc32 of each sampled block (files over WHOLE_LIMIT)
    stamp: list[int]  # [mtime_ns, ctime_ns] when the manifest was written


@dataclass(frozen=True)
class Manifest:
    model: str  # whose vectors the generation holds
    files: dict[str, FileRecord]  # path relative to the generation -> its record
    format: int = FORMAT


def write(generation: Path, model: str) -> Manifest:
    """Record every file under `generation` (their writes finished and synced); written last."""
    files = {str(path.relative_to(generation)): _record(path) for path in _files(generation)}
    manifest = Manifest(model, files)
    atomic_write_text(generation / MANIFEST, json.dumps(asdict(manifest), indent=1) + "\n")
    return manifest


def restamp(generation: Path, manifest: Manifest) -> None:
    """Record the files' current stamps, once a full check has found them whole (a copied directory)."""
    files = {name: replace(record, stamp=_stamp(generation / name)) for name, record in manifest.files.items()}
    if files != manifest.files:
        atomic_write_text(generation / MANIFEST, json.dumps(asdict(replace(manifest, files=files)), indent=1) + "\n")


def read(generation: Path) -> Manifest:
    path = generation / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        files = {name: FileRecord(**record) for name, record in raw["files"].items()}
        manifest = Manifest(raw["model"], files, raw["format"])
    except FileNotFoundError:
        raise IndexDamaged(f"{path} is missing") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise IndexDamaged(f"{path} is damaged ({type(error).__name__}: {str(error)[:100]})") from None
    if manifest.format != FORMAT:
        raise IndexDamaged(f"{path} has format {manifest.format}, this semdigest reads {FORMAT}")
    return manifest


def problems(generation: Path, manifest: Manifest, *, full: bool) -> dict[str, str]:
    """What is wrong with the generation's files: file name -> one line; empty when all are whole."""
    found = {}
    for name, record in manifest.files.items():
        problem = _problem(generation / name, record, full=full)
        if problem:
            found[name] = f"{generation / name} {problem}"
    return found


def _problem(path: Path, record: FileRecord, *, full: bool) -> str | None:
    try:
        size = path.stat().st_size
        if size != record.size:
            return f"is damaged (size {size}, not {record.size})"
        if full or size <= WHOLE_LIMIT or _stamp(path) != record.stamp:
            return None if crc32_of(path) == record.crc32 else "is damaged (checksum mismatch)"
        return None if _block_crcs(path) == record.blocks else "is damaged (checksum mismatch in a sampled block)"
    except FileNotFoundError:
        return "is missing"
    except OSError as error:  # an unreadable sector: EIO
        return f"cannot be read ({error.strerror or error})"


def _record(path: Path) -> FileRecord:
    size = path.stat().st_size
    return FileRecord(size, crc32_of(path), _block_crcs(path) if size > WHOLE_LIMIT else [], _stamp(path))


def _stamp(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_mtime_ns, info.st_ctime_ns]


def _block_crcs(path: Path) -> list[str]:
    """crc32 of BLOCKS blocks spread evenly over the file, the first and the last among them."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        last = max(size - BLOCK, 0)
        offsets = sorted({last * i // (BLOCKS - 1) for i in range(BLOCKS)})
        return [f"{zlib.crc32(os.pread(handle.fileno(), BLOCK, offset)):08x}" for offset in offsets]


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            yield path
