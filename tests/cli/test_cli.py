"""The foundation commands end to end: real SQLite files in tmp dirs, the local arXiv server."""

import json
import re
import subprocess
import sys

import pytest

from arxiv_server import RSS, Reply, fixture

pytestmark = pytest.mark.usefixtures("home")

DAY = "src/semdigest/data/day-2025-08-18.jsonl"


def test_help_lists_the_commands(cli):
    result = cli("--help")
    for command in ("fetch", "ingest", "show", "stats", "demo"):
        assert f"  {command}" in result.output


def test_ingest_then_stats(cli):
    assert cli("ingest", DAY).exit_code == 0
    result = cli("stats")
    assert "papers: 367" in result.output and "days: 1 (2025-08-18 .. 2025-08-18)" in result.output
    assert "2508.12079" in cli("show", "arXiv:2508.12079v1").output


def test_fetch_today_from_rss(cli, arxiv_server):
    arxiv_server.route(
        "/rss/cs.CL+cs.CV", [Reply(200, fixture("rss2024_all-archives_2024-11-28_1504items.xml"), content_type=RSS)]
    )
    result = cli("fetch", "-c", "cs.CL", "-c", "cs.CV")
    assert result.exit_code == 0, result.output
    assert "1504 papers: 1504 new, 0 updated, 0 unchanged" in result.stdout
    assert "1504 papers: 0 new, 0 updated, 1504 unchanged" in cli("fetch", "-c", "cs.CL", "-c", "cs.CV").stdout


def test_empty_listing_is_not_an_error(cli, arxiv_server):
    arxiv_server.route("/rss/cs.AI", [Reply(200, fixture("rss2024_empty_category-test.xml"), content_type=RSS)])
    result = cli("fetch", "-c", "cs.AI")
    assert result.exit_code == 0 and "no papers announced" in result.stdout


def test_fetch_a_past_day_through_the_api(cli, arxiv_server):
    arxiv_server.route(
        "/api/query", [Reply(200, fixture("api2016legacy_search_au-del_maestro-AND-ti-checkerboard_doi.xml"))]
    )
    result = cli("fetch", "-c", "cs.LG", "--date", "2026-04-10")
    assert result.exit_code == 0, result.output
    assert "submittedDate:[202604100000 TO 202604102359]" in arxiv_server.requests[0].params["search_query"]
    assert "1 papers: 1 new" in result.stdout and len(arxiv_server.requests) == 1
    assert "days: 1 (2026-04-10 .. 2026-04-10)" in cli("stats").stdout


def test_fetch_ids_reports_the_unknown_one(cli, arxiv_server):
    arxiv_server.route("/api/query", [Reply(200, fixture("api2026_idlist_two-ids_one-nonexistent.xml"))])
    result = cli("fetch", "--id", "1707.08567", "--id", "0808.0539")
    assert result.exit_code == 0
    assert "arXiv does not know 0808.0539" in result.stderr and "1 new" in result.stdout


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[-1]


def test_malformed_id_fails_before_any_request(cli, arxiv_server):
    _one_line_error(cli("fetch", "--id", "2508.1234"), "not an arXiv id: '2508.1234'")
    assert arxiv_server.requests == []


def test_arxiv_down_is_a_clear_error(cli, arxiv_server):
    arxiv_server.route("/rss/cs.AI", [Reply(503)])
    result = cli("fetch", "-c", "cs.AI")
    _one_line_error(result, "arXiv did not answer after 3 attempts (HTTP 503)")
    assert "retry 1 of 2" in result.stderr


def test_rate_limited_then_served(cli, arxiv_server):
    arxiv_server.route(
        "/rss/cs.AI",
        [
            Reply(429, headers={"Retry-After": "0"}),
            Reply(200, fixture("rss2024_empty_category-test.xml"), content_type=RSS),
        ],
    )
    assert cli("fetch", "-c", "cs.AI").exit_code == 0


def test_malformed_xml_is_a_clear_error(cli, arxiv_server):
    arxiv_server.route("/api/query", [Reply(200, b"<feed><entry><title>cut")])
    _one_line_error(cli("fetch", "--id", "1707.08567"), "error:")


def test_unknown_paper_and_missing_file(cli):
    _one_line_error(cli("show", "2508.00001"), "has no papers yet: `semdigest run` fetches today's listing")
    assert cli("ingest", DAY).exit_code == 0
    _one_line_error(cli("show", "2508.00001"), "is not in the store")
    _one_line_error(cli("ingest", "absent.jsonl"), "cannot read absent.jsonl")


def test_broken_config_is_a_clear_error(cli, home):
    (home / "config.toml").write_text("delay = 'soon'\n")
    _one_line_error(
        cli("stats"), "config.toml: setting 'delay' must be a number of seconds from 0 to 3600, not \"soon\""
    )


def test_show_prints_no_control_characters_of_a_hostile_paper(cli, tmp_path):
    hostile = {
        "id": "2508.00002",
        "title": "Bell\x07 and \x1b[2J clear \x01\b",
        "abstract": "An \x00abstract \u202e reversed.",
        "authors": "Eve \x1b]0;title\x07",
        "categories": "cs.LG",
        "comments": "see \x1b[31mred",
        "update_date": "2025-08-18",
    }
    (tmp_path / "hostile.jsonl").write_text(json.dumps(hostile) + "\n")
    assert cli("ingest", tmp_path / "hostile.jsonl").exit_code == 0
    shown = cli("show", "2508.00002").stdout
    assert "Bell" in shown and "clear" in shown and "red" in shown
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", shown)


def test_open_abstracts_is_validated(cli, home):
    (home / "config.toml").write_text("open_abstracts = -1\n")
    _one_line_error(cli("stats"), "setting 'open_abstracts' must be a whole number from 0 to 1000, not -1")


def test_the_installed_command_prints_everything_and_keeps_exit_codes(home):
    """The console script skips interpreter teardown (cli.console): output must still be flushed
    into a pipe, and an error must still exit 2 with one line."""

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "semdigest", "--home", str(home), *args], capture_output=True, text=True, timeout=120
        )

    ingested = run("ingest", DAY)
    assert ingested.returncode == 0 and "367 new" in ingested.stdout
    listed = run("show", "2508.12079")
    assert listed.returncode == 0 and "arXiv:2508.12079" in listed.stdout and listed.stdout.endswith("solely on CGQ.\n")
    bad = run("show", "2508.1234")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: not an arXiv id")
