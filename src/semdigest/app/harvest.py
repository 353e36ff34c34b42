"""An OAI-PMH harvest of arXiv into the store, resumable after a kill and incremental (Home.harvest).

Each page is stored with the checkpoint in one transaction: the page's papers, the removal of its deleted
records, and the resumption token of the next page. A harvest killed at any moment therefore resumes at
the first page it had not stored, and a page is never stored twice. When the harvest completes, the
latest datestamp it stored becomes where the next one starts (`from` is inclusive, so that day's records
come again and count as unchanged: at day granularity nothing is missed).

Deleted records (header status="deleted") are removed from the store rather than marked: arXiv no longer
disseminates them, a mark would have to be filtered out by every search, digest and index, and the index
refresh already drops the vectors of papers that are gone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ..errors import BadResumptionToken
from ..sources.oai import OaiClient, OaiPage, Selection
from ..store import HarvestCheckpoint, Store
from .events import Events
from .reports import HarvestReport


def harvest_into(store: Store, client: OaiClient, selection: Selection, events: Events) -> HarvestReport:
    """Harvest `selection` page by page; `from` defaults to where the last completed harvest stopped."""
    saved = store.harvest_checkpoint(selection.prefix, selection.set_spec or "")
    checkpoint, resumed = _start(saved, selection)
    report = HarvestReport(selection.prefix, selection.set_spec, checkpoint.from_day, checkpoint.until_day)
    report.resumed = resumed
    if resumed:
        events.say(f"resuming the interrupted harvest of {_describe(checkpoint)} at its next page ...")
    else:
        if saved and saved.token:
            events.say(f"leaving the interrupted harvest of {_describe(saved)}: this one asks for other dates")
        events.say(f"harvesting {_describe(checkpoint)} ...")
    meter = events.meter("harvesting", unit="records")
    while True:
        try:
            for page in client.pages(_selection(checkpoint), checkpoint.token):
                checkpoint = _store_page(store, checkpoint, page, report)
                meter.total = meter.total or page.list_size
                if page.records:
                    meter.advance(page.records)
            break
        except BadResumptionToken:
            if checkpoint.token is None or report.restarted:
                raise
            # arXiv's tokens expire daily: list again from the checkpoint's `from` (the pages stored
            # already come again and count as unchanged)
            report.restarted, meter.total = True, None
            events.say(f"the resumption token has expired: harvesting {_describe(checkpoint)} again from the start")
            checkpoint = replace(checkpoint, token=None)
    meter.finish()
    report.last_datestamp = checkpoint.last_datestamp
    return report


def _start(saved: HarvestCheckpoint | None, selection: Selection) -> tuple[HarvestCheckpoint, bool]:
    """The interrupted harvest of this set and format when the selection fits it, else a new one from
    `--from`, else from the last completed harvest's latest datestamp, else from the beginning."""
    fits = saved and selection.from_day in (None, saved.from_day) and selection.until_day in (None, saved.until_day)
    if saved and saved.token and fits:
        return saved, True
    last = saved.last_datestamp if saved else None
    since = selection.from_day or (date.fromisoformat(last[:10]) if last else None)
    return HarvestCheckpoint(
        selection.prefix, selection.set_spec or "", since, selection.until_day, None, None, last
    ), False


def _store_page(store: Store, checkpoint: HarvestCheckpoint, page: OaiPage, report: HarvestReport) -> HarvestCheckpoint:
    """The page and the checkpoint after it, in one transaction."""
    newest = max(filter(None, (checkpoint.newest, page.datestamp)), default=None)
    if page.token:
        after = replace(checkpoint, token=page.token, newest=newest)
    else:  # the last page: the harvest is complete, and the next one starts from its newest datestamp
        last = max(filter(None, (newest, checkpoint.last_datestamp)), default=None)
        after = replace(checkpoint, token=None, newest=None, last_datestamp=last)
    with store.transaction():
        counts = store.upsert(page.papers)
        removed = store.remove(page.deleted)
        store.save_harvest_checkpoint(after)
    report.add(page, counts, removed)
    return after


def _selection(checkpoint: HarvestCheckpoint) -> Selection:
    return Selection(checkpoint.prefix, checkpoint.set_spec or None, checkpoint.from_day, checkpoint.until_day)


def _describe(checkpoint: HarvestCheckpoint) -> str:
    what = f"set {checkpoint.set_spec}" if checkpoint.set_spec else "all of arXiv"
    since = f" from {checkpoint.from_day}" if checkpoint.from_day else ""
    until = f" until {checkpoint.until_day}" if checkpoint.until_day else ""
    return f"{what} ({checkpoint.prefix}){since}{until}"
