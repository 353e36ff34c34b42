"""Shared fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arxiv_server import ArxivServer
from semdigest.sources.arxiv import Client

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


# --- the command line, against temporary data directories and the local arXiv server ----------------------

DAY_FILE = Path(__file__).parents[1] / "src" / "semdigest" / "data" / "day-2025-08-18.jsonl"


def _configure(root: Path, server: ArxivServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data directory at the local arXiv server, with tiny delays."""
    (root / "config.toml").write_text("delay = 0.01\nmax_retries = 2\n")
    monkeypatch.setenv("SEMDIGEST_HOME", str(root))
    monkeypatch.setenv("SEMDIGEST_API_URL", server.url("/api/query"))
    monkeypatch.setenv("SEMDIGEST_RSS_URL", server.url("/rss"))
    monkeypatch.setenv("SEMDIGEST_OAI_URL", server.url("/oai"))
    return root


@pytest.fixture
def home(tmp_path: Path, arxiv_server: ArxivServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data directory."""
    root = tmp_path / "home"
    root.mkdir()
    return _configure(root, arxiv_server, monkeypatch)


@pytest.fixture(scope="session")
def fast_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding the fast (int8 ONNX) embedding model, built once per session (~20 s):
    every data directory of the suite starts with a copy of it."""
    from semdigest.embedding.registry import load_embedder

    cache = tmp_path_factory.mktemp("fast-model")
    load_embedder(cache_dir=cache)
    return cache


@pytest.fixture(scope="session")
def indexed_day(tmp_path_factory: pytest.TempPathFactory, fast_cache: Path) -> Path:
    """A data directory holding the real listing day 2025-08-18 (367 papers), embedded with the real model
    and indexed: built once per session, copied by `day_home`."""
    from click.testing import CliRunner

    from semdigest.cli import main

    root = tmp_path_factory.mktemp("indexed") / "home"
    shutil.copytree(fast_cache, root / "cache")
    for args in (["ingest", str(DAY_FILE)], ["index"]):
        result = CliRunner().invoke(main, ["--home", str(root), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def day_home(indexed_day: Path, tmp_path: Path, arxiv_server: ArxivServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of `indexed_day` (so a test may change it), pointed at the local arXiv server."""
    root = tmp_path / "home"
    shutil.copytree(indexed_day, root)
    return _configure(root, arxiv_server, monkeypatch)


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run `semdigest ARGS` in-process against $SEMDIGEST_HOME; returns click's Result (exit_code, stdout, stderr)."""
    from click.testing import CliRunner

    from semdigest.cli import main

    def run(*args: object) -> Any:
        return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)

    return run
