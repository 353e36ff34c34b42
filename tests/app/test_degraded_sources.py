"""What arXiv sends at its worst, through the application (semdigest.Home) against the local server: degraded
entries never wipe stored text nor enter the store as empty papers, one odd RSS item costs only itself, and
a fetch that fails part way keeps what it had."""

from __future__ import annotations

from datetime import date

import pytest

from arxiv_server import RSS, Reply, degraded, fixture
from semdigest import Home
from semdigest.app.events import Events
from semdigest.errors import ArxivError, ArxivUnavailable, UsageError

API = "/api/query"
TITLE_0 = fixture("api2026_idlist_2104.12255v1_title-is-0.xml")
RSS_DAY = fixture("rss2024_all-archives_2024-11-28_1504items.xml")


class Heard(Events):
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, message: str) -> None:
        self.said.append(message)


def test_a_degraded_entry_keeps_the_stored_title_and_abstract(home, arxiv_server):
    arxiv_server.route(API, [Reply(200, TITLE_0), Reply(200, degraded(degraded(TITLE_0, "title"), "summary"))])
    with Home.open(home) as opened:
        opened.fetch_ids(["2104.12255"])
        stored = opened.paper("2104.12255")
        again = opened.fetch_ids(["2104.12255"])
        assert again.counts.unchanged == 1
        assert opened.paper("2104.12255") == stored and stored.title == "0"


def test_a_new_paper_without_a_title_is_reported_not_stored(home, arxiv_server):
    """It was stored with an empty title, then embedded and ranked."""
    arxiv_server.route(API, Reply(200, degraded(TITLE_0, "title")))
    heard = Heard()
    with Home.open(home, events=heard) as opened:
        report = opened.fetch_ids(["2104.12255"])
        assert (report.counts.new, report.counts.incomplete, report.total) == (0, ["2104.12255"], 1)
        assert opened.stats().papers == 0
    assert "warning: not stored, as they came without a title or an abstract: 2104.12255" in heard.said


def test_similar_to_a_paper_arxiv_sends_without_a_title_is_an_error(day_home, arxiv_server):
    arxiv_server.route(API, Reply(200, degraded(TITLE_0, "title")))
    with Home.open(day_home) as opened, pytest.raises(ArxivError, match=r"arXiv sent 2104\.12255 without a title"):
        opened.similar(["2104.12255"])
    with Home.open(day_home) as opened:
        assert opened.stats().papers == 367


def test_one_rss_item_without_an_id_costs_only_itself(home, arxiv_server):
    body = degraded(degraded(degraded(RSS_DAY, "guid", entry=1), "link", entry=1), "title", entry=5)
    arxiv_server.route("/rss/cs.AI", Reply(200, body, content_type=RSS))
    heard = Heard()
    with Home.open(home, events=heard) as opened:
        report = opened.fetch(["cs.AI"])
        assert (report.counts.new, len(report.counts.incomplete), report.day) == (1502, 1, date(2024, 11, 28))
    assert len(arxiv_server.requests) == 1
    assert any(line.startswith("warning: left out of the listing: item 2 (") for line in heard.said)


def test_a_past_day_that_fails_part_way_keeps_the_pages_it_fetched(home, arxiv_server):
    """`fetch --date` threw away the pages it had when a later page failed."""
    arxiv_server.route(API, Reply(503))
    arxiv_server.route(API, Reply(200, fixture("api2026_search_all-testing_start0_max10.xml")), when=_start(0))
    heard = Heard()
    with Home.open(home, events=heard) as opened:
        with pytest.raises(ArxivUnavailable, match="did not answer after 3 attempts"):
            opened.fetch(["cs.AI"], date(2025, 8, 18))
        assert opened.stats().papers == 10
        assert opened.stats().last_day == date(2025, 8, 18)
    assert "stored the 10 papers that came before this error; run it again for the rest" in heard.said


def test_fetch_by_id_keeps_the_version_asked_for(home, arxiv_server):
    arxiv_server.route(API, Reply(200, TITLE_0))
    with Home.open(home) as opened:
        opened.fetch_ids(["arXiv:2104.12255v1"])
    assert arxiv_server.requests[0].params["id_list"] == "2104.12255v1"


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(1990, 1, 1), "no papers were submitted on 1990-01-01: arXiv began in August 1991"),
        (date(2999, 1, 1), "2999-01-01 is in the future"),
    ],
)
def test_a_day_arxiv_cannot_have_papers_of_is_refused_before_any_request(home, arxiv_server, day, message):
    with Home.open(home) as opened, pytest.raises(UsageError, match=message):
        opened.fetch(["cs.AI"], day)
    assert arxiv_server.requests == []


def _start(start: int):
    return lambda params: params.get("start") == str(start)


def test_an_oversized_entry_from_arxiv_is_cut_with_a_warning(home, arxiv_server):
    arxiv_server.route(API, Reply(200, degraded(TITLE_0, "summary", text=b"zero " * 10_000)))
    heard = Heard()
    with Home.open(home, events=heard) as opened:
        opened.fetch_ids(["2104.12255"])
        assert len(opened.paper("2104.12255").abstract) == 19_999
    assert "warning: 2104.12255 is larger than any real paper, cut: abstract 49999 -> 20000 characters" in heard.said
