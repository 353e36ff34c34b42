"""semdigest: semantic-ranking digests of new arXiv papers, offline.

Everything goes through one object per data directory, `Home`; the `semdigest` command is a thin front
end over it:

    from semdigest import Filters, Home

    with Home.open("my-digest") as home:
        home.ingest(Path("papers.jsonl.gz"))            # or home.fetch() for today's listing
        home.index()                                    # embed what is new, update FAISS and BM25
        for paper in home.similar_by_id("2508.13073", n=5):
            print(paper.id, paper.title)
        (result,) = home.similar(["2508.13073"], filters=Filters(categories=("cs.RO",)))
        digest = home.digest()                          # rank the latest day for every topic, write the pages

Topics are edited through `home.topics()` (`add`, `set`, `like`, `unlike`, `remove`, `import_from`), each
edit a read-modify-write under the data directory's writer lock, which the Home owns. Errors a user can
cause are `SemdigestError`s with a one-line message.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

# Where each public name lives. They load on first use, so that `import semdigest.embedding.registry` in a
# Ray worker, or `semdigest --help`, does not pay for FAISS and the whole application.
_EXPORTS = {
    "Events": "app.events",
    "Meter": "app.events",
    "Home": "app.home",
    "ListRanker": "app.home",
    "CheckReport": "app.reports",
    "DemoResult": "app.reports",
    "DigestResult": "app.reports",
    "FetchReport": "app.reports",
    "HarvestReport": "app.reports",
    "HistoryReport": "app.reports",
    "IndexResult": "app.reports",
    "IngestReport": "app.reports",
    "InitResult": "app.reports",
    "LibraryImport": "app.reports",
    "MailDelivery": "app.reports",
    "Paths": "app.reports",
    "Preview": "app.reports",
    "RunResult": "app.reports",
    "Similar": "app.reports",
    "TopicsFile": "app.topics",
    "SemdigestError": "errors",
    "Paper": "paper",
    "Digest": "ranking.digest",
    "TopicDigest": "ranking.digest",
    "Explanation": "ranking.rank",
    "Move": "ranking.rank",
    "RankedPaper": "ranking.rank",
    "Filters": "ranking.search",
    "Hit": "ranking.search",
    "Topic": "ranking.topics",
    "TopicChange": "ranking.topics",
}

if TYPE_CHECKING:
    from .app.events import Events, Meter
    from .app.home import Home, ListRanker
    from .app.reports import (
        CheckReport,
        DemoResult,
        DigestResult,
        FetchReport,
        HarvestReport,
        HistoryReport,
        IndexResult,
        IngestReport,
        InitResult,
        LibraryImport,
        MailDelivery,
        Paths,
        Preview,
        RunResult,
        Similar,
    )
    from .app.topics import TopicsFile
    from .errors import SemdigestError
    from .paper import Paper
    from .ranking.digest import Digest, TopicDigest
    from .ranking.rank import Explanation, Move, RankedPaper
    from .ranking.search import Filters, Hit
    from .ranking.topics import Topic, TopicChange


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'semdigest' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "CheckReport",
    "DemoResult",
    "Digest",
    "DigestResult",
    "Events",
    "Explanation",
    "FetchReport",
    "Filters",
    "HarvestReport",
    "HistoryReport",
    "Hit",
    "Home",
    "IndexResult",
    "IngestReport",
    "InitResult",
    "LibraryImport",
    "ListRanker",
    "MailDelivery",
    "Meter",
    "Move",
    "Paper",
    "Paths",
    "Preview",
    "RankedPaper",
    "RunResult",
    "SemdigestError",
    "Similar",
    "Topic",
    "TopicChange",
    "TopicDigest",
    "TopicsFile",
    "__version__",
]
