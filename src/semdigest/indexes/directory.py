"""The index folder: the one owner of its paths, of opening the indexes together, of bringing them up to
date with the store, and of verifying, repairing and cleaning them.

    index/
      CURRENT             names the live generation; replaced (os.replace) once that generation is whole
      g<ns>-<pid>/        one generation, never changed once published:
        vectors/          FAISS (vectors.py)
        lexical/          BM25 (lexical.py)
        sample.npz        the calibration sample (sample.py)
        MANIFEST.json     every file above with its checksums (manifest.py), written last
      .tmp-g<ns>-<pid>/   a generation being written (an interrupted run's, until the next writer removes it)

A reader reads CURRENT and opens that generation: the old one or the new one, never a mix, and never a
file before its manifest (readers saw "damaged (checksum mismatch)" while the files were replaced one by
one in place). The writer removes the previous generation once CURRENT names the new one; a reader that
was opening it then finds CURRENT changed and opens the new one (what it had open stays readable: an
unlinked file lives while it is open). Only a writer, holding the writer lock, removes anything, so a
temporary generation it finds is an interrupted run's, never a live writer's.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexDamaged, IndexProblem
from ..files import atomic_write_text
from ..store import Store
from . import manifest
from .lexical import Bm25Index
from .sample import Sample
from .vectors import CHUNK, EXACT_LIMIT, KeyHashes, VectorIndex, read_manifest

VECTORS, LEXICAL, SAMPLE, POINTER = "vectors", "lexical", "sample.npz", "CURRENT"
_GENERATION = re.compile(r"g\d+-\d+")
_TEMP = ".tmp-"
_LEGACY = {VECTORS, LEXICAL, SAMPLE}  # the layout before generations, in the index folder itself
_ATTEMPTS = 5  # opens of a generation that a writer replaced meanwhile, before giving up
# What loading a damaged file the checks let through can raise (numpy, zipfile, faiss): damage, not a bug.
_LOAD_ERRORS = (IndexProblem, OSError, ValueError, KeyError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error)


@dataclass(frozen=True)
class IndexReport:
    added: int
    removed: int
    total: int
    rebuilt: bool
    kind: str


@dataclass(frozen=True)
class Indexes:
    """Both indexes and the calibration sample, open for reading (memory-mapped)."""

    vectors: VectorIndex
    lexical: Bm25Index
    sample: Sample

    @property
    def model(self) -> str:
        return self.vectors.model


@dataclass(frozen=True)
class Generation:
    path: Path

    @property
    def vectors_dir(self) -> Path:
        return self.path / VECTORS

    @property
    def lexical_dir(self) -> Path:
        return self.path / LEXICAL

    @property
    def sample_path(self) -> Path:
        return self.path / SAMPLE


@dataclass(frozen=True)
class IndexCheck:
    """`semdigest check` of the index folder: every file verified whole."""

    generation: Path | None  # None: nothing indexed yet
    files: int
    problems: list[str]
    leftovers: list[Path]  # what interrupted runs and earlier generations left; the next `index` removes it
    leftover_bytes: int


@dataclass(frozen=True)
class _Reusable:
    """What of the live generation a refresh can start from."""

    vectors: VectorIndex | None
    lexical: Bm25Index | None
    whole: bool  # the live generation exists and nothing in it is damaged
    generation: Generation | None = None
    contents: manifest.Manifest | None = None


class IndexDir:
    def __init__(self, root: Path) -> None:
        self.root, self.pointer = root, root / POINTER

    def live(self) -> Generation | None:
        """The generation CURRENT names; None before the first index."""
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise IndexDamaged(f"{self.pointer} cannot be read ({error})") from None
        if not _GENERATION.fullmatch(name):
            raise IndexDamaged(f"{self.pointer} is damaged (it names {name[:40]!r})")
        return Generation(self.root / name)

    def open(self) -> Indexes:
        """The live generation, verified (manifest.py's quick check) and loaded. IndexProblem if there is no
        index yet, IndexDamaged if it is damaged."""
        for _ in range(_ATTEMPTS):
            generation = self._live_or_none_yet()
            try:
                return _load(generation)
            except IndexProblem:
                if self.live() == generation:  # not a writer that replaced it meanwhile
                    raise
        raise IndexProblem(f"the index in {self.root} kept changing while it was opened: try again")

    def model(self) -> str | None:
        """The model whose vectors the live generation holds, if there is a readable one."""
        try:
            generation = self.live()
            return manifest.read(generation.path).model if generation else None
        except IndexProblem:
            return None

    def count(self) -> int:
        """Papers in the live FAISS index (0 when there is none to read)."""
        try:
            generation = self.live()
            return read_manifest(generation.vectors_dir).count if generation else 0
        except IndexProblem:
            return 0

    def check(self) -> IndexCheck:
        """Every file of the live generation verified whole, and the generation opened as a reader would. Takes
        no lock: the temporary generation of a writer at work is not reported as a leftover."""
        leftovers = [path for path in self._leftovers() if not _being_written(path)]
        size = sum(_size(path) for path in leftovers)
        for _ in range(_ATTEMPTS):
            try:
                generation = self.live()
            except IndexDamaged as problem:
                return IndexCheck(None, 0, [str(problem)], leftovers, size)
            if generation is None:
                return IndexCheck(None, 0, [], leftovers, size)
            files, found = 0, []
            try:
                contents = manifest.read(generation.path)
                files = len(contents.files)
                found = list(manifest.problems(generation.path, contents, full=True).values())
                if not found:
                    _load(generation)
            except IndexProblem as problem:
                found.append(str(problem))
            if not found or self.live() == generation:
                return IndexCheck(generation.path, files, found, leftovers, size)
        raise IndexProblem(f"the index in {self.root} kept changing while it was checked: try again")

    def refresh(
        self,
        store: Store,
        model_id: str,
        *,
        rebuild: bool = False,
        on_problem: Callable[[str], None] | None = None,
        exact_limit: int = EXACT_LIMIT,
    ) -> IndexReport:
        """Make the FAISS and BM25 indexes hold exactly the stored papers whose current text has a cached vector.

        The live generation is verified whole first. Changes are applied incrementally, into a new generation.
        A missing, damaged or mismatched FAISS index is rebuilt from the cached vectors (nothing is
        re-embedded), and so is an exact index that outgrew `exact_limit`; a damaged BM25 index is rebuilt from
        the texts. The caller holds the writer lock: leftovers of interrupted runs are removed.
        """
        keys, hashes = store.embedded_keys(model_id)
        if not len(keys):
            raise IndexProblem("nothing to index: no stored paper has a vector yet (ingest or fetch papers first)")
        desired = KeyHashes(keys, hashes)
        say = on_problem or _quiet
        self.clean()
        reusable = _Reusable(None, None, False) if rebuild else self._reusable(model_id, say)
        index = reusable.vectors
        if index is not None and (index.kind == "ivf" or (index.kind == "flat" and len(desired) > exact_limit)):
            index = None  # an exact index that outgrew its limit, or an uncompressed IVF of an older semdigest
        lexical = reusable.lexical if index is not None else None
        if index is None:
            vectors_of = lambda wanted: store.vectors(model_id, wanted)  # read a chunk at a time
            index = VectorIndex.build(model_id, keys, hashes, vectors_of, exact_limit=exact_limit)
            stale, added, rebuilt = np.zeros(0, np.int64), keys, True
        else:
            stale = index.state.differing(desired)
            index.remove(stale)
            added = keys[~index.state.holds(keys)]
            for start in range(0, len(added), CHUNK):
                chunk = added[start : start + CHUNK]
                index.update(chunk, hashes[np.searchsorted(keys, chunk)], store.vectors(model_id, chunk.tolist()))
            rebuilt = False
        changed = rebuilt or len(stale) or len(added) or not reusable.whole
        if changed:
            sample = Sample.choose(
                model_id, index.state.sorted_keys, lambda keys: store.vectors(model_id, keys), index.dim
            )
            self._publish(model_id, index, _lexical_writer(store, index, lexical, stale, added), sample)
        elif reusable.generation and reusable.contents:
            manifest.restamp(reusable.generation.path, reusable.contents)  # a copied directory, found whole
        removed = len(set(stale.tolist()) - set(added.tolist()))
        return IndexReport(len(added), removed, len(index), rebuilt, index.kind)

    def clean(self) -> None:
        """Remove what no reader needs: temporary generations and files of interrupted runs, generations before
        the live one, the files of the layout before generations. Only a writer may call this (under the writer
        lock): then no temporary generation belongs to a live writer."""
        for path in self._leftovers():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _leftovers(self) -> list[Path]:
        """Temporary generations and files; with a readable live generation also the earlier generations and
        the old layout (without one, they may be all there is to repair from by hand)."""
        try:
            live = self.live()
        except IndexDamaged:
            live = None
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            temporary = path.name.startswith(_TEMP) or (path.name.startswith(".") and path.name.endswith(".tmp"))
            older = bool(_GENERATION.fullmatch(path.name)) or path.name in _LEGACY
            if temporary or (live is not None and older and path != live.path):
                found.append(path)
        return found

    def _publish(
        self, model_id: str, index: VectorIndex, write_lexical: Callable[[Path], None], sample: Sample
    ) -> None:
        """Write a new generation beside the live one, its manifest last, then point CURRENT at it."""
        name = f"g{time.time_ns()}-{os.getpid()}"
        temp = Generation(self.root / f"{_TEMP}{name}")
        temp.path.mkdir(parents=True)
        try:
            index.save(temp.vectors_dir)
            write_lexical(temp.lexical_dir)
            sample.save(temp.sample_path)
            manifest.write(temp.path, model_id)
        except BaseException:  # a full disk: give its space back now (a killed run's waits for the next writer)
            shutil.rmtree(temp.path, ignore_errors=True)
            raise
        os.replace(temp.path, self.root / name)
        atomic_write_text(self.pointer, name + "\n")
        self.clean()

    def _live_or_none_yet(self) -> Generation:
        generation = self.live()
        if generation is None:
            older = " (the one there was written by an older semdigest)" if (self.root / VECTORS).exists() else ""
            raise IndexProblem(f"no index in {self.root} yet{older}")
        return generation

    def _reusable(self, model_id: str, say: Callable[[str], None]) -> _Reusable:
        """The live generation verified whole; its undamaged indexes opened for the update."""
        try:
            generation = self.live()
            if generation is None:
                return _Reusable(None, None, False)
            contents = manifest.read(generation.path)
        except IndexDamaged as problem:
            say(f"{problem}: rebuilding the indexes from the cached vectors and the stored texts")
            return _Reusable(None, None, False)
        found = manifest.problems(generation.path, contents, full=True)
        parts = {name.split("/")[0] for name in found}
        for name, damage in found.items():
            say(f"{damage}: {_REPAIRS.get(name.split('/')[0], 'rebuilding it')}")
        vectors = None if VECTORS in parts else _open_vectors(generation, model_id, say)
        lexical = None if LEXICAL in parts or vectors is None else _open_lexical(generation, say)
        whole = not found and vectors is not None and lexical is not None
        return _Reusable(vectors, lexical, whole, generation, contents)


_REPAIRS = {
    VECTORS: "rebuilding it from the cached vectors",
    LEXICAL: "rebuilding it from the stored texts",
    SAMPLE: "drawing it again from the cached vectors",
}


def _load(generation: Generation) -> Indexes:
    contents = manifest.read(generation.path)
    found = manifest.problems(generation.path, contents, full=False)
    if found:
        raise IndexDamaged(next(iter(found.values())))
    try:
        vectors = VectorIndex.open(generation.vectors_dir)
        sample = Sample.load(generation.sample_path)
        lexical = Bm25Index.load(generation.lexical_dir)
    except _LOAD_ERRORS as problem:  # a file that passed the quick check, yet unreadable
        raise IndexDamaged(_described(problem, generation.path)) from None
    if not vectors.model == sample.model == contents.model:
        raise IndexDamaged(f"{generation.path} mixes models ({vectors.model}, {sample.model}, {contents.model})")
    return Indexes(vectors, lexical, sample)


def _open_vectors(generation: Generation, model_id: str, say: Callable[[str], None]) -> VectorIndex | None:
    try:
        index = VectorIndex.open(generation.vectors_dir, writable=True)
    except _LOAD_ERRORS as problem:
        say(f"{_described(problem, generation.vectors_dir)}: {_REPAIRS[VECTORS]}")
        return None
    if index.model != model_id:
        say(f"the index holds {index.model} vectors, not {model_id}: rebuilding it")
        return None
    return index


def _open_lexical(generation: Generation, say: Callable[[str], None]) -> Bm25Index | None:
    try:
        return Bm25Index.load(generation.lexical_dir)
    except _LOAD_ERRORS as problem:
        say(f"{_described(problem, generation.lexical_dir)}: {_REPAIRS[LEXICAL]}")
        return None


def _being_written(path: Path) -> bool:
    """A temporary generation whose writer (the pid in its name) is still running."""
    found = re.fullmatch(rf"{re.escape(_TEMP)}g\d+-(\d+)", path.name)
    if found is None:
        return False
    try:
        os.kill(int(found[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _described(error: Exception, where: Path) -> str:
    """An IndexProblem's own message; a library's error (numpy, zipfile, faiss) with the place it came from."""
    if isinstance(error, IndexProblem):
        return str(error)
    return f"{where} cannot be read ({(str(error).splitlines() or [type(error).__name__])[0][:200]})"


def _size(path: Path) -> int:
    """Bytes under `path`; what a writer removes meanwhile counts nothing."""
    try:
        if not path.is_dir():
            return path.stat().st_size
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    except FileNotFoundError:
        return 0


def _quiet(_: str) -> None:
    """No one to tell."""


def _lexical_writer(
    store: Store, index: VectorIndex, lexical: Bm25Index | None, stale: np.ndarray, added: np.ndarray
) -> Callable[[Path], None]:
    """What writes the new generation's BM25 index: the live one with the FAISS index's change applied, or
    (none reusable) one built from the texts, in memory bounded by a segment either way (lexical.py)."""
    if lexical is None:
        keys = index.state.sorted_keys
        return lambda folder: Bm25Index.build_into(folder, keys, store.texts)
    readded = set(added.tolist())
    removed = [key for key in stale.tolist() if key not in readded]
    return lambda folder: lexical.update_into(folder, removed, added, store.texts)
