"""The FAISS index on disk: one vector per stored paper, keyed by the paper's integer store key.

Three files in the index directory, each written atomically; the manifest is written last and holds
the checksums of the other two, so an interrupted write or a damaged file is detected on open. A file
whose size and modification time are still those recorded at save is trusted without re-reading it
(the quick check of make and rsync): the checksum of a 100k-paper index costs more than a search.
"""

from __future__ import annotations

import errno
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..errors import IndexDamaged, IndexProblem
from ..files import atomic_write, atomic_write_text, crc32_of

INDEX_FILE, STATE_FILE, MANIFEST_FILE = "papers.faiss", "papers-state.npz", "manifest.json"
FORMAT = 1
# Exact search costs ~14 ms a query at 100k vectors and grows linearly; past this size a compressed approximate
# index is built instead: IVF with product-quantized codes (48 bytes a vector: 130 MB at 2.7M papers, where the
# uncompressed IVF-Flat it replaces took 4.1 GB), whose candidates are re-ranked by their exact vectors.
EXACT_LIMIT = 200_000
NPROBE = 32
PQ_BYTES = 48  # one byte per 8 dimensions of 384
RERANK = 100  # approximate candidates re-ranked by their exact vectors when fewer are asked for
EXACT_FILTER = 20_000  # a filter allowing at most this many papers is searched exactly, from their vectors
CHUNK = 100_000  # vectors read from the store and added at a time: bounded memory at any size
ExactVectors = Callable[[Sequence[int]], np.ndarray]  # keys -> their exact vectors (the store's cache)


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    count: int
    kind: str  # "flat" (exact), "ivfpq" (approximate, compressed) or "ivf" (approximate: older indexes)
    checksum: str  # crc32 of INDEX_FILE
    state_checksum: str  # crc32 of STATE_FILE
    nprobe: int = NPROBE
    format: int = FORMAT
    stats: dict[str, list[int]] | None = None  # file name -> [size, mtime_ns] when saved


class KeyHashes(Mapping[int, str]):
    """Paper key -> content hash of its indexed text, as two arrays sorted by key: 40 bytes a paper (a dict
    took ~150 and 2 s to load at 2.7M papers). The hashes are read on first use: `similar` needs the keys only."""

    def __init__(self, keys: np.ndarray, hashes: np.ndarray | Callable[[], np.ndarray]) -> None:
        self.sorted_keys = keys  # int64, sorted, unique
        self._hashes = hashes  # "S32", in the keys' order

    @classmethod
    def of(cls, keys: Sequence[int] | np.ndarray, hashes: Sequence[str] | np.ndarray) -> KeyHashes:
        keys, hashes = np.asarray(keys, np.int64), np.asarray(hashes, "S32")
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], hashes[order])

    @property
    def hashes(self) -> np.ndarray:
        if callable(self._hashes):
            self._hashes = self._hashes()
        return self._hashes

    def __len__(self) -> int:
        return len(self.sorted_keys)

    def __iter__(self) -> Iterator[int]:
        return iter(self.sorted_keys.tolist())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and bool(self.holds(np.array([key]))[0])

    def __getitem__(self, key: int) -> str:
        row = int(np.searchsorted(self.sorted_keys, key))
        if row == len(self.sorted_keys) or self.sorted_keys[row] != key:
            raise KeyError(key)
        return self.hashes[row].decode()

    def holds(self, keys: np.ndarray) -> np.ndarray:
        """For each key, whether it is here."""
        row = np.searchsorted(self.sorted_keys, keys).clip(0, max(len(self.sorted_keys) - 1, 0))
        return self.sorted_keys[row] == keys if len(self.sorted_keys) else np.zeros(len(keys), bool)

    def differing(self, other: KeyHashes) -> np.ndarray:
        """The keys here that `other` lacks or holds with another hash."""
        row = np.searchsorted(other.sorted_keys, self.sorted_keys).clip(0, max(len(other.sorted_keys) - 1, 0))
        if not len(other.sorted_keys):
            return self.sorted_keys.copy()
        same = (other.sorted_keys[row] == self.sorted_keys) & (other.hashes[row] == self.hashes)
        return self.sorted_keys[~same]

    def without(self, keys: np.ndarray) -> KeyHashes:
        keep = ~np.isin(self.sorted_keys, keys)
        return KeyHashes(self.sorted_keys[keep], self.hashes[keep])

    def with_(self, keys: np.ndarray, hashes: np.ndarray) -> KeyHashes:
        rest = self.without(keys)
        return KeyHashes.of(np.concatenate([rest.sorted_keys, keys]), np.concatenate([rest.hashes, hashes]))


class VectorIndex:
    def __init__(self, index: faiss.Index, model: str, state: KeyHashes, nprobe: int = NPROBE) -> None:
        self.faiss: Any = index  # faiss's SWIG types take numpy arrays where its stubs say otherwise
        self.model, self.state, self.nprobe = model, state, nprobe

    @property
    def kind(self) -> str:
        index = faiss.downcast_index(self.faiss)
        if isinstance(index, faiss.IndexIVFPQ):
            return "ivfpq"
        return "ivf" if isinstance(index, faiss.IndexIVF) else "flat"

    @property
    def dim(self) -> int:
        return self.faiss.d

    def __len__(self) -> int:
        return self.faiss.ntotal

    @classmethod
    def build(
        cls,
        model: str,
        keys: Sequence[int] | np.ndarray,
        hashes: Sequence[str] | np.ndarray,
        vectors: np.ndarray | ExactVectors,
        *,
        exact_limit: int = EXACT_LIMIT,
    ) -> VectorIndex:
        """A new index over these papers: exact up to `exact_limit`, IVF-PQ beyond. `vectors`: an array in the
        keys' order, or a function reading the keys' vectors (from the store, a chunk at a time)."""
        keys, hashes = np.asarray(keys, np.int64), np.asarray(hashes, "S32")
        if isinstance(vectors, np.ndarray):
            array = np.ascontiguousarray(vectors, dtype=np.float32)
            rows_of: Callable[[np.ndarray], np.ndarray] = lambda rows: array[rows]
        else:
            rows_of = lambda rows: np.ascontiguousarray(vectors(keys[rows].tolist()), dtype=np.float32)
        if isinstance(vectors, np.ndarray) and not len(keys):
            return cls(
                faiss.index_factory(array.shape[1], "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT), model, _no_keys()
            )
        first = rows_of(np.arange(min(len(keys), CHUNK)))
        index = _new_index(first.shape[1], len(keys), exact_limit)
        if not index.is_trained:
            index.train(
                rows_of(
                    np.sort(np.random.default_rng(0).choice(len(keys), _training_size(index, len(keys)), replace=False))
                )
            )
        for start in range(0, len(keys), CHUNK):
            chunk = first if start == 0 else rows_of(np.arange(start, min(start + CHUNK, len(keys))))
            index.add_with_ids(chunk, keys[start : start + len(chunk)])
        return cls(index, model, KeyHashes.of(keys, hashes))

    def update(self, keys: Sequence[int], hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Add these papers' vectors, replacing any vector they already had."""
        wanted = np.asarray(keys, np.int64)
        self.remove(wanted[self.state.holds(wanted)])
        if len(wanted):
            self.faiss.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), wanted)
            self.state = self.state.with_(wanted, np.asarray(hashes, "S32"))

    def remove(self, keys: Sequence[int] | np.ndarray) -> None:
        if len(keys):
            unwanted = np.asarray(keys, np.int64)
            self.faiss.remove_ids(unwanted)
            self.state = self.state.without(unwanted)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exact: ExactVectors | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, keys), each (len(queries), k); missing results have key -1. `allowed`: only these keys.
        `exact` (the store's vectors): an approximate index's candidates are re-ranked by their exact vectors,
        and a filter allowing few papers is searched exactly over theirs (IVF would probe lists without them)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self)))
        if self.kind == "flat" or exact is None:
            return self._search(queries, k, allowed)
        if allowed is not None and len(allowed) <= EXACT_FILTER:
            candidates = np.asarray(allowed, np.int64)[None, :].repeat(len(queries), 0)
        else:
            candidates = self._search(queries, max(k, RERANK), allowed)[1]
        return _reranked(queries, candidates, k, exact)

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        params: Any = faiss.SearchParameters() if self.kind == "flat" else faiss.SearchParametersIVF()
        if self.kind != "flat":
            params.nprobe = self.nprobe
        if allowed is not None:
            params.sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        scores, keys = self.faiss.search(queries, k, params=params)
        _check_scores(queries, scores, keys)
        return scores, keys

    def save(self, directory: Path) -> None:
        atomic_write(directory / INDEX_FILE, lambda temp: _write_faiss(self.faiss, temp, directory / INDEX_FILE))
        state = self.state
        atomic_write(directory / STATE_FILE, lambda temp: _save_npz(temp, keys=state.sorted_keys, hashes=state.hashes))
        stats = {name: _stat(directory / name) for name in (INDEX_FILE, STATE_FILE)}
        manifest = Manifest(
            self.model,
            self.dim,
            len(self),
            self.kind,
            crc32_of(directory / INDEX_FILE),
            crc32_of(directory / STATE_FILE),
            self.nprobe,
            stats=stats,
        )
        atomic_write_text(directory / MANIFEST_FILE, json.dumps(asdict(manifest), indent=2) + "\n")

    @classmethod
    def open(cls, directory: Path, *, writable: bool = False) -> VectorIndex:
        """Load and verify the index; IndexProblem says what is wrong if it cannot be used as is. Read-only,
        the FAISS file is memory-mapped and the state's hashes are read when first asked for."""
        manifest = read_manifest(directory)
        for name, expected in ((INDEX_FILE, manifest.checksum), (STATE_FILE, manifest.state_checksum)):
            unchanged = manifest.stats is not None and _stat(directory / name) == manifest.stats.get(name)
            if not unchanged and crc32_of(directory / name) != expected:
                raise IndexProblem(f"{directory / name} is damaged (checksum mismatch)")
        try:
            flags = 0 if writable else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
            index = faiss.read_index(str(directory / INDEX_FILE), flags)
            saved = np.load(directory / STATE_FILE)
            state = KeyHashes(saved["keys"], lambda: _hashes_of(saved, directory))
        except (RuntimeError, OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise IndexProblem(f"{directory / INDEX_FILE} cannot be read ({str(error).splitlines()[0]})") from None
        if index.d != manifest.dim or index.ntotal != manifest.count or len(state) != manifest.count:
            raise IndexProblem(f"{directory} does not match its manifest (count or dimension)")
        if writable:
            state.hashes  # noqa: B018 - read now: an update rewrites the state file
        return cls(index, manifest.model, state, manifest.nprobe)


def _check_scores(queries: np.ndarray, scores: np.ndarray, keys: np.ndarray) -> None:
    """Scores no whole index gives (the stored vectors are unit vectors): NaN, infinite, or above the query's
    norm. Damaged bytes in a vector make such scores and bring it to the top, where this sees it."""
    found = keys >= 0
    # 1.5: room for the error of compressed codes (a query's own paper may score above 1); damaged bytes
    # make floats up to 3e38, so what they bring to the top scores far beyond it
    limit = np.linalg.norm(queries, axis=1, keepdims=True) * 1.5
    with np.errstate(invalid="ignore"):
        impossible = found & ~(np.isfinite(scores) & (scores <= limit))
    if impossible.any():
        key = int(keys[impossible][0])
        raise IndexDamaged(f"the FAISS index scored the paper of key {key} impossibly: its file is damaged")


def _new_index(dim: int, count: int, exact_limit: int) -> Any:
    """Exact up to `exact_limit` vectors; beyond, IVF-PQ with sqrt(count) lists (k-means on 2.7M papers' 1,600
    lists trains in minutes on 2 cores, where the usual 4 sqrt(count) took an hour) and 8-bit codes of 8
    dimensions each (4-bit ones for a small index, whose codebooks could not be trained)."""
    if count <= exact_limit:
        return faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)
    lists = max(1, int(math.sqrt(count)))
    bits = 8 if count >= 256 * 40 else 4
    index = faiss.index_factory(dim, f"IVF{lists},PQ{PQ_BYTES}x{bits}", faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).cp.niter = 10  # k-means iterations: 25 by default, no better recall measured
    return index


def _training_size(index: Any, count: int) -> int:
    """Vectors to train on: 20 per list and 39 per codebook centroid (faiss's minimum), at most all of them."""
    ivf: Any = faiss.downcast_index(faiss.extract_index_ivf(index))
    return min(count, max(20 * ivf.nlist, 39 * ivf.pq.ksub))


def _reranked(
    queries: np.ndarray, candidates: np.ndarray, k: int, exact: ExactVectors
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of each query's candidate keys by exact inner product; -1 pads missing results."""
    scores, keys = np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
    for row, (query, found) in enumerate(zip(queries, candidates)):
        found = found[found >= 0]
        if len(found):
            similarity = exact(found.tolist()) @ query
            best = np.argsort(-similarity, kind="stable")[:k]
            scores[row, : len(best)], keys[row, : len(best)] = similarity[best], found[best]
    return scores, keys


def _no_keys() -> KeyHashes:
    return KeyHashes(np.zeros(0, np.int64), np.zeros(0, "S32"))


def _hashes_of(saved: Any, directory: Path) -> np.ndarray:
    try:
        return saved["hashes"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise IndexProblem(f"{directory / STATE_FILE} cannot be read ({error})") from None


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST_FILE
    if not path.exists():
        raise IndexProblem(f"no index in {directory} yet")
    try:
        manifest = Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise IndexProblem(f"{path} is damaged ({error})") from None
    if manifest.format != FORMAT:
        raise IndexProblem(f"{path} has format {manifest.format}, this semdigest reads {FORMAT}")
    return manifest


def _write_faiss(index: Any, temp: Path, path: Path) -> None:
    """faiss.write_index, whose failed fwrite (a full disk) is a RuntimeError quoting strerror: an OSError
    here, so that the caller reports it like any other write that the disk refused."""
    try:
        faiss.write_index(index, str(temp))
    except RuntimeError as error:
        codes = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES)
        code = next((code for code in codes if os.strerror(code) in str(error)), errno.EIO)
        raise OSError(code, os.strerror(code), str(path)) from None


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


def _stat(path: Path) -> list[int]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise IndexProblem(f"{path} is missing") from None
    return [info.st_size, info.st_mtime_ns]
