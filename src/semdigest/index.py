"""The FAISS index on disk: one vector per stored paper, keyed by the paper's integer store key.

Three files in the index directory, each written atomically; the manifest is written last and holds
the checksums of the other two, so an interrupted write or a damaged file is detected on open. A file
whose size and modification time are still those recorded at save is trusted without re-reading it
(the quick check of make and rsync): the checksum of a 100k-paper index costs more than a search.
"""

from __future__ import annotations

import json
import math
import mmap
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexProblem
from .files import atomic_write, atomic_write_text

INDEX_FILE, STATE_FILE, MANIFEST_FILE = "papers.faiss", "papers-state.npz", "manifest.json"
FORMAT = 1
# Exact search costs ~14 ms a query at 100k vectors and grows linearly; past this size an IVF index
# (~1 ms, recall@10 >= 0.95 measured by bench/speed.py) is built instead.
EXACT_LIMIT = 200_000
NPROBE = 32
# A fixed sample of the store's vectors: it calibrates scores (how a paper compares with the whole
# store) and measures "hubness" (papers close to everything) without a per-paper statistic to maintain.
SAMPLE_SIZE = 8000


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
    def __init__(self, index: faiss.Index, model: str, state: dict[int, str], nprobe: int = NPROBE,
                 sample: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.faiss, self.model, self.state, self.nprobe = index, model, state, nprobe
        self.sample_keys, self.sample_vectors = sample if sample is not None else _empty_sample(index.d)

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(faiss.downcast_index(self.faiss), faiss.IndexIVF) else "flat"

    @property
    def dim(self) -> int:
        return self.faiss.d

    def __len__(self) -> int:
        return self.faiss.ntotal

    @classmethod
    def build(cls, model: str, keys: Sequence[int], hashes: Sequence[str], vectors: np.ndarray,
              *, exact_limit: int = EXACT_LIMIT) -> VectorIndex:
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
        params = faiss.SearchParametersIVF(nprobe=self.nprobe) if self.kind == "ivf" else faiss.SearchParameters()
        if allowed is not None:
            params.sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        k = max(1, min(k, len(self)))
        return self.faiss.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)

    def resample(self, vectors_of: Callable[[list[int]], np.ndarray], size: int = SAMPLE_SIZE) -> None:
        """Choose the calibration sample: the `size` keys of smallest hash, so it changes little as the store grows."""
        keys = np.fromiter(self.state, dtype=np.int64, count=len(self.state))
        mixed = (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(1)
        chosen = np.sort(keys[np.argsort(mixed, kind="stable")[:size]])
        self.sample_keys = chosen
        self.sample_vectors = np.ascontiguousarray(vectors_of(chosen.tolist()), dtype=np.float32) if len(chosen) \
            else _empty_sample(self.dim)[1]

    def save(self, directory: Path) -> None:
        atomic_write(directory / INDEX_FILE, lambda temp: faiss.write_index(self.faiss, str(temp)))
        keys = np.fromiter(self.state, dtype=np.int64, count=len(self.state))
        hashes = np.array(list(self.state.values()), dtype="S32")
        atomic_write(directory / STATE_FILE, lambda temp: _save_npz(
            temp, keys=keys, hashes=hashes, sample_keys=self.sample_keys, sample_vectors=self.sample_vectors))
        stats = {name: _stat(directory / name) for name in (INDEX_FILE, STATE_FILE)}
        manifest = Manifest(self.model, self.dim, len(self), self.kind, _crc(directory / INDEX_FILE),
                            _crc(directory / STATE_FILE), self.nprobe, stats=stats)
        atomic_write_text(directory / MANIFEST_FILE, json.dumps(asdict(manifest), indent=2) + "\n")

    @classmethod
    def open(cls, directory: Path, *, writable: bool = False) -> VectorIndex:
        """Load and verify the index; IndexProblem says what is wrong if it cannot be used as is."""
        manifest = read_manifest(directory)
        for name, expected in ((INDEX_FILE, manifest.checksum), (STATE_FILE, manifest.state_checksum)):
            unchanged = manifest.stats is not None and _stat(directory / name) == manifest.stats.get(name)
            if not unchanged and _crc(directory / name) != expected:
                raise IndexProblem(f"{directory / name} is damaged (checksum mismatch)")
        try:
            flags = 0 if writable else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
            index = faiss.read_index(str(directory / INDEX_FILE), flags)
            with np.load(directory / STATE_FILE) as saved:
                state = dict(zip(saved["keys"].tolist(), (h.decode() for h in saved["hashes"])))
                sample = (saved["sample_keys"], saved["sample_vectors"])
        except (RuntimeError, OSError, ValueError, KeyError) as error:
            raise IndexProblem(f"{directory / INDEX_FILE} cannot be read ({str(error).splitlines()[0]})") from None
        if index.d != manifest.dim or index.ntotal != manifest.count or len(state) != manifest.count:
            raise IndexProblem(f"{directory} does not match its manifest (count or dimension)")
        return cls(index, manifest.model, state, manifest.nprobe, sample)


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


def _empty_sample(dim: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _stat(path: Path) -> list[int]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise IndexProblem(f"{path} is missing") from None
    return [info.st_size, info.st_mtime_ns]


def _crc(path: Path) -> str:
    """crc32 of the file (~3 GB/s): detects truncation and damage."""
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, 2) == 0:
                return "00000000"
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return f"{zlib.crc32(mapped):08x}"
    except FileNotFoundError:
        raise IndexProblem(f"{path} is missing") from None
