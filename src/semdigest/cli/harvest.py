"""`semdigest harvest`: arXiv's OAI-PMH interface into the store (Home.harvest)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import click

from ..app.home import Home
from ..app.reports import HarvestReport
from ..output.json import plain
from .common import DAY, day_of, json_option, say, with_home


@click.command()
@click.option(
    "--set", "set_spec", help="An OAI-PMH set: an archive (cs, math, physics:hep-th) or a category (cs:cs:CV)."
)
@click.option(
    "--from",
    "from_day",
    type=DAY,
    help="Records changed on or after this day (default: where the last harvest stopped).",
)
@click.option("--until", "until_day", type=DAY, help="Records changed on or before this day.")
@click.option(
    "--prefix",
    type=click.Choice(["arXiv", "arXivRaw"]),
    default="arXiv",
    show_default=True,
    help="Metadata format: arXivRaw carries every version with its date.",
)
@json_option()
@with_home
def harvest(
    home: Home,
    set_spec: str | None,
    from_day: datetime | None,
    until_day: datetime | None,
    prefix: str,
    as_json: bool,
) -> None:
    """Harvest arXiv's metadata over OAI-PMH into the store (resumable; incremental).

    A killed harvest resumes at its next page when run again; a completed one makes the next start
    from the latest datestamp it stored. Run `semdigest index` afterwards to embed the new papers.

    \b
    Examples:
      semdigest harvest --set cs:cs:CV --from 2026-08-01     one category since a day
      semdigest harvest --set physics:hep-th                 again later: only what changed since
      semdigest harvest --set math --prefix arXivRaw         with every version's date
      semdigest harvest --set cs --json | jq .new
    """
    report = home.harvest(set_spec, from_day=day_of(from_day), until_day=day_of(until_day), prefix=prefix)
    if as_json:
        click.echo(json.dumps(_json(report), indent=2, ensure_ascii=False))
        return
    for bad in report.bad[:20]:
        say(f"  skipped {bad.identifier}: {bad.reason}")
    if len(report.bad) > 20:
        say(f"  ... and {len(report.bad) - 20} more records skipped")
    click.echo(_summary(report))


def _summary(report: HarvestReport) -> str:
    counts = report.counts
    if report.records == 0:
        since = f" since {report.from_day}" if report.from_day else ""
        return f"nothing new{since}"
    records = "1 record" if report.records == 1 else f"{report.records} records"
    pages = "1 page" if report.pages == 1 else f"{report.pages} pages"
    return (
        f"{records} in {pages}: {counts.new} new, {counts.updated} updated,"
        f" {counts.unchanged} unchanged, {report.deleted} deleted, {len(report.bad)} skipped;"
        f" the next harvest starts from {(report.last_datestamp or '')[:10]}"
    )


def _json(report: HarvestReport) -> dict[str, object]:
    values = {name: plain(value) for name, value in dataclasses.asdict(report).items() if name != "counts"}
    values["next_from"] = report.last_datestamp[:10] if report.last_datestamp else None
    return values | dataclasses.asdict(report.counts)
