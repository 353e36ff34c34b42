"""Size limits on what a paper's fields may hold, applied where papers enter the store.

One hostile or broken record (a 50 MB abstract) cost 0.9 GB of memory to ingest and 7 GB to index, for
one paper: every later stage (the embedding model's tokenizer, BM25, the pages) handles whatever text the
store gives it. The limits sit far above real papers: in the 78,665 papers of ../shared/corpus the longest
title has 230 characters and the longest abstract 3,441 (arXiv's submission form allows 1,920); the
largest collaborations list about 3,000 authors.
"""

from __future__ import annotations

import dataclasses

from ..paper import Paper

TEXT_LIMITS = {"title": 2_000, "abstract": 20_000, "comment": 2_000, "journal_ref": 2_000, "doi": 200}
ITEM_LIMITS = {"authors": 10_000, "categories": 100}  # names and categories a paper may list
NAME_LIMIT = 500  # characters of one author's name or one category
# a field as a record spells it, before it is split or its whitespace collapsed: the cut comes first,
# because collapsing the whitespace of 50 MB alone takes 0.9 GB (10 million pieces joined)
RAW_LIMITS = {**TEXT_LIMITS, "authors": 1_000_000, "categories": 5_000}


def cut_raw(name: str, value: str, cuts: list[str]) -> str:
    """`value` of the field `name` cut to its limit before any parsing; a cut is noted in `cuts`."""
    limit = RAW_LIMITS[name]
    if len(value) <= limit:
        return value
    cuts.append(f"{name} {len(value)} -> {limit} characters")
    return value[:limit]


def bounded(paper: Paper) -> tuple[Paper, list[str]]:
    """The paper with every field cut to its limit, and what was cut (`abstract 50000000 -> 20000`)."""
    changes: dict[str, object] = {}
    cuts = []
    for name, limit in TEXT_LIMITS.items():
        value = getattr(paper, name)
        if value is not None and len(value) > limit:
            changes[name] = value[:limit]
            cuts.append(f"{name} {len(value)} -> {limit} characters")
    for name, limit in ITEM_LIMITS.items():
        items = getattr(paper, name)
        if len(items) > limit or max(map(len, items), default=0) > NAME_LIMIT:
            changes[name] = tuple(item[:NAME_LIMIT] for item in items[:limit])
            cuts.append(f"{name} {len(items)} -> {min(len(items), limit)} (each at most {NAME_LIMIT} characters)")
    return (dataclasses.replace(paper, **changes) if changes else paper), cuts  # type: ignore[arg-type]
