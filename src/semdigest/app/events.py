"""How a Home tells its front end what is going on: messages and progress meters. The default tells nobody;
the CLI prints to stderr, a web page or a job could log or stream them."""

from __future__ import annotations

from typing import Protocol


class Meter(Protocol):
    """A progress counter for one piece of long work."""

    total: int | None

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


class _Silent:
    total: int | None = None

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


class Events:
    """Subclass and pass to Home.open to hear what a Home does; every method may be left as it is."""

    def say(self, message: str) -> None:
        """A one-line message for a person: progress, a warning, what is being waited for."""

    def meter(self, label: str, total: int | None = None, unit: str = "papers") -> Meter:
        """A meter for `label` (e.g. "embedding"); advanced as work is done, finished at the end."""
        return _Silent()
