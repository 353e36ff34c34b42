"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from arxiv_server import ArxivServer

from semdigest.arxiv import Client

# --- arXiv: a local server replaying recorded responses, and clients pointed at it ------------------------


@pytest.fixture
def arxiv_server() -> Iterator[ArxivServer]:
    with ArxivServer() as server:
        yield server


@pytest.fixture
def make_arxiv_client(arxiv_server: ArxivServer) -> Iterator[Callable[..., Client]]:
    """Clients for the local server; a tiny delay and backoff keep the suite fast unless a test overrides them."""
    clients: list[Client] = []

    def make(**overrides: Any) -> Client:
        options: dict[str, Any] = {"delay": 0.01, "backoff": 0.01, "timeout": 1.0, **overrides}
        client = Client(api_url=arxiv_server.url("/api/query"), rss_url=arxiv_server.url("/rss"), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def arxiv_client(make_arxiv_client: Callable[..., Client]) -> Client:
    return make_arxiv_client()


# --- the command line, against a temporary data directory and the local arXiv server ------------------------


@pytest.fixture
def home(tmp_path, arxiv_server: ArxivServer, monkeypatch: pytest.MonkeyPatch):
    """A fresh data directory whose config points at the local arXiv server with tiny delays."""
    root = tmp_path / "home"
    root.mkdir()
    (root / "config.toml").write_text("delay = 0.01\nmax_retries = 2\n")
    monkeypatch.setenv("SEMDIGEST_HOME", str(root))
    monkeypatch.setenv("SEMDIGEST_API_URL", arxiv_server.url("/api/query"))
    monkeypatch.setenv("SEMDIGEST_RSS_URL", arxiv_server.url("/rss"))
    return root


@pytest.fixture
def cli(home):
    """Run `semdigest ARGS` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from click.testing import CliRunner

    from semdigest.cli import main

    def run(*args: str):
        return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)

    return run
