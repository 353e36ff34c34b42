"""Command line: parse options, call the library, print. Nothing here is needed to use semdigest as a library."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .cli_common import DAY, Meter, arxiv_client, models_of, open_store, prepare, say
from .cli_digest import digest, run, similar
from .cli_topics import topics
from .config import Settings, load_settings
from .errors import SemdigestError
from .ids import parse_id
from .ingest import embedded_data, fetch_day, fetch_into, ingest_file
from .lock import writer_lock
from .paper import Paper
from .topics import import_topics, save_topics


class _Group(click.Group):
    """Turns the errors a user can cause into `error: ...` and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SemdigestError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished batches are stored; run the command again to resume", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), help="Data directory (default: $SEMDIGEST_HOME or ./.semdigest).")
@click.option("--model", help="Embedding model: all-MiniLM-L6-v2 (default), a folder under models/, or a path.")
@click.version_option(__version__, prog_name="semdigest")
@click.pass_context
def main(ctx: click.Context, home: Path | None, model: str | None) -> None:
    """Semantic-ranking digests of new arXiv papers."""
    settings = load_settings(home)
    ctx.obj = replace(settings, model=model) if model else settings


@main.command()
@click.option("--category", "-c", "categories", multiple=True, help="arXiv category (repeatable); default from config.")
@click.option("--date", "day", type=DAY, help="A past day (API submittedDate range) instead of today's RSS listing.")
@click.option("--id", "ids", multiple=True, help="Fetch these papers by arXiv id instead (repeatable).")
@click.pass_obj
def fetch(settings: Settings, categories: tuple[str, ...], day: object, ids: tuple[str, ...]) -> None:
    """Fetch new papers from arXiv into the store."""
    wanted = [parse_id(raw).id for raw in ids]  # malformed ids fail here, before any request
    cats = list(categories or settings.categories)
    meter = Meter("fetching")
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store, arxiv_client(settings) as client:
        if wanted:
            lookup = client.lookup(wanted)
            counts = fetch_into(store, lookup.papers)
            for missing in lookup.missing:
                say(f"warning: arXiv does not know {missing}")
        else:
            when = day.date() if day else None  # type: ignore[attr-defined]
            say(f"fetching {'+'.join(cats)} {'for ' + str(when) if when else 'from today’s RSS listing'} ...")
            counts = fetch_into(store, fetch_day(client, cats, when, on_page=lambda done, total: _page(meter, done, total)))
    meter.finish()
    total = counts.new + counts.updated + counts.unchanged
    if total == 0 and not wanted:
        click.echo("no papers announced (a weekend or holiday listing is empty)")
        return
    click.echo(f"{total} papers: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged")


def _page(meter: Meter, done: int, total: int) -> None:
    meter.total = total
    meter.advance(done - meter.done)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def ingest(settings: Settings, file: Path) -> None:
    """Load a JSONL(.gz) file in the arXiv metadata snapshot format into the store."""
    meter = Meter(f"ingesting {file.name}")
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store:
        report = ingest_file(store, file, progress=meter.advance)
    meter.finish()
    counts = report.counts
    click.echo(f"{report.lines} lines: {counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged, "
               f"{len(report.bad)} bad")
    for bad in report.bad[:20]:
        say(f"  line {bad.line}: {bad.reason}")
    if len(report.bad) > 20:
        say(f"  ... and {len(report.bad) - 20} more bad lines")


@main.command()
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(settings: Settings, paper_id: str, as_json: bool) -> None:
    """Show one stored paper."""
    canonical = parse_id(paper_id).id
    with open_store(settings) as store:
        paper = store.get(canonical)
    if paper is None:
        raise SemdigestError(f"{canonical} is not in the store (fetch it: semdigest fetch --id {canonical})")
    click.echo(json.dumps(_paper_json(paper), indent=2, ensure_ascii=False) if as_json else _paper_text(paper))


def _paper_json(paper: Paper) -> dict[str, object]:
    record = {name: getattr(paper, name) for name in paper.__dataclass_fields__}
    record["authors"], record["categories"] = list(paper.authors), list(paper.categories)
    return record


def _paper_text(paper: Paper) -> str:
    version = f"v{paper.version}" if paper.version else ""
    lines = [f"{paper.title}", f"arXiv:{paper.id}{version}  {' '.join(paper.categories)}  {paper.url}",
             ", ".join(paper.authors)]
    dates = [f"{label} {value[:10]}" for label, value in
             (("published", paper.published), ("updated", paper.updated), ("listed", paper.listed)) if value]
    lines.append(" · ".join(dates + ([paper.announce_type] if paper.announce_type else [])))
    lines += [f"{label}: {value}" for label, value in
              (("comment", paper.comment), ("journal", paper.journal_ref), ("doi", paper.doi)) if value]
    return "\n".join(lines + ["", click.wrap_text(paper.abstract, 100)])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def stats(settings: Settings, as_json: bool) -> None:
    """Papers, listing days and categories in the store."""
    with open_store(settings) as store:
        result = store.stats()
    if as_json:
        click.echo(json.dumps(result.__dict__, indent=2))
        return
    days = f" ({result.first_day} .. {result.last_day})" if result.days else ""
    click.echo(f"papers: {result.papers}\ndays: {result.days}{days}")
    click.echo("categories: " + ", ".join(f"{name} {count}" for name, count in result.categories[:12]))


@main.command()
@click.option("--rebuild", is_flag=True, help="Rebuild both indexes from the cached vectors.")
@click.pass_obj
def index(settings: Settings, rebuild: bool) -> None:
    """Embed papers that have no vector yet and update the FAISS and BM25 indexes."""
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store:
        embedded, report = prepare(settings, store, models_of(settings), rebuild=rebuild)
    how = "rebuilt" if report.rebuilt else f"+{report.added} -{report.removed}"
    click.echo(f"embedded {embedded} papers; index: {report.total} papers ({report.kind}, {how})")


@main.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.pass_context
def demo(ctx: click.Context, file: Path | None) -> None:
    """The daily job on the embedded default data (one real listing day, 2025-08-18) or FILE, with the
    keyword digest's topics imported when there is no topics file yet."""
    settings: Settings = ctx.obj
    ctx.invoke(ingest, file=file or embedded_data())
    if not settings.topics_path.exists():
        save_topics(settings.topics_path, import_topics(embedded_data("seed-topics.json")))
        say(f"topics: imported the keyword digest's 8 topics into {settings.topics_path}")
    ctx.invoke(digest, day=None if file else datetime(2025, 8, 18))


for command in (similar, digest, run, topics):
    main.add_command(command)


def console() -> NoReturn:
    """The `semdigest` command: main, then an exit that skips the interpreter's teardown, which spends
    ~40 ms unloading numpy and faiss (an eighth of `similar`). Every command has closed its store and
    finished its atomic writes by the time main returns, so nothing is lost."""
    try:
        main()
        code: object = 0
    except SystemExit as done:
        code = done.code
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `semdigest similar ID | head`
        pass
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
