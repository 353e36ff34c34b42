"""The index folder: the one owner of its paths, of opening the indexes together, and of bringing them
up to date with the store.

    index/
      vectors/       FAISS (vectors.py): papers.faiss, papers-state.npz, manifest.json
      lexical/       BM25 (lexical.py): generations behind a CURRENT pointer, and SYNC
      sample.npz     the calibration sample (sample.py)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexProblem
from ..files import atomic_write_text
from ..store import Store
from .lexical import Bm25Index
from .sample import Sample
from .vectors import CHUNK, EXACT_LIMIT, KeyHashes, VectorIndex, read_manifest

VECTORS, LEXICAL, SAMPLE, SYNC = "vectors", "lexical", "sample.npz", "SYNC"


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


class IndexDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.vectors_dir, self.lexical_dir = root / VECTORS, root / LEXICAL
        self.sample_path, self.sync_path = root / SAMPLE, root / LEXICAL / SYNC

    def open(self) -> Indexes:
        """The indexes as the last refresh left them; IndexProblem if one is missing or damaged."""
        vectors = VectorIndex.open(self.vectors_dir)
        sample = Sample.load(self.sample_path)
        if sample.model != vectors.model:
            raise IndexProblem(
                f"{self.sample_path} belongs to {sample.model}, not {vectors.model}: run semdigest index"
            )
        return Indexes(vectors, Bm25Index.load(self.lexical_dir), sample)

    def model(self) -> str | None:
        """The model whose vectors the FAISS index holds, if there is a readable one."""
        try:
            return read_manifest(self.vectors_dir).model
        except IndexProblem:
            return None

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

        Changes are applied incrementally. A missing, damaged or mismatched FAISS index is rebuilt from the
        cached vectors (nothing is re-embedded), and so is an exact index that outgrew `exact_limit`; a BM25
        index that does not belong to the FAISS index on disk (an interrupted run) is rebuilt from the texts.
        """
        keys, hashes = store.embedded_keys(model_id)
        if not len(keys):
            raise IndexProblem("nothing to index: no stored paper has a vector yet (ingest or fetch papers first)")
        desired = KeyHashes(keys, hashes)
        previous = self._checksum()
        index = None if rebuild else self._open_for_update(model_id, on_problem)
        if index is not None and (index.kind == "ivf" or (index.kind == "flat" and len(desired) > exact_limit)):
            index = None  # an exact index that outgrew its limit, or an uncompressed IVF of an older semdigest
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
        if rebuilt or len(stale) or len(added):
            index.save(self.vectors_dir)
        if rebuilt or len(stale) or len(added) or not self._sample_fits(model_id):
            Sample.choose(
                model_id, index.state.sorted_keys, lambda keys: store.vectors(model_id, keys), index.dim
            ).save(self.sample_path)
        self._refresh_lexical(
            store, index, previous, stale.tolist(), added.tolist(), rebuild=rebuild, on_problem=on_problem
        )
        return IndexReport(len(added), len(set(stale.tolist()) - set(added.tolist())), len(index), rebuilt, index.kind)

    def _open_for_update(self, model_id: str, on_problem: Callable[[str], None] | None) -> VectorIndex | None:
        try:
            index = VectorIndex.open(self.vectors_dir, writable=True)
        except IndexProblem as problem:
            if on_problem and "no index" not in str(problem):
                on_problem(f"{problem}: rebuilding it from the cached vectors")
            return None
        if index.model != model_id:
            if on_problem:
                on_problem(f"the index holds {index.model} vectors, not {model_id}: rebuilding it")
            return None
        return index

    def _sample_fits(self, model_id: str) -> bool:
        try:
            return Sample.load(self.sample_path).model == model_id
        except IndexProblem:
            return False

    def _checksum(self) -> str | None:
        try:
            return read_manifest(self.vectors_dir).checksum
        except IndexProblem:
            return None

    def _refresh_lexical(
        self,
        store: Store,
        index: VectorIndex,
        previous: str | None,
        stale: list[int],
        added: list[int],
        *,
        rebuild: bool,
        on_problem: Callable[[str], None] | None,
    ) -> None:
        """Apply the FAISS index's change to the BM25 index too. The SYNC marker names the FAISS index the
        BM25 index belongs to: when it is not the one the change started from (an interrupted run), or the
        BM25 files do not load, or a rebuild was asked for, it is rebuilt from the texts instead."""
        current = read_manifest(self.vectors_dir).checksum
        recorded = self.sync_path.read_text().strip() if self.sync_path.exists() else None
        lexical = None
        if not rebuild and recorded is not None and recorded in (current, previous):
            try:
                lexical = Bm25Index.load(self.lexical_dir)
            except IndexProblem as problem:
                if on_problem:
                    on_problem(f"{problem}: rebuilding it from the stored texts")
        if lexical is not None and recorded == current:
            return
        if lexical is None:
            Bm25Index.build_into(self.lexical_dir, index.state.sorted_keys, store.texts)
        else:
            readded = set(added)
            lexical.update_into(self.lexical_dir, [key for key in stale if key not in readded], added, store.texts)
        atomic_write_text(self.sync_path, current + "\n")
