"""Papers into the store: the arXiv clients built from the settings, batches of papers stored (what a source
gave before it failed is kept), fields cut to their size limits, and the papers the store lacks fetched."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from itertools import islice
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import ArxivError, SemdigestError, UnknownPaper, UsageError
from ..paper import Paper
from ..sources.limits import bounded
from ..store import Store, UpsertCounts
from .events import Events
from .reports import FetchReport

if TYPE_CHECKING:
    from ..sources.arxiv import Client
    from ..sources.oai import OaiClient

BATCH = 1000  # papers per transaction: an interrupted run loses at most this much work, never data
# papers per transaction from a large file: each commit rewrites every index page its papers touched, and the
# index on content hashes takes them in random order (200,000 papers: 23.8 s in batches of 1,000, 17.9 s in
# batches of 10,000, 17.1 s in batches of 1,000 without that index)
BULK_BATCH = 10_000
ARXIV_BEGAN = date(1991, 8, 1)  # its first papers (hep-th/9108xxx) were submitted in August 1991


def check_submission_day(day: date) -> None:
    """A day arXiv can have papers of: not before it existed, not after today (anywhere on Earth)."""
    if day < ARXIV_BEGAN:
        raise UsageError(f"no papers were submitted on {day}: arXiv began in August 1991")
    if day > date.today() + timedelta(days=1):
        raise UsageError(f"{day} is in the future: no papers were submitted then yet")


def arxiv_client(settings: Settings, events: Events) -> Client:
    from ..sources.arxiv import Client  # httpx and feedparser load only when arXiv is asked

    s = settings
    # retries back off from the politeness delay itself: 3 s, 6 s, 12 s ... against arXiv
    return Client(s.api_url, s.rss_url, delay=s.delay, backoff=s.delay, max_retries=s.max_retries, on_wait=events.say)


def oai_client(settings: Settings, events: Events) -> OaiClient:
    from ..sources.oai import OaiClient

    s = settings
    return OaiClient(s.oai_url, delay=s.delay, backoff=s.delay, max_retries=s.max_retries, on_wait=events.say)


def fetch_listing(store: Store, events: Events, client: Client, cats: list[str], day: date | None) -> FetchReport:
    """Today's RSS listing (`day` None), else the papers submitted on `day` (the API, page by page), stored."""
    if day is None:
        listing = client.listing(cats)
        for skipped in listing.skipped:
            events.say(f"warning: left out of the listing: {skipped}")
        return FetchReport(store_papers(store, events, listing.papers), listing.date)
    meter = events.meter("fetching")

    def page(done: int, total: int) -> None:
        meter.total = total
        meter.advance(done - fetched[0])
        fetched[0] = done

    fetched = [0]
    counts = store_papers(store, events, client.submitted_on(cats, day, on_page=page))
    meter.finish()
    return FetchReport(counts, day)


def store_papers(
    store: Store,
    events: Events,
    papers: Iterator[Paper] | Sequence[Paper],
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH,
) -> UpsertCounts:
    """Store papers in batches, one transaction each: an interrupted run keeps what it had, a rerun resumes.
    A source that fails part way (arXiv down at page 5 of `fetch --date`, a file cut short) keeps the
    papers it gave before the failure."""
    counts = UpsertCounts()
    iterator = iter(papers)
    while True:
        batch: list[Paper] = []
        try:
            batch.extend(islice(iterator, batch_size))
        except SemdigestError:
            counts.add(upsert(store, events, batch))
            if kept := counts.new + counts.updated + counts.unchanged:
                events.say(f"stored the {kept} papers that came before this error; run it again for the rest")
            raise
        if not batch:
            return counts
        counts.add(upsert(store, events, batch))
        if progress:
            progress(len(batch))


def upsert(store: Store, events: Events, papers: list[Paper]) -> UpsertCounts:
    """One batch into the store, each field cut to its size limit; what was cut, and the new papers that
    came without a title or an abstract (not stored), are reported."""
    fitted = []
    for paper in papers:
        paper, cuts = bounded(paper)
        fitted.append(paper)
        if cuts:
            events.say(f"warning: {paper.id} is larger than any real paper, cut: {', '.join(cuts)}")
    counts = store.upsert(fitted)
    if lacking := counts.incomplete:
        shown = ", ".join(lacking[:5]) + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
        events.say(f"warning: not stored, as they came without a title or an abstract: {shown}")
    return counts


def ensure_stored(store: Store, events: Events, settings: Settings, paper_ids: Sequence[str]) -> None:
    """Fetch the papers the store lacks from arXiv; one arXiv does not know is an error."""
    store_unknown(store, events, settings, paper_ids, all_or_none=True)


def store_unknown(
    store: Store, events: Events, settings: Settings, paper_ids: Sequence[str], *, all_or_none: bool = False
) -> list[str]:
    """Fetch the papers the store lacks from arXiv, all in one id_list lookup, and store them; returns
    the ids arXiv does not know (`all_or_none`: raise UnknownPaper instead, storing nothing)."""
    stored = store.get_many(list(paper_ids))  # one query, however large the library
    unknown = [paper_id for paper_id in dict.fromkeys(paper_ids) if paper_id not in stored]
    if not unknown:
        return []
    named = ", ".join(unknown) if len(unknown) <= 5 else f"{len(unknown)} papers"
    events.say(f"fetching {named} from arXiv ...")
    with arxiv_client(settings, events) as client:
        lookup = client.lookup(unknown)
    if lookup.missing and all_or_none:
        raise UnknownPaper(f"arXiv does not know {', '.join(lookup.missing)}")
    incomplete = store_papers(store, events, lookup.papers).incomplete
    if incomplete and all_or_none:
        raise ArxivError(f"arXiv sent {', '.join(incomplete)} without a title or an abstract: try again later")
    return [*lookup.missing, *incomplete]  # a paper arXiv sent without its text is not resolved either
