"""The `semdigest` command: a thin front end over semdigest.Home (parse options, call one method, print)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from .._version import __version__
from ..errors import SemdigestError
from ..faults import os_problem
from .datadir import check, history, init, paths
from .harvest import harvest
from .papers import fetch, index, ingest, show, stats
from .rank import demo, digest, run, similar
from .topics import topics


class _Group(click.Group):
    """Turns the errors a user can cause into `error: ...` and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SemdigestError as error:
            click.echo(f"error: {one_line(str(error))}", err=True)
            ctx.exit(2)
        except BrokenPipeError:  # `semdigest similar ID | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except OSError as error:  # the environment (a disk, a mount) where no stage said more: still one line
            click.echo(f"error: {one_line(str(os_problem(error)))}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: finished batches are stored; run the command again to resume", err=True)
            ctx.exit(130)


def one_line(message: str) -> str:
    """An error as one terminal line: newlines folded, and a message grown huge by what it quotes (a
    5,000-character topic name) cut in the middle, keeping its start and its end."""
    line = " ".join(message.split())
    return line if len(line) <= MAX_ERROR else f"{line[: MAX_ERROR - 250]} … {line[-240:]}"


MAX_ERROR = 800  # a recovery hint with two long paths fits; a 5,000-character name does not


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    help="Data directory (default: $SEMDIGEST_HOME, else a .semdigest/ in this folder or a parent, else"
    " ~/.local/share/semdigest; `semdigest paths` says which).",
)
@click.option("--model", help="Embedding model: all-MiniLM-L6-v2 (default), a folder under models/, or a path.")
@click.version_option(__version__, prog_name="semdigest")
@click.pass_context
def main(ctx: click.Context, home: Path | None, model: str | None) -> None:
    """Semantic-ranking digests of new arXiv papers.

    \b
    First run, on the listing day that ships with semdigest:
      semdigest demo
    A digest of your own in this folder: ./.semdigest with a topics.toml to edit, then every day
    (fetch today's listing, embed, index, write the digest):
      semdigest init
      semdigest topics add Agents -d "LLM agents that use tools" -k agent
      semdigest run
    Papers like one you know:
      semdigest similar 2508.13073 -n 5
    Where everything is:
      semdigest paths
    Shell completion (bash; zsh_source, fish_source for the others):
      eval "$(_SEMDIGEST_COMPLETE=bash_source semdigest)"
    """
    ctx.obj = {"home": home, "model": model}


for command in (init, paths, fetch, ingest, show, stats, index, demo, similar, digest, run, topics, history, check):
    main.add_command(command)
main.add_command(harvest)


def console() -> NoReturn:
    """The `semdigest` command: main, then an exit that skips the interpreter's teardown, which spends
    ~40 ms unloading numpy and faiss (an eighth of `similar`). Every command has closed its store and
    finished its atomic writes by the time main returns, so nothing is lost."""
    try:
        main(prog_name="semdigest")  # also under `python -m semdigest`: usage lines, _SEMDIGEST_COMPLETE
        code: object = 0
    except SystemExit as done:
        code = done.code
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `semdigest similar ID | head`
        pass
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
