"""Home.harvest and `semdigest harvest`: OAI-PMH into the store over the loopback server replaying recorded
arXiv responses, with faults: a kill mid-harvest, expired tokens, 503s, deleted records, nothing new."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from arxiv_server import XML, ArxivServer, Reply, deleted, fixture, oai_list, oai_records, oai_token
from semdigest import Events, Home
from semdigest.config import load_settings
from semdigest.errors import ArxivUnavailable, ConfigError, OaiError
from semdigest.store import HarvestCheckpoint

OAI = "/oai"
RAW_PAGE = "oai2015_listrecords_arXivRaw_from-2014-10-01_resumptionToken.xml"  # 6 records, token 726959|1001
TOKEN = "726959|1001"
LAST_PAGE = oai_list(oai_records("oai2015_getrecord_arXivRaw_1302.2146.xml"))  # 1302.2146, empty token
HEP_TH = "oai2017_listrecords_arXiv_set-physics-hep-th_from-2017-12-14.xml"
RAW_IDS = {"0704.0471", "0704.0716", "0704.0874", "0704.1109", "0704.1114", "0704.1586", "1302.2146"}
SRC = Path(__file__).parents[2] / "src"


class Heard(Events):
    """What a Home says."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def say(self, message: str) -> None:
        self.messages.append(message)


def xml(body: bytes, **options: object) -> Reply:
    return Reply(200, body, content_type=XML, **options)  # type: ignore[arg-type]


def serve_two_pages(server: ArxivServer, last: Reply | list[Reply] | None = None) -> None:
    server.route(OAI, xml(fixture(RAW_PAGE)), when=oai_token(None))
    server.route(OAI, last or xml(LAST_PAGE), when=oai_token(TOKEN))


def tokens(server: ArxivServer) -> list[str | None]:
    """Which page each request asked for: None for a list's first page, else its resumption token."""
    return [request.params.get("resumptionToken") for request in server.requests]


def harvest(root: Path, **options: object) -> object:
    with Home.open(root) as home:
        return home.harvest(**{"prefix": "arXivRaw", "from_day": date(2014, 10, 1), **options})  # type: ignore[arg-type]


def stored_ids(root: Path) -> set[str]:
    with sqlite3.connect(root / "semdigest.db") as db:
        return {paper_id for (paper_id,) in db.execute("SELECT id FROM papers")}


def checkpoint(root: Path) -> HarvestCheckpoint | None:
    with Home.open(root) as home:
        return home.store.harvest_checkpoint("arXivRaw", "")


def rows(root: Path) -> tuple[list[tuple], list[tuple]]:
    """Every stored paper and checkpoint, without the times they were written."""
    with sqlite3.connect(root / "semdigest.db") as db:
        papers = db.execute("SELECT * FROM papers ORDER BY key").fetchall()
        harvests = db.execute("SELECT * FROM harvests").fetchall()
    return [row[:-1] for row in papers], [row[:-1] for row in harvests]


# --- a harvest, and the next one -----------------------------------------------------------------------------


def test_a_harvest_stores_every_page_and_where_it_stopped(home: Path, arxiv_server: ArxivServer) -> None:
    serve_two_pages(arxiv_server)

    report = harvest(home)

    assert (report.records, report.pages, report.counts.new, report.resumed) == (7, 2, 7, False)  # type: ignore[attr-defined]
    assert stored_ids(home) == RAW_IDS
    assert checkpoint(home) == HarvestCheckpoint(
        "arXivRaw", "", date(2014, 10, 1), None, token=None, newest=None, last_datestamp="2014-12-22"
    )
    with Home.open(home) as opened:
        assert opened.paper("0704.0716").version == 4 and opened.stats().days == 0  # no listing day invented


def test_the_next_harvest_starts_from_the_last_datestamp(home: Path, arxiv_server: ArxivServer, cli) -> None:
    serve_two_pages(arxiv_server)
    harvest(home)
    nothing = xml(fixture("oai2015_error_NoRecordsMatch.xml"))
    arxiv_server.route(OAI, nothing, when=lambda params: params.get("from") == "2014-12-22")

    result = cli("harvest", "--prefix", "arXivRaw")

    assert result.exit_code == 0, result.output
    assert result.stdout == "nothing new since 2014-12-22\n"
    assert arxiv_server.requests[-1].params == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "from": "2014-12-22",
    }
    assert checkpoint(home).last_datestamp == "2014-12-22"  # type: ignore[union-attr]


def test_a_deleted_record_removes_the_paper(home: Path, arxiv_server: ArxivServer) -> None:
    serve_two_pages(arxiv_server)
    harvest(home)
    gone = deleted(oai_records(RAW_PAGE)[1])  # 0704.0716
    arxiv_server.route(OAI, xml(oai_list([gone])), when=lambda params: params.get("from") == "2014-12-22")

    report = harvest(home, from_day=None)

    assert (report.records, report.deleted, report.counts.new) == (1, 1, 0)  # type: ignore[attr-defined]
    assert stored_ids(home) == RAW_IDS - {"0704.0716"}


def test_harvested_papers_are_indexed_and_deleted_ones_leave_the_index(
    home: Path, arxiv_server: ArxivServer, fast_cache: Path
) -> None:
    shutil.copytree(fast_cache, home / "cache")
    serve_two_pages(arxiv_server)
    harvest(home)
    with Home.open(home) as opened:
        assert opened.index().embedded == 7
    arxiv_server.route(OAI, xml(oai_list([deleted(oai_records(RAW_PAGE)[1])])), when=lambda p: "from" in p)
    harvest(home, from_day=None)

    with Home.open(home) as opened:
        result = opened.index()
        assert (result.embedded, result.report.removed, result.report.total) == (0, 1, 6)
        assert "0704.0716" not in {paper.id for paper in opened.similar_by_id("0704.1109", n=10)}


def test_progress_is_reported_through_events(home: Path, arxiv_server: ArxivServer) -> None:
    serve_two_pages(arxiv_server)
    heard = Heard()

    with Home.open(home, events=heard) as opened:
        opened.harvest(prefix="arXivRaw", from_day=date(2014, 10, 1))

    assert heard.messages == ["harvesting all of arXiv (arXivRaw) from 2014-10-01 ..."]


# --- faults: interruptions, expired tokens, refusals ---------------------------------------------------------


def test_a_harvest_cut_short_resumes_at_its_next_page(home: Path, arxiv_server: ArxivServer) -> None:
    serve_two_pages(arxiv_server, [Reply(503), Reply(503), Reply(503), xml(LAST_PAGE)])  # 3 attempts fail
    with pytest.raises(ArxivUnavailable):
        harvest(home)
    assert checkpoint(home).token == TOKEN and len(stored_ids(home)) == 6  # type: ignore[union-attr]

    report = harvest(home, from_day=None)

    assert report.resumed and (report.records, report.counts.new) == (1, 1)  # type: ignore[attr-defined]
    assert tokens(arxiv_server) == [None, TOKEN, TOKEN, TOKEN, TOKEN]  # page 1 is not asked for again
    assert stored_ids(home) == RAW_IDS and checkpoint(home).last_datestamp == "2014-12-22"  # type: ignore[union-attr]


def test_an_expired_token_restarts_from_the_checkpoint(home: Path, arxiv_server: ArxivServer) -> None:
    expired = xml(fixture("oai2015_error_BadResumptionToken.xml"))
    serve_two_pages(arxiv_server, [expired, xml(LAST_PAGE)])

    report = harvest(home)

    assert report.restarted and (report.counts.new, report.counts.unchanged) == (7, 6)  # type: ignore[attr-defined]
    assert tokens(arxiv_server) == [None, TOKEN, None, TOKEN]
    assert arxiv_server.requests[2].params["from"] == "2014-10-01"  # the checkpoint's, not today's
    assert stored_ids(home) == RAW_IDS


def test_a_token_that_stays_bad_is_an_error(home: Path, arxiv_server: ArxivServer, cli) -> None:
    serve_two_pages(arxiv_server, xml(fixture("oai2015_error_BadResumptionToken.xml")))

    result = cli("harvest", "--prefix", "arXivRaw", "--from", "2014-10-01")

    assert result.exit_code == 2 and tokens(arxiv_server) == [None, TOKEN, None, TOKEN]
    assert result.stderr.endswith(
        "error: arXiv OAI-PMH no longer accepts the resumption token: The resumptionToken supplied is illegal"
        " for this repository\n"
    )


def test_other_dates_start_a_new_harvest_instead_of_resuming(home: Path, arxiv_server: ArxivServer) -> None:
    serve_two_pages(arxiv_server, Reply(503))
    with pytest.raises(ArxivUnavailable):
        harvest(home)
    arxiv_server.route(OAI, xml(oai_list([])), when=lambda params: params.get("from") == "2014-11-01")

    heard: list[str] = []

    class Recorder(Events):
        def say(self, message: str) -> None:
            heard.append(message)

    with Home.open(home, events=Recorder()) as opened:
        report = opened.harvest(prefix="arXivRaw", from_day=date(2014, 11, 1))

    assert not report.resumed and report.records == 0
    assert (
        heard[0]
        == "leaving the interrupted harvest of all of arXiv (arXivRaw) from 2014-10-01: this one asks for other dates"
    )
    assert checkpoint(home).token is None  # type: ignore[union-attr]


def test_a_bad_argument_is_an_error(home: Path, arxiv_server: ArxivServer) -> None:
    arxiv_server.route(OAI, xml(fixture("oai2015_error_BadArgument.xml")))

    with pytest.raises(OaiError, match=r"\(badArgument\): Verb 'ListRecords', illegal argument 'identifier'"):
        harvest(home)


def test_a_killed_harvest_resumes_to_the_same_rows(tmp_path: Path, arxiv_server: ArxivServer) -> None:
    """A real kill: the harvest runs in its own process and is SIGKILLed while the server holds page 2."""
    page_two = threading.Event()
    serve_two_pages(arxiv_server, xml(LAST_PAGE, hold=page_two))
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    env = {
        **os.environ,
        "SEMDIGEST_OAI_URL": arxiv_server.url(OAI),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    for root in (killed, whole):
        root.mkdir()
        (root / "config.toml").write_text("delay = 0.01\nmax_retries = 2\n")
    command = [sys.executable, "-m", "semdigest", "--home", str(killed), "harvest", "--prefix", "arXivRaw"]
    command += ["--from", "2014-10-01"]

    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while TOKEN not in tokens(arxiv_server) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert TOKEN in tokens(arxiv_server), run.communicate()
        run.send_signal(signal.SIGKILL)  # page 1 is stored: the request for page 2 follows its commit
        run.wait(timeout=30)
    finally:
        page_two.set()
    assert run.returncode == -signal.SIGKILL
    assert len(stored_ids(killed)) == 6 and checkpoint(killed).token == TOKEN  # type: ignore[union-attr]
    before = len(arxiv_server.requests)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stderr
    assert "resuming the interrupted harvest of all of arXiv (arXivRaw) from 2014-10-01" in rerun.stderr
    assert rerun.stdout.startswith("1 record in 1 page: 1 new, 0 updated, 0 unchanged, 0 deleted")
    assert tokens(arxiv_server)[before:] == [TOKEN]
    with Home.open(whole, env=env) as uninterrupted:
        uninterrupted.harvest(prefix="arXivRaw", from_day=date(2014, 10, 1))
    assert rows(killed) == rows(whole) and len(rows(killed)[0]) == len(RAW_IDS)


# --- the command line and the settings ---------------------------------------------------------------------------


def test_the_command_prints_what_it_harvested(home: Path, arxiv_server: ArxivServer, cli) -> None:
    arxiv_server.route(OAI, xml(fixture(HEP_TH)))

    text = cli("harvest", "--set", "physics:hep-th", "--from", "2017-12-14")
    as_json = cli("harvest", "--set", "physics:hep-th", "--json")

    assert text.exit_code == 0, text.output
    assert text.stdout == (
        "3 records in 1 page: 3 new, 0 updated, 0 unchanged, 0 deleted, 0 skipped;"
        " the next harvest starts from 2017-12-14\n"
    )
    report = json.loads(as_json.stdout)
    assert (report["set_spec"], report["from_day"], report["unchanged"], report["next_from"]) == (
        "physics:hep-th",
        "2017-12-14",
        3,
        "2017-12-14",
    )
    assert arxiv_server.requests[0].params["metadataPrefix"] == "arXiv"


def test_a_bad_set_is_one_line_and_creates_nothing(tmp_path: Path, arxiv_server: ArxivServer, cli, monkeypatch) -> None:
    monkeypatch.setenv("SEMDIGEST_HOME", str(tmp_path / "new"))

    result = cli("harvest", "--set", "cs.CV")

    assert result.exit_code == 2 and not (tmp_path / "new").exists() and not arxiv_server.requests
    assert result.stderr == (
        "error: 'cs.CV' is not an arXiv OAI-PMH set: give an archive or a category as OAI-PMH names them,"
        " e.g. cs, math, physics:hep-th, cs:cs:CV\n"
    )


def test_help_shows_examples(cli) -> None:
    result = cli("harvest", "--help")

    assert "semdigest harvest --set cs:cs:CV --from 2026-08-01" in result.stdout
    assert "--prefix [arXiv|arXivRaw]" in result.stdout


def test_the_oai_url_comes_from_config_and_the_environment(tmp_path: Path) -> None:
    assert load_settings(tmp_path, env={}).oai_url == "https://oaipmh.arxiv.org/oai"
    (tmp_path / "config.toml").write_text('oai_url = "http://127.0.0.1:9/oai"\n')
    assert load_settings(tmp_path, env={}).oai_url == "http://127.0.0.1:9/oai"
    assert load_settings(tmp_path, env={"SEMDIGEST_OAI_URL": "https://mirror/oai"}).oai_url == "https://mirror/oai"
    with pytest.raises(ConfigError, match=r"\$SEMDIGEST_OAI_URL must be an http:// or https:// URL"):
        load_settings(tmp_path, env={"SEMDIGEST_OAI_URL": "file:///etc/passwd"})
    (tmp_path / "config.toml").write_text('oai_url = "oaipmh.arxiv.org"\n')
    with pytest.raises(ConfigError, match="setting 'oai_url' must be an http:// or https:// URL"):
        load_settings(tmp_path, env={})
