"""What the commands share: the Home of the invocation, progress on stderr, and the options several
commands take, each declared once so that it is named the same everywhere."""

from __future__ import annotations

import calendar
import functools
import re
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..app.events import Events
from ..app.home import Home

F = TypeVar("F", bound=Callable[..., Any])


class DayType(click.ParamType):
    """A YYYY-MM-DD day (as a datetime at midnight); a day that does not exist says so, not "wrong format"."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            self.fail(f"{str(value)[:40]!r} is not a day in the form YYYY-MM-DD (e.g. 2025-08-18)", param, ctx)
        year, month, day = map(int, text.split("-"))
        if year == 0 or not 1 <= month <= 12:
            self.fail(f"{text} does not exist: there is no {'year 0' if year == 0 else f'month {month}'}", param, ctx)
        days = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days:
            self.fail(f"{text} does not exist: {calendar.month_name[month]} {year} has {days} days", param, ctx)
        return datetime(year, month, day)


DAY = DayType()


def say(message: str) -> None:
    """Progress and warnings go to stderr, so stdout stays clean for --json."""
    click.echo(message, err=True)


class TerminalMeter:
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
        click.echo(
            f"{prefix}{self.label}: {self.done}{of} {self.unit} ({self.done / elapsed:.0f}/s)", err=True, nl=False
        )
        click.echo(suffix, err=True, nl=False)


class TerminalEvents(Events):
    def say(self, message: str) -> None:
        say(message)

    def meter(self, label: str, total: int | None = None, unit: str = "papers") -> TerminalMeter:
        return TerminalMeter(label, total, unit)


def home_of(ctx: click.Context) -> Home:
    """The invocation's Home, opened on first use by a command (so `--help` opens nothing)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Home):
        options = root.obj or {}
        root.obj = Home.open(options.get("home"), model=options.get("model"), events=TerminalEvents())
        root.call_on_close(root.obj.close)
    return root.obj


def with_home(command: F) -> F:
    """Pass the invocation's Home as the command's first argument (put it right above the function)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(home_of(click.get_current_context()), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def day_of(value: datetime | None) -> date | None:
    return value.date() if value else None


def json_option(help: str = "Print JSON.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def topics_option(command: F) -> F:
    return click.option(
        "--topics", "topics_file", type=click.Path(path_type=Path), help="Topics file (default: <home>/topics.toml)."
    )(command)


def out_option(command: F) -> F:
    return click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: <home>/digests).")(
        command
    )


def email_option(command: F) -> F:
    return click.option(
        "--email", is_flag=True, help="Mail the digest too ([email] in config.toml; $SEMDIGEST_SMTP_PASSWORD)."
    )(command)


def categories_option(help: str) -> Callable[[F], F]:
    return click.option("--category", "-c", "categories", multiple=True, help=f"{help} (repeatable).")


def date_option(help: str = "The listing day (default: the latest one in the store).") -> Callable[[F], F]:
    return click.option("--date", "day", type=DAY, help=help)
