"""What the command modules share: progress output, opening the store and the arXiv client, the
index stage, and date options. Printing and option parsing only; the work is in the library."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import datetime

import click

from .config import Settings
from .errors import SemdigestError
from .ingest import fetch_into
from .digest import period_papers, pool_of
from .pipeline import IndexReport, Models, embed_missing, embed_texts, refresh_indexes
from .rank import Pool
from .store import Store
from .topics import Topic

DAY = click.DateTime(["%Y-%m-%d"])


def say(message: str) -> None:
    """Progress and warnings go to stderr, so stdout stays clean for --json."""
    click.echo(message, err=True)


class Meter:
    """A one-line progress counter on stderr (rewritten in place on a terminal)."""

    def __init__(self, label: str, total: int | None = None, unit: str = "papers") -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done, self.started, self.shown = 0, time.monotonic(), 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.shown >= 0.5 or (self.total and self.done >= self.total):
            self.shown = now
            self._show("\r" if sys.stderr.isatty() else "", "" if sys.stderr.isatty() else "\n")

    def finish(self) -> None:
        if sys.stderr.isatty() and self.shown:
            click.echo(err=True)

    def _show(self, prefix: str, suffix: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        of = f"/{self.total}" if self.total else ""
        click.echo(f"{prefix}{self.label}: {self.done}{of} {self.unit} ({self.done / elapsed:.0f}/s)", err=True, nl=False)
        click.echo(suffix, err=True, nl=False)


def open_store(settings: Settings) -> Store:
    return Store(settings.db_path)


def arxiv_client(settings: Settings):  # noqa: ANN201 - arxiv.Client; httpx and feedparser load only when needed
    from .arxiv import Client

    # retries back off from the politeness delay itself: 3 s, 6 s, 12 s ... against arXiv
    return Client(settings.api_url, settings.rss_url, delay=settings.delay, backoff=settings.delay,
                  max_retries=settings.max_retries, on_wait=say)


def ensure_stored(settings: Settings, store: Store, paper_ids: list[str]) -> None:
    """Fetch the papers the store lacks from arXiv; one arXiv does not know is an error."""
    unknown = [paper_id for paper_id in paper_ids if store.get(paper_id) is None]
    if not unknown:
        return
    say(f"fetching {', '.join(unknown)} from arXiv ...")
    with arxiv_client(settings) as client:
        lookup = client.lookup(unknown)
    if lookup.missing:
        raise SemdigestError(f"arXiv does not know {', '.join(lookup.missing)}")
    fetch_into(store, lookup.papers)


def models_of(settings: Settings) -> Models:
    return Models(settings.model, models_dir=settings.models_dir, cache_dir=settings.cache_dir, fast=settings.fast,
                  on_load=say)


def prepare(settings: Settings, store: Store, models: Models, *, paper_ids: Sequence[str] | None = None,
            rebuild: bool = False) -> tuple[int, IndexReport]:
    """Embed what has no vector yet (of these papers), then update both indexes: the `index` stage."""
    meter = Meter("embedding")

    def start(count: int) -> None:
        say(f"embedding {count} papers with {models.model} ...")
        models.embedder  # noqa: B018 - load (or build) the model first, so the rate counts papers only
        meter.total, meter.started = count, time.monotonic()

    embedded = embed_missing(store, models, paper_ids=paper_ids, on_start=start, progress=meter.advance)
    meter.finish()
    return embedded, refresh_indexes(store, models.model_id, settings.index_dir, rebuild=rebuild, on_problem=say)


def ranking_pool(settings: Settings, store: Store, first: str, last: str, topics: Sequence[Topic]) -> Pool:
    """The period's papers ready to rank: they and the topics' example papers embedded, the indexes current."""
    papers = period_papers(store, first, last)
    references = [paper_id for topic in topics for paper_id in (*topic.examples, *topic.negatives)]
    models = models_of(settings)
    prepare(settings, store, models, paper_ids=[paper.id for paper in papers] + references)
    model_id = models.model_id
    return pool_of(store, papers, settings.index_dir, lambda texts: embed_texts(store, model_id, texts, models))


def to_day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def period(store: Store, day: str | None, first: str | None, last: str | None) -> tuple[str, str]:
    """The days a command covers: --date, or --from/--to, or else the latest listing day in the store."""
    if day and (first or last):
        raise click.UsageError("give either --date or --from/--to")
    days = store.listing_days()
    if not days:
        raise SemdigestError("the store has no listed papers yet (semdigest fetch, or semdigest ingest FILE)")
    if day:
        return day, day
    if first or last:
        start, end = first or days[0], last or days[-1]
        if start > end:
            raise click.UsageError(f"--from {start} is after --to {end}")
        return start, end
    return days[-1], days[-1]
