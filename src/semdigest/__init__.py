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

from ._version import __version__
from .app.events import Events, Meter
from .app.home import Home, ListRanker
from .app.reports import (
    DemoResult,
    DigestResult,
    FetchReport,
    HistoryReport,
    IndexResult,
    IngestReport,
    InitResult,
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

__all__ = [
    "DemoResult",
    "Digest",
    "DigestResult",
    "Events",
    "Explanation",
    "FetchReport",
    "Filters",
    "HistoryReport",
    "Hit",
    "Home",
    "IndexResult",
    "IngestReport",
    "InitResult",
    "ListRanker",
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
