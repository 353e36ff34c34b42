"""The pieces of Home.similar that hold no state: its arguments checked (before any work), a reading-list
filter's ids made canonical, and the results of the query papers and the text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..config import check_categories
from ..embedding.cache import embed_texts
from ..embedding.registry import LazyEmbedder
from ..errors import UsageError
from ..paper import Paper
from ..ranking.search import Filters, Searcher
from ..sources.ids import parse_id
from ..store import Store
from .reports import Similar


def checked_request(wanted: Sequence[str], text: str | None, filters: Filters | None) -> Filters | None:
    """Fail on a request that cannot be answered; the filters with their reading list's ids canonical."""
    if not wanted and text is None:
        raise UsageError("give one or more arXiv ids, or a text")
    if text is not None and not text.strip():
        raise UsageError("the text to search for is empty")
    if filters and filters.categories:
        check_categories("category", filters.categories)
    if filters and filters.since and filters.until and filters.since > filters.until:
        raise UsageError(f"the period starts ({filters.since}) after it ends ({filters.until})")
    return canonical(filters)


def canonical(filters: Filters | None) -> Filters | None:
    if filters is None or filters.ids is None:
        return filters
    return replace(filters, ids=tuple(dict.fromkeys(parse_id(raw).id for raw in filters.ids)))


def similar_results(
    store: Store,
    model: LazyEmbedder,
    searcher: Searcher,
    queries: list[tuple[int, Paper, np.ndarray]],
    text: str | None,
    n: int,
    filters: Filters | None,
) -> list[Similar]:
    """The `n` papers most like each query paper (itself left out), then those most like `text`."""
    results = [
        Similar(paper.id, paper, searcher.similar(vector, paper.text, n=n, exclude=(key,), filters=filters))
        for key, paper, vector in queries
    ]
    if text is not None:
        vector = embed_texts(store, searcher.model, [text], model)[0]
        results.append(Similar(text, None, searcher.similar(vector, text, n=n, filters=filters)))
    return results
