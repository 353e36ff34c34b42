"""The embedding stage over the store's cache: a text is embedded once per model, keyed by its content hash."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import IndexProblem
from ..paper import content_hash
from ..store import Store
from .registry import LazyEmbedder

EMBED_CHUNK = 1024  # texts per cache commit: an interrupted run keeps every finished chunk


def embed_missing(
    store: Store,
    model: LazyEmbedder,
    *,
    paper_ids: Sequence[str] | None = None,
    on_start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Embed every stored paper (or these papers) whose text has no cached vector for this model; returns
    how many texts were embedded. A digest embeds only its own papers: a freshly ingested snapshot of
    millions of papers is embedded by `semdigest index`, when the user asks for it."""
    todo = store.unembedded_hashes(model.model_id, paper_ids)  # the texts are read a chunk at a time
    if todo and on_start:
        on_start(len(todo))
    for start in range(0, len(todo), EMBED_CHUNK):
        chunk = store.texts_by_hash(todo[start : start + EMBED_CHUNK])
        vectors = model.embedder.encode([text for _, text in chunk], progress=progress)
        store.put_vectors(model.embedder.model_id, [digest for digest, _ in chunk], vectors)
    return len(todo)


def embed_texts(store: Store, model_id: str, texts: Sequence[str], model: LazyEmbedder) -> np.ndarray:
    """Vectors of free texts (topic names, descriptions, queries), cached like papers' texts; the
    model is loaded only when a text was never embedded before."""
    hashes = [content_hash(text, "") for text in texts]
    cached = store.cached(model_id, hashes)
    missing = sorted({digest: text for digest, text in zip(hashes, texts) if digest not in cached}.items())
    if missing:
        embedder = model.embedder
        if embedder.model_id != model_id:
            raise IndexProblem(
                f"the index holds {model_id} vectors but the model is {embedder.model_id}: run semdigest index"
            )
        vectors = embedder.encode([text for _, text in missing])
        store.put_vectors(model_id, [digest for digest, _ in missing], vectors)
        cached.update(zip((digest for digest, _ in missing), vectors))
    return np.vstack([cached[digest] for digest in hashes]) if texts else np.zeros((0, 0), np.float32)
