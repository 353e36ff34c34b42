"""`semdigest similar`: the stored papers nearest to a paper or a text, dense + BM25 over the whole store.

Both indexes propose candidates (the dense and the BM25 top few hundred), which are then fused as the
development labels favoured (fusion.hybrid_scores). Nothing here loads the embedding model: a query
paper that is indexed already has its vector in the store's cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..indexes.directory import Indexes
from ..indexes.lexical import tokenize
from ..paper import Paper
from ..store import Store
from .fusion import SIMILAR_LEXICAL_WEIGHT, hubness, hybrid_scores

POOL = 300  # candidates from each side; the research ranked pools of a few hundred


@dataclass(frozen=True)
class Hit:
    paper: Paper
    score: float  # fused relevance in standard deviations above the candidate pool's mean
    cosine: float  # plain cosine similarity of the embeddings, for reference


@dataclass(frozen=True)
class Filters:
    since: date | None = None  # on the first-version date (else the listing date)
    until: date | None = None
    categories: tuple[str, ...] = ()
    ids: tuple[str, ...] | None = None  # only among these papers (a reading list, a curated list)

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.categories) or self.ids is not None


class Searcher:
    """The store and its open indexes; open once per command."""

    def __init__(self, store: Store, indexes: Indexes) -> None:
        self.store = store
        self.vectors, self.lexical, self.sample = indexes.vectors, indexes.lexical, indexes.sample

    @property
    def model(self) -> str:
        return self.vectors.model

    def vector_of(self, key: int) -> np.ndarray | None:
        """The cached vector of a stored paper's current text, if the index holds it."""
        if key not in self.vectors.state:
            return None
        return self.store.vectors(self.model, [key])[0]

    def similar(
        self, vector: np.ndarray, text: str, *, n: int = 10, exclude: Sequence[int] = (), filters: Filters | None = None
    ) -> list[Hit]:
        """The `n` papers most like (`vector`, `text`), best first, without the papers of the `exclude`d keys."""
        excluded = {int(key) for key in exclude}
        allowed = self._allowed(filters) if filters else None
        terms = tokenize(text)  # once: for the candidates, then for the pool's scores
        pool = self._candidates(vector, terms, excluded, allowed)
        if not pool:
            return []
        vectors = self.store.vectors(self.model, pool)
        fused = hybrid_scores(
            vector,
            vectors,
            self.lexical.term_scores(terms, pool),
            hubness=hubness(vectors, self.sample.vectors),
            weight=SIMILAR_LEXICAL_WEIGHT,
        )
        best = np.argsort(-fused, kind="stable")[:n]
        papers = self.store.papers_by_key([pool[i] for i in best])
        return [Hit(papers[pool[i]], float(fused[i]), float(vectors[i] @ vector)) for i in best]

    def _allowed(self, filters: Filters) -> np.ndarray:
        allowed = self.store.keys_matching(filters.since, filters.until, filters.categories)
        if filters.ids is not None:
            chosen = np.fromiter(self.store.keys(list(filters.ids)).values(), dtype=np.int64)
            allowed = np.intersect1d(allowed, chosen)
        return allowed

    def _candidates(
        self, vector: np.ndarray, terms: list[str], excluded: set[int], allowed: np.ndarray | None
    ) -> list[int]:
        if allowed is not None and len(allowed) == 0:
            return []
        exact = lambda keys: self.store.vectors(self.model, keys)  # re-ranks approximate candidates
        _, dense = self.vectors.search(vector[None, :], POOL + len(excluded), allowed, exact=exact)
        top = self.lexical.best(terms, POOL + len(excluded), allowed)  # papers sharing no term are no candidates
        pool = dict.fromkeys(int(key) for key in np.concatenate([dense[0], top]) if key >= 0)
        return [key for key in pool if key not in excluded and key in self.vectors.state]
