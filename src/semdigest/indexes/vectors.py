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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..errors import IndexDamaged, IndexProblem
from ..files import atomic_write, atomic_write_text, crc32_of

INDEX_FILE, STATE_FILE, MANIFEST_FILE = "papers.faiss", "papers-state.npz", "manifest.json"
FORMAT = 1
# Exact search costs ~14 ms a query at 100k vectors and grows linearly; past this size an IVF index
# (~1 ms, recall@10 >= 0.95 measured by bench/speed.py) is built instead.
EXACT_LIMIT = 200_000
NPROBE = 32


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    count: int
    kind: str  # "flat" (exact) or "ivf" (approximate)
    checksum: str  # crc32 of INDEX_FILE
    state_checksum: str  # crc32 of STATE_FILE
    nprobe: int = NPROBE
    format: int = FORMAT
    stats: dict[str, list[int]] | None = None  # file name -> [size, mtime_ns] when saved


class VectorIndex:
    def __init__(self, index: faiss.Index, model: str, state: dict[int, str], nprobe: int = NPROBE) -> None:
        self.faiss: Any = index  # faiss's SWIG types take numpy arrays where its stubs say otherwise
        self.model, self.state, self.nprobe = model, state, nprobe

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(faiss.downcast_index(self.faiss), faiss.IndexIVF) else "flat"

    @property
    def dim(self) -> int:
        return self.faiss.d

    def __len__(self) -> int:
        return self.faiss.ntotal

    @classmethod
    def build(
        cls,
        model: str,
        keys: Sequence[int],
        hashes: Sequence[str],
        vectors: np.ndarray,
        *,
        exact_limit: int = EXACT_LIMIT,
    ) -> VectorIndex:
        """A new index over these vectors: exact up to `exact_limit` vectors, IVF beyond."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(keys) <= exact_limit:
            index = faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)
        else:
            lists = int(4 * math.sqrt(len(keys)))
            index = faiss.index_factory(dim, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(len(keys), min(len(keys), lists * 64), replace=False)
            index.train(vectors[np.sort(sample)])
        built = cls(index, model, {})
        built.update(keys, hashes, vectors)
        return built

    def update(self, keys: Sequence[int], hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Add these papers' vectors, replacing any vector they already had."""
        self.remove([key for key in keys if key in self.state])
        if len(keys):
            self.faiss.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(keys, dtype=np.int64))
        self.state.update(zip((int(key) for key in keys), hashes))

    def remove(self, keys: Sequence[int]) -> None:
        if keys:
            self.faiss.remove_ids(np.asarray(keys, dtype=np.int64))
            for key in keys:
                self.state.pop(int(key), None)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, keys), each (len(queries), k); missing results have key -1. `allowed`: only these keys."""
        params: Any = faiss.SearchParametersIVF() if self.kind == "ivf" else faiss.SearchParameters()
        if self.kind == "ivf":
            params.nprobe = self.nprobe
        if allowed is not None:
            params.sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        k = max(1, min(k, len(self)))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        scores, keys = self.faiss.search(queries, k, params=params)
        _check_scores(queries, scores, keys)
        return scores, keys

    def save(self, directory: Path) -> None:
        atomic_write(directory / INDEX_FILE, lambda temp: _write_faiss(self.faiss, temp, directory / INDEX_FILE))
        keys = np.fromiter(self.state, dtype=np.int64, count=len(self.state))
        hashes = np.array(list(self.state.values()), dtype="S32")
        atomic_write(directory / STATE_FILE, lambda temp: _save_npz(temp, keys=keys, hashes=hashes))
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
        """Load and verify the index; IndexProblem says what is wrong if it cannot be used as is."""
        manifest = read_manifest(directory)
        for name, expected in ((INDEX_FILE, manifest.checksum), (STATE_FILE, manifest.state_checksum)):
            unchanged = manifest.stats is not None and _stat(directory / name) == manifest.stats.get(name)
            if not unchanged and crc32_of(directory / name) != expected:
                raise IndexProblem(f"{directory / name} is damaged (checksum mismatch)")
        try:
            flags = 0 if writable else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
            index = faiss.read_index(str(directory / INDEX_FILE), flags)
            with np.load(directory / STATE_FILE) as saved:
                state = dict(zip(saved["keys"].tolist(), (h.decode() for h in saved["hashes"])))
        except (RuntimeError, OSError, ValueError, KeyError) as error:
            raise IndexProblem(f"{directory / INDEX_FILE} cannot be read ({str(error).splitlines()[0]})") from None
        if index.d != manifest.dim or index.ntotal != manifest.count or len(state) != manifest.count:
            raise IndexProblem(f"{directory} does not match its manifest (count or dimension)")
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
