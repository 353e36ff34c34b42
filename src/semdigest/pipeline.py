"""The stages after the store, in order: embed what is missing, then bring both indexes up to date."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .files import atomic_write_text
from .index import EXACT_LIMIT, IndexProblem, VectorIndex, read_manifest
from .lexical import Bm25Index
from .paper import content_hash
from .store import Store

if TYPE_CHECKING:
    from .embed import Embedder

EMBED_CHUNK = 1024  # texts per cache commit: an interrupted run keeps every finished chunk
VECTORS, LEXICAL, SYNC = "vectors", "lexical", "SYNC"  # sub-directories of the index directory


class Models:
    """The embedding model of a data directory, loaded only when a text actually needs embedding: a
    daily run whose papers are all cached never pays the seconds a model load costs."""

    def __init__(self, model: str, *, models_dir: Path | None, cache_dir: Path, fast: bool = True,
                 on_load: Callable[[str], None] | None = None) -> None:
        self.model, self.models_dir, self.cache_dir, self.fast, self.on_load = model, models_dir, cache_dir, fast, on_load
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from .embed import load_embedder

            if self.on_load:
                self.on_load(f"loading the embedding model {self.model} ...")
            self._embedder = load_embedder(self.model, models_dir=self.models_dir, cache_dir=self.cache_dir,
                                           fast=self.fast)
        return self._embedder

    @property
    def model_id(self) -> str:
        from .embed import planned_model_id

        if self._embedder is None:
            planned = planned_model_id(self.model, models_dir=self.models_dir, cache_dir=self.cache_dir, fast=self.fast)
            if planned is not None:
                return planned
        return self.embedder.model_id


@dataclass(frozen=True)
class IndexReport:
    added: int
    removed: int
    total: int
    rebuilt: bool
    kind: str


def embed_missing(store: Store, models: Models, *, paper_ids: Sequence[str] | None = None,
                  on_start: Callable[[int], None] | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Embed every stored paper (or these papers) whose text has no cached vector for this model; returns
    how many texts were embedded. A digest embeds only its own papers: a freshly ingested snapshot of
    millions of papers is embedded by `semdigest index`, when the user asks for it."""
    todo = store.unembedded(models.model_id, paper_ids)
    if todo and on_start:
        on_start(len(todo))
    for start in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[start:start + EMBED_CHUNK]
        vectors = models.embedder.encode([text for _, text in chunk], progress=progress)
        store.put_vectors(models.embedder.model_id, [digest for digest, _ in chunk], vectors)
    return len(todo)


def embed_texts(store: Store, model_id: str, texts: Sequence[str], models: Models) -> np.ndarray:
    """Vectors of free texts (topic names, descriptions, queries), cached like papers' texts; the
    model is loaded only when a text was never embedded before."""
    hashes = [content_hash(text, "") for text in texts]
    cached = store.cached(model_id, hashes)
    missing = sorted({digest: text for digest, text in zip(hashes, texts) if digest not in cached}.items())
    if missing:
        embedder = models.embedder
        if embedder.model_id != model_id:
            raise IndexProblem(f"the index holds {model_id} vectors but the model is {embedder.model_id}:"
                               " run semdigest index")
        vectors = embedder.encode([text for _, text in missing])
        store.put_vectors(model_id, [digest for digest, _ in missing], vectors)
        cached.update(zip((digest for digest, _ in missing), vectors))
    return np.vstack([cached[digest] for digest in hashes]) if texts else np.zeros((0, 0), np.float32)


def refresh_indexes(store: Store, model_id: str, directory: Path, *, rebuild: bool = False,
                    on_problem: Callable[[str], None] | None = None, exact_limit: int = EXACT_LIMIT) -> IndexReport:
    """Make the FAISS and BM25 indexes hold exactly the stored papers whose current text has a cached vector.

    Changes are applied incrementally. A missing, damaged or mismatched FAISS index is rebuilt from the
    cached vectors (nothing is re-embedded), and so is an exact index that outgrew `exact_limit`; a BM25
    index that does not belong to the FAISS index on disk (an interrupted run) is rebuilt from the texts.
    """
    desired = store.embedded(model_id)
    if not desired:
        raise IndexProblem("nothing to index: no stored paper has a vector yet (ingest or fetch papers first)")
    previous = _checksum(directory)
    index = None if rebuild else _open_for_update(directory / VECTORS, model_id, on_problem)
    if index is not None and index.kind == "flat" and len(desired) > exact_limit:
        index = None
    if index is None:
        keys = sorted(desired)
        index = VectorIndex.build(model_id, keys, [desired[key] for key in keys], store.vectors(model_id, keys),
                                  exact_limit=exact_limit)
        stale, added, rebuilt = [], keys, True
    else:
        stale = [key for key, digest in index.state.items() if desired.get(key) != digest]
        index.remove(stale)
        added = [key for key in desired if key not in index.state]
        index.update(added, [desired[key] for key in added], store.vectors(model_id, added))
        rebuilt = False
    if rebuilt or stale or added:
        index.resample(lambda keys: store.vectors(model_id, keys))
        index.save(directory / VECTORS)
    _refresh_lexical(store, index, directory, previous, stale, added, rebuild=rebuild, on_problem=on_problem)
    return IndexReport(len(added), len(set(stale) - set(added)), len(index), rebuilt, index.kind)


def _open_for_update(directory: Path, model_id: str, on_problem: Callable[[str], None] | None) -> VectorIndex | None:
    try:
        index = VectorIndex.open(directory, writable=True)
    except IndexProblem as problem:
        if on_problem and "no index" not in str(problem):
            on_problem(f"{problem}: rebuilding it from the cached vectors")
        return None
    if index.model != model_id:
        if on_problem:
            on_problem(f"the index holds {index.model} vectors, not {model_id}: rebuilding it")
        return None
    return index


def _checksum(directory: Path) -> str | None:
    try:
        return read_manifest(directory / VECTORS).checksum
    except IndexProblem:
        return None


def _refresh_lexical(store: Store, index: VectorIndex, directory: Path, previous: str | None,
                     stale: list[int], added: list[int], *, rebuild: bool,
                     on_problem: Callable[[str], None] | None) -> None:
    """Apply the FAISS index's change to the BM25 index too. The SYNC marker names the FAISS index the
    BM25 index belongs to: when it is not the one the change started from (an interrupted run), or the
    BM25 files do not load, or a rebuild was asked for, it is rebuilt from the texts instead."""
    marker = directory / LEXICAL / SYNC
    current = read_manifest(directory / VECTORS).checksum
    recorded = marker.read_text().strip() if marker.exists() else None
    lexical = None
    if not rebuild and recorded is not None and recorded in (current, previous):
        try:
            lexical = Bm25Index.load(directory / LEXICAL)
        except IndexProblem as problem:
            if on_problem:
                on_problem(f"{problem}: rebuilding it from the stored texts")
    if lexical is not None and recorded == current:
        return
    if lexical is None:
        keys = sorted(index.state)
        lexical = Bm25Index.build(keys, store.texts(keys))
    else:
        readded = set(added)
        lexical = lexical.remove([key for key in stale if key not in readded]).add(added, store.texts(added))
    lexical.save(directory / LEXICAL)
    atomic_write_text(marker, current + "\n")
