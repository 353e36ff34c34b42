"""Commands about the data directory itself: init, paths, history."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..app.home import Home
from ..config import PROJECT_HOME
from .common import TerminalEvents, json_option, with_home


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), required=False)
@click.option("--github", is_flag=True, help="Also write .github/workflows/semdigest.yml beside the data directory.")
@click.pass_context
def init(ctx: click.Context, directory: Path | None, github: bool) -> None:
    """Make a data directory: DIRECTORY, else --home / $SEMDIGEST_HOME, else ./.semdigest (which every
    semdigest command in this folder or below then finds). It gets a topics.toml with an example topic and
    every field explained, and a config.toml with every setting; files that exist are kept.

    \b
    Examples:
      semdigest init                        ./.semdigest: this folder becomes a digest project
      semdigest init --github               ... and the scheduled GitHub Actions workflow
      semdigest init ~/digests/.semdigest   a data directory elsewhere
    """
    options = ctx.find_root().obj or {}
    target = directory or options.get("home") or os.environ.get("SEMDIGEST_HOME") or Path(PROJECT_HOME)
    home = Home.open(target, model=options.get("model"), events=TerminalEvents())
    ctx.call_on_close(home.close)
    result = home.init(github=github)
    for path in result.written:
        click.echo(f"wrote {path}")
    for path in result.kept:
        click.echo(f"kept  {path} (there already)")
    click.echo(f"next: edit {home.layout.topics}, then `semdigest run` (or `semdigest demo` for a sample day)")


@click.command()
@json_option()
@with_home
def paths(home: Home, as_json: bool) -> None:
    """Where the data directory is and why, and where each of its files is. Creates nothing.

    \b
    Examples:
      semdigest paths
      semdigest --home /srv/digest/.semdigest paths --json
    """
    result = home.paths()
    if as_json:
        record = {
            "home": str(result.home),
            "why": result.source,
            "exists": result.exists,
            **{item.name: {"path": str(item.path), "exists": item.exists} for item in result.locations},
        }
        click.echo(json.dumps(record, indent=1))
        return
    state = "" if result.exists else "  (does not exist yet: `semdigest init` makes it)"
    click.echo(f"{'data directory':<15} {result.home}{state}\n{'':<15} {result.source}")
    for item in result.locations:
        missing = "" if item.exists else "   [missing]"
        click.echo(f"{item.name:<15} {item.path}{missing}\n{'':<15} {item.what}")


@click.group()
def history() -> None:
    """The seen-history (what each topic's digests showed) as a JSONL file a repository can keep.

    \b
    Examples:
      semdigest history export              to <home>/seen-history.jsonl
      semdigest history import              from it, into a fresh store (after a CI cache was evicted)
      semdigest history export backup.jsonl
    """


@history.command("export")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@with_home
def export_(home: Home, file: Path | None) -> None:
    """Write the seen-history to FILE (default: <home>/seen-history.jsonl), one JSON object a line, sorted.

    \b
    Example:
      semdigest history export && git add .semdigest/seen-history.jsonl
    """
    report = home.export_history(file)
    click.echo(f"exported {report.rows} seen-history rows to {report.path}")


@history.command("import")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@with_home
def import_(home: Home, file: Path | None) -> None:
    """Merge an exported seen-history into the store; a paper keeps the earliest day it was shown.

    \b
    Example:
      semdigest history import .semdigest/seen-history.jsonl
    """
    report = home.import_history(file)
    click.echo(f"imported {report.rows} seen-history rows from {report.path} ({report.changed} new to the store)")


@click.command()
@json_option()
@with_home
def check(home: Home, as_json: bool) -> None:
    """Verify the data directory in full: SQLite's integrity_check of the store, and every index file
    against its checksums. Says what is damaged and how to repair it; exits with 1 when something is.
    Changes nothing (`semdigest index` repairs the indexes from the cached vectors).

    \b
    Examples:
      semdigest check
      semdigest check --json
    """
    report = home.check()
    index = report.index
    if as_json:
        record = {
            "ok": not report.damaged,
            "database": {
                "path": str(report.database),
                "ok": report.database_problem is None,
                "problem": report.database_problem,
            },
            "indexes": {
                "generation": str(index.generation) if index.generation else None,
                "files": index.files,
                "ok": not index.problems,
                "problems": index.problems,
                "repair": INDEX_REPAIR if index.problems else None,
            },
            "leftovers": {"paths": [str(path) for path in index.leftovers], "bytes": index.leftover_bytes},
        }
        click.echo(json.dumps(record, indent=1))
    else:
        click.echo(f"{'store':<10} {report.database_problem or f'ok: {report.database} (SQLite integrity_check)'}")
        if index.generation is None and not index.problems:
            click.echo(f"{'indexes':<10} none yet (`semdigest index` builds it)")
        elif not index.problems:
            click.echo(f"{'indexes':<10} ok: {index.files} files of {index.generation} verified whole")
        for problem in index.problems:
            click.echo(f"{'indexes':<10} {problem}")
        if index.problems:
            click.echo(f"{'repair':<10} {INDEX_REPAIR}")
        if index.leftovers:
            size = index.leftover_bytes / 2**20
            click.echo(
                f"{'leftovers':<10} {len(index.leftovers)} from interrupted or earlier runs ({size:.1f} MiB):"
                " the next `semdigest index` removes them"
            )
    if report.damaged:
        click.get_current_context().exit(1)


INDEX_REPAIR = "`semdigest index` rebuilds the damaged index from the cached vectors and the stored texts"
