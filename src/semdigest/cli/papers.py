"""Commands that bring papers in and look at them: fetch, ingest, show, stats, index."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..app.home import Home
from ..app.reports import FetchReport
from ..output.json import paper_json, plain
from ..output.text import printable
from ..paper import Paper
from .common import DAY, categories_option, day_of, json_option, say, with_home


@click.command()
@categories_option("arXiv category or archive to fetch; default from config")
@click.option("--date", "day", type=DAY, help="A past day (API submittedDate range) instead of today's RSS listing.")
@click.option("--id", "ids", multiple=True, help="Fetch these papers by arXiv id instead (repeatable).")
@with_home
def fetch(home: Home, categories: tuple[str, ...], day: datetime | None, ids: tuple[str, ...]) -> None:
    """Fetch new papers from arXiv into the store.

    \b
    Examples:
      semdigest fetch                       today's listing of the configured categories
      semdigest fetch -c cs.CL -c cs.LG     today's listing of these
      semdigest fetch --date 2025-08-18     the papers submitted that day (API)
      semdigest fetch --id 2508.13073       one paper
    """
    if ids:
        report = home.fetch_ids(ids)
        for missing in report.missing:
            say(f"warning: arXiv does not know {missing}")
    else:
        report = home.fetch(categories, day_of(day))
        if report.total == 0:
            click.echo(
                f"no papers submitted on {report.day} in these categories"
                if day
                else "no papers announced (a weekend or holiday listing is empty)"
            )
            return
    click.echo(_counts(report))


def _counts(report: FetchReport) -> str:
    counts = report.counts
    line = f"{report.total} papers: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged"
    return line + (f", {len(counts.incomplete)} not stored (no title or abstract)" if counts.incomplete else "")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@with_home
def ingest(home: Home, file: Path) -> None:
    """Load a JSONL(.gz) file in the arXiv metadata snapshot format into the store.

    \b
    Example:
      semdigest ingest arxiv-metadata-oai-snapshot.json
    """
    report = home.ingest(file)
    counts = report.counts
    click.echo(
        f"{report.lines} lines: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{len(report.bad)} bad"
    )
    for bad in report.bad[:20]:
        say(f"  line {bad.line}: {bad.reason}")
    if len(report.bad) > 20:
        say(f"  ... and {len(report.bad) - 20} more bad lines")
    for cut in report.cut[:20]:
        say(f"warning: line {cut.line}: {cut.paper_id} is larger than any real paper, cut: {', '.join(cut.cuts)}")
    if len(report.cut) > 20:
        say(f"  ... and {len(report.cut) - 20} more papers cut")


@click.command()
@click.argument("paper_id")
@json_option()
@with_home
def show(home: Home, paper_id: str, as_json: bool) -> None:
    """Show one stored paper.

    \b
    Example:
      semdigest show 2508.13073 --json
    """
    paper = home.paper(paper_id)
    click.echo(json.dumps(paper_json(paper), indent=2, ensure_ascii=False) if as_json else _paper_text(paper))


def _paper_text(paper: Paper) -> str:
    version = f"v{paper.version}" if paper.version else ""
    lines = [
        f"{paper.title}",
        f"arXiv:{paper.id}{version}  {' '.join(paper.categories)}  {paper.url}",
        ", ".join(paper.authors),
    ]
    listed = paper.listed.isoformat() if paper.listed else None
    dates = [
        f"{label} {value[:10]}"
        for label, value in (("published", paper.published), ("updated", paper.updated), ("listed", listed))
        if value
    ]
    lines.append(" · ".join(dates + ([paper.announce_type] if paper.announce_type else [])))
    lines += [
        f"{label}: {value}"
        for label, value in (("comment", paper.comment), ("journal", paper.journal_ref), ("doi", paper.doi))
        if value
    ]
    # a stored paper's text is untrusted: no control character or escape sequence reaches the terminal
    return "\n".join([*map(printable, lines), "", click.wrap_text(printable(paper.abstract), 100)])


@click.command()
@json_option()
@with_home
def stats(home: Home, as_json: bool) -> None:
    """Papers, listing days and categories in the store (reads only: creates nothing).

    \b
    Examples:
      semdigest stats
      semdigest stats --json | jq .papers
    """
    result = home.stats()
    if as_json:
        click.echo(json.dumps({key: plain(value) for key, value in result.__dict__.items()}, indent=2))
        return
    days = f" ({result.first_day} .. {result.last_day})" if result.days else ""
    click.echo(f"papers: {result.papers}\ndays: {result.days}{days}")
    click.echo("categories: " + ", ".join(f"{name} {count}" for name, count in result.categories[:12]))


@click.command()
@click.option("--rebuild", is_flag=True, help="Rebuild both indexes from the cached vectors.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Embed in this process, or on a Ray cluster (pip install 'semdigest[cluster]').",
)
@click.option("--address", metavar="ADDR", help="The Ray cluster to join (default: start a local one).")
@click.option("--workers", type=int, metavar="N", help="Ray embedding actors (default: one per GPU, else per CPU).")
@with_home
def index(home: Home, rebuild: bool, engine: str, address: str | None, workers: int | None) -> None:
    """Embed papers that have no vector yet and update the FAISS and BM25 indexes.

    \b
    Examples:
      semdigest ingest papers.jsonl.gz && semdigest index
      semdigest index --rebuild             both indexes again from the cached vectors
      semdigest index --engine ray --workers 2         embed on a local Ray with 2 actors
      semdigest index --engine ray --address HEAD:6379 on a running Ray cluster
    """
    result = home.index(rebuild=rebuild, engine=engine, address=address, workers=workers)
    report = result.report
    how = "rebuilt" if report.rebuilt else f"+{report.added} -{report.removed}"
    click.echo(f"embedded {result.embedded} papers; index: {report.total} papers ({report.kind}, {how})")
