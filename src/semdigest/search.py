"""`semdigest similar`: the stored papers nearest to a paper or a text, dense + BM25 over the whole store.

Both indexes propose candidates (the dense and the BM25 top few hundred), which are then fused as the
development labels favoured (fusion.hybrid_scores). Nothing here loads the embedding model: a query
paper that is indexed already has its vector in the store's cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fusion import SIMILAR_LEXICAL_WEIGHT, hubness, hybrid_scores
from .index import VectorIndex
from .lexical import Bm25Index
from .paper import Paper
from .pipeline import LEXICAL, VECTORS
from .store import Store

POOL = 300  # candidates from each side; the research ranked pools of a few hundred


@dataclass(frozen=True)
class Hit:
    paper: Paper
    score: float  # fused relevance in standard deviations above the candidate pool's mean
    cosine: float  # plain cosine similarity of the embeddings, for reference


@dataclass(frozen=True)
class Filters:
    since: str | None = None  # YYYY-MM-DD, on the first-version date (else the listing date)
    until: str | None = None
    categories: tuple[str, ...] = ()
    ids: tuple[str, ...] | None = None  # only among these papers (a reading list, a curated list)

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.categories) or self.ids is not None


class Searcher:
    """The open indexes of one data directory; open once per command."""

    def __init__(self, store: Store, directory: Path) -> None:
        self.store = store
        self.vectors = VectorIndex.open(directory / VECTORS)
        self.lexical = Bm25Index.load(directory / LEXICAL)

    @property
    def model(self) -> str:
        return self.vectors.model

    def vector_of(self, paper: Paper) -> np.ndarray | None:
        """The cached vector of a stored paper's current text, if it has one."""
        key = self.store.keys([paper.id]).get(paper.id)
        if key is None or key not in self.vectors.state:
            return None
        return self.store.vectors(self.model, [key])[0]

    def similar(self, vector: np.ndarray, text: str, *, n: int = 10, exclude: tuple[str, ...] = (),
                filters: Filters | None = None) -> list[Hit]:
        """The `n` papers most like (`vector`, `text`), best first, without the `exclude`d ids."""
        excluded = set(self.store.keys(list(exclude)).values())
        allowed = self._allowed(filters) if filters else None
        lexical = self.lexical.scores(text)  # every paper's, once: it picks candidates, then scores them
        pool = self._candidates(vector, lexical, excluded, allowed)
        if not pool:
            return []
        vectors = self.store.vectors(self.model, pool)
        fused = hybrid_scores(vector, vectors, self.lexical.pick(lexical, pool),
                              hubness=hubness(vectors, self.vectors.sample_vectors), weight=SIMILAR_LEXICAL_WEIGHT)
        best = np.argsort(-fused, kind="stable")[:n]
        papers = self.store.papers_by_key([pool[i] for i in best])
        return [Hit(papers[pool[i]], float(fused[i]), float(vectors[i] @ vector)) for i in best]

    def _allowed(self, filters: Filters) -> np.ndarray:
        allowed = self.store.keys_matching(filters.since, filters.until, filters.categories)
        if filters.ids is not None:
            chosen = np.fromiter(self.store.keys(list(filters.ids)).values(), dtype=np.int64)
            allowed = np.intersect1d(allowed, chosen)
        return allowed

    def _candidates(self, vector: np.ndarray, lexical: np.ndarray, excluded: set[int],
                    allowed: np.ndarray | None) -> list[int]:
        if allowed is not None and len(allowed) == 0:
            return []
        _, dense = self.vectors.search(vector[None, :], POOL + len(excluded), allowed)
        keys = self.lexical.keys
        if allowed is not None:
            lexical = np.where(np.isin(keys, allowed), lexical, -1.0)
        best = np.argsort(-lexical, kind="stable")[:POOL + len(excluded)]
        top = keys[best[lexical[best] > 0]]  # papers sharing no term with the query are no candidates
        pool = dict.fromkeys(int(key) for key in np.concatenate([dense[0], top]) if key >= 0)
        return [key for key in pool if key not in excluded and key in self.vectors.state]
