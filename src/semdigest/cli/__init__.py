"""The `semdigest` command: a thin front end over semdigest.Home (parse options, call one method, print)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from .._version import __version__
from ..errors import SemdigestError
from .papers import fetch, index, ingest, show, stats
from .rank import demo, digest, run, similar
from .topics import topics


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
@click.option(
    "--home", type=click.Path(path_type=Path), help="Data directory (default: $SEMDIGEST_HOME or ./.semdigest)."
)
@click.option("--model", help="Embedding model: all-MiniLM-L6-v2 (default), a folder under models/, or a path.")
@click.version_option(__version__, prog_name="semdigest")
@click.pass_context
def main(ctx: click.Context, home: Path | None, model: str | None) -> None:
    """Semantic-ranking digests of new arXiv papers.

    \b
    First run, on the listing day that ships with semdigest:
      semdigest demo
    Every day (fetch today's listing, embed, index, write the digest):
      semdigest run
    Papers like one you know:
      semdigest similar 2508.13073 -n 5
    """
    ctx.obj = {"home": home, "model": model}


for command in (fetch, ingest, show, stats, index, demo, similar, digest, run, topics):
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
