"""Hostile arXiv responses, snapshot files and small input mistakes at the command line: each ends in one
`error: ...` line and exit code 2 (or a clear warning), with nothing lost."""

from __future__ import annotations

import json

import pytest

from arxiv_server import RSS, Reply, degraded, fixture

API = "/api/query"


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


@pytest.mark.parametrize("status", [200, 400, 404])
def test_an_empty_body_from_arxiv_is_one_line(day_home, cli, arxiv_server, status):
    arxiv_server.route(API, Reply(status, b""))
    arxiv_server.route("/rss/cs.AI", Reply(status, b"", content_type=RSS))
    expected = "arXiv sent an empty response" if status == 200 else f"arXiv answered HTTP {status}"
    for args in (["fetch", "-c", "cs.AI"], ["fetch", "--id", "2104.12255"], ["fetch", "--date", "2025-08-18"]):
        one_line_error(cli(*args), expected)
    one_line_error(cli("similar", "2104.12255"), expected)
    assert "papers: 367" in cli("stats").stdout


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2025-02-30", "2025-02-30 does not exist: February 2025 has 28 days"),
        ("2025-13-01", "2025-13-01 does not exist: there is no month 13"),
        ("2025/08/18", "'2025/08/18' is not a day in the form YYYY-MM-DD"),
    ],
)
def test_a_day_that_does_not_exist_says_so(home, cli, arxiv_server, day, message):
    for args in (["fetch", "--date", day], ["similar", "2508.13073", "--since", day], ["digest", "--date", day]):
        result = cli(*args)
        assert result.exit_code == 2 and message in result.stderr, result.output
    assert arxiv_server.requests == []


def test_a_day_before_arxiv_is_not_blamed_on_a_weekend(home, cli, arxiv_server):
    one_line_error(cli("fetch", "--date", "1990-01-01"), "arXiv began in August 1991")
    arxiv_server.route(API, Reply(200, fixture("api2026_empty_totalResults0_id-0808.05394.xml")))
    result = cli("fetch", "-c", "cs.AI", "--date", "2025-08-17")
    assert result.exit_code == 0 and result.stdout == "no papers submitted on 2025-08-17 in these categories\n"


@pytest.mark.parametrize("raw", ["２５０８.１３０７３", "٢٥٠٨.١٣٠٧٣", "2508." + "1" * 10_000])
def test_ids_arxiv_cannot_have_fail_in_one_short_line_before_any_request(home, cli, arxiv_server, raw):
    line = one_line_error(cli("fetch", "--id", raw), "not an arXiv id")
    assert len(line) < 250
    assert arxiv_server.requests == []


def test_fetch_by_id_keeps_the_version(home, cli, arxiv_server):
    arxiv_server.route(API, Reply(200, fixture("api2026_idlist_2104.12255v1_title-is-0.xml")))
    assert cli("fetch", "--id", "arXiv:2104.12255v1").exit_code == 0
    assert arxiv_server.requests[0].params["id_list"] == "2104.12255v1"


def test_a_binary_file_is_not_a_snapshot(home, cli, tmp_path):
    noise = tmp_path / "noise.jsonl"
    noise.write_bytes(bytes(range(256)) * 400)
    one_line_error(cli("ingest", noise), "noise.jsonl is not an arXiv metadata snapshot")
    assert not (home / "semdigest.db").exists() or "papers: 0" in cli("stats").stdout


def test_a_wrongly_typed_record_is_one_bad_line(home, cli, tmp_path):
    good = {"id": "2508.12079", "title": "T", "abstract": "A", "categories": "cs.LG"}
    path = tmp_path / "typed.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "2508.12080", "authors": ["A"]}) + "\n")
    result = cli("ingest", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 lines: 1 new, 0 updated, 0 unchanged, 1 bad\n"
    assert "line 2: non-text field 'authors'" in result.stderr


def test_an_oversized_abstract_is_cut_with_a_warning(home, cli, tmp_path):
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"id": "2508.12079", "title": "T", "abstract": "x" * 100_000}) + "\n")
    result = cli("ingest", path)
    assert result.exit_code == 0
    assert "warning: line 1: 2508.12079 is larger than any real paper, cut: abstract 100000 -> 20000" in result.stderr
    assert len(json.loads(cli("show", "2508.12079", "--json").stdout)["abstract"]) == 20_000


def test_a_new_paper_without_a_title_is_counted_apart(home, cli, arxiv_server):
    body = degraded(fixture("api2026_idlist_2104.12255v1_title-is-0.xml"), "title")
    arxiv_server.route(API, Reply(200, body))
    result = cli("fetch", "--id", "2104.12255")
    assert result.exit_code == 0
    assert result.stdout == "1 papers: 0 new, 0 updated, 0 unchanged, 1 not stored (no title or abstract)\n"
    assert "warning: not stored, as they came without a title or an abstract: 2104.12255" in result.stderr
