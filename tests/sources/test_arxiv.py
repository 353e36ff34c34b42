"""The arXiv client against a real local HTTP server replaying recorded arXiv responses (no mocks)."""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Callable

import pytest

from arxiv_server import RSS, ArxivServer, Reply, degraded, fixture, truncated
from semdigest import __version__
from semdigest.errors import ArxivAPIError, ArxivError, ArxivUnavailable, InvalidIdError, MalformedResponse
from semdigest.sources.arxiv import Client
from semdigest.sources.arxiv_api import parse_api_feed
from semdigest.sources.paced import USER_AGENT, _retry_after
from semdigest.sources.rss import split_creators

API = "/api/query"
PAGE1 = "api2026_search_all-testing_start0_max10.xml"
PAGE2 = "api2026_search_all-testing_start10_max10_page2.xml"
MAX100 = "api2026_search_all-testing_start0_max100.xml"
TWO_IDS = "api2026_idlist_two-ids_one-nonexistent.xml"
TITLE_0 = "api2026_idlist_2104.12255v1_title-is-0.xml"
EMPTY = "api2026_empty_totalResults0_id-0808.05394.xml"
ERROR_400 = "api2026_error_http400_incorrect-id-format-abc.xml"
RSS_DAY = "rss2024_all-archives_2024-11-28_1504items.xml"
ARCHIVES = (
    "astro-ph cond-mat physics quant-ph math cs econ eess gr-qc hep-ex hep-lat hep-ph hep-th math-ph nlin nucl-ex "
    "nucl-th q-bio q-fin stat"
).split()

MakeClient = Callable[..., Client]


def at_start(start: int) -> Callable[[dict[str, str]], bool]:
    return lambda params: params.get("start") == str(start)


def without_entries(body: bytes) -> bytes:
    """The same feed with no entries: what arXiv sometimes sends for a page inside the results."""
    return re.sub(rb"\s*<entry>.*?</entry>", b"", body, flags=re.S)


# --- search and paging ------------------------------------------------------------------------------------


def test_search_pages_across_two_pages(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, Reply(200, fixture(PAGE1)), when=at_start(0))
    arxiv_server.route(API, Reply(200, fixture(PAGE2)), when=at_start(10))
    progress: list[tuple[int, int]] = []
    client = make_arxiv_client(page_size=10)

    papers = list(client.search("testing", max_results=20, on_page=lambda *p: progress.append(p)))

    assert len(papers) == 20 and len({p.id for p in papers}) == 20
    assert papers[0].id == "2202.12139" and papers[10].id == "2403.16981"
    assert [(r.params["start"], r.params["max_results"]) for r in arxiv_server.requests] == [("0", "10"), ("10", "10")]
    first = arxiv_server.requests[0].params
    assert (first["search_query"], first["sortBy"], first["sortOrder"]) == ("testing", "submittedDate", "descending")
    assert progress == [(10, 20), (20, 20)]
    assert len({r.client_port for r in arxiv_server.requests}) == 1  # one connection, kept alive


def test_search_stops_at_total_results(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture("api2016legacy_search_au-del_maestro-AND-ti-checkerboard_doi.xml")))

    papers = list(arxiv_client.search("au:del_maestro AND ti:checkerboard"))

    assert [p.id for p in papers] == ["cond-mat/0603029"]
    assert len(arxiv_server.requests) == 1 and arxiv_server.requests[0].params["max_results"] == "100"


def test_search_never_yields_more_than_max_results(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(PAGE1)))  # ten entries, although five were asked for

    assert len(list(arxiv_client.search("testing", max_results=5))) == 5
    assert arxiv_server.requests[0].params["max_results"] == "5"


def test_search_with_no_results(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(EMPTY)))

    assert list(arxiv_client.search("ti:nothing")) == []
    assert len(arxiv_server.requests) == 1


def test_empty_page_before_total_results_is_retried(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, Reply(200, fixture(PAGE1)), when=at_start(0))
    empty_then_full = [Reply(200, without_entries(fixture(PAGE2))), Reply(200, fixture(PAGE2))]
    arxiv_server.route(API, empty_then_full, when=at_start(10))

    papers = list(make_arxiv_client(page_size=10).search("testing", max_results=20))

    assert len(papers) == 20
    assert [r.params["start"] for r in arxiv_server.requests] == ["0", "10", "10"]


def test_persistent_empty_page_is_an_error(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, Reply(200, without_entries(fixture(PAGE2))))

    with pytest.raises(ArxivUnavailable, match="empty page"):
        list(make_arxiv_client(max_retries=2).search("testing"))
    assert len(arxiv_server.requests) == 3


def test_submitted_on_queries_one_gmt_day(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture("api2016legacy_search_au-del_maestro-AND-ti-checkerboard_doi.xml")))

    papers = list(arxiv_client.submitted_on(["cs.CV", "cs.LG"], datetime.date(2025, 8, 18)))

    query = arxiv_server.requests[0].params["search_query"]
    assert query == "(cat:cs.CV OR cat:cs.LG) AND submittedDate:[202508180000 TO 202508182359]"
    assert [p.listed for p in papers] == [datetime.date(2025, 8, 18)]


# --- lookup by id -----------------------------------------------------------------------------------------


def test_lookup_reports_ids_arxiv_left_out(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(TWO_IDS)))

    result = arxiv_client.lookup(["0808.0539", "1707.08567"])

    assert [p.id for p in result.papers] == ["1707.08567"]
    assert result.missing == ["0808.0539"]
    assert len(result.papers[0].authors) == 34 and result.papers[0].authors[-1] == "Hirosuke Yamamoto"
    assert arxiv_server.requests[0].params["id_list"] == "0808.0539,1707.08567"


def test_lookup_title_zero(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(TITLE_0)))

    (paper,) = arxiv_client.lookup(["2104.12255v1"]).papers

    assert (paper.id, paper.version, paper.title) == ("2104.12255", 1, "0")
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0.")
    assert paper.categories == ("cs.CR",) and paper.authors == ("Quan Thoi Minh Nguyen",)
    assert (paper.published, paper.updated) == ("2021-04-20T16:07:14Z", "2021-04-20T16:07:14Z")


def test_lookup_unversioned_id_matches_returned_version(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture("api2026_idlist_1605.08386_unversioned.xml")))

    result = arxiv_client.lookup(["arXiv:1605.08386", "https://arxiv.org/abs/1605.08386"])

    assert [(p.id, p.version) for p in result.papers] == [("1605.08386", 1)] and result.missing == []
    assert arxiv_server.requests[0].params["id_list"] == "1605.08386"  # both spellings asked for once


def test_lookup_wrong_version_is_missing(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(TITLE_0)))  # has v1 only

    result = arxiv_client.lookup(["2104.12255v2"])

    assert result.papers == [] and result.missing == ["2104.12255v2"]


def test_lookup_all_missing_when_total_results_is_zero(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(EMPTY)))

    assert arxiv_client.lookup(["0808.0539"]).missing == ["0808.0539"]


def test_lookup_old_style_ids(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(
        API,
        Reply(200, fixture("api2026_idlist_oldstyle_quant-ph-0201082v1.xml")),
        when=lambda p: p["id_list"] == "quant-ph/0201082v1",
    )
    arxiv_server.route(
        API,
        Reply(200, fixture("api2026_idlist_oldstyle_astro-ph-0601001_affiliations.xml")),
        when=lambda p: p["id_list"] == "astro-ph/0601001",
    )

    (quant,) = arxiv_client.lookup(["quant-ph/0201082v1"]).papers
    (astro,) = arxiv_client.lookup(["arXiv:astro-ph/0601001"]).papers

    assert (quant.id, quant.version, quant.categories) == ("quant-ph/0201082", 1, ("quant-ph", "cs.PL"))
    assert (astro.id, astro.version) == ("astro-ph/0601001", 1)
    assert astro.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")  # no affiliations
    assert astro.journal_ref == "ActaAstron.56:1-50,2006"
    assert "Gould & Morgan (2003)" in astro.abstract and "V_max<17.5" in astro.abstract  # entities decoded once


def test_lookup_splits_long_id_lists(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(EMPTY)))
    ids = [f"2501.{n:05d}" for n in range(1, 151)]

    result = arxiv_client.lookup(ids)

    assert result.missing == ids
    assert [len(r.params["id_list"].split(",")) for r in arxiv_server.requests] == [100, 50]
    assert [r.params["max_results"] for r in arxiv_server.requests] == ["100", "50"]


def test_lookup_rejects_bad_ids_before_any_request(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    with pytest.raises(InvalidIdError, match="abc"):
        arxiv_client.lookup(["abc"])
    with pytest.raises(InvalidIdError):
        arxiv_client.lookup(["2104.12255", "2508.1234"])
    assert arxiv_server.requests == []


# --- both wire formats, field by field ---------------------------------------------------------------------


def test_current_format_search_page(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(MAX100)))

    papers = list(arxiv_client.search("testing", max_results=100))

    by_id = {p.id: p for p in papers}
    assert len(papers) == 100
    assert {"cs/0503050", "gr-qc/0103067", "hep-ph/0301050"} <= by_id.keys()
    assert by_id["hep-ph/0301050"].version == 2
    assert sum(p.version > 1 for p in papers) == 36
    assert sum(p.comment is None for p in papers) == 3
    titles = {p.title for p in papers}
    assert "$ω$Test: WebView-Oriented Testing for Android Applications" in titles
    assert "ChatGPT and Software Testing Education: Promises & Perils" in titles
    assert not any("\n" in p.abstract or p.abstract != p.abstract.strip() for p in papers)
    first = papers[0]
    assert (first.id, first.version, first.categories) == ("2202.12139", 1, ("cs.SE", "cs.LG"))
    assert first.doi == "10.1109/ICSTW55395.2022.00035"


def test_legacy_2016_format(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture("api2016legacy_idlist_1111.2011v2.xml")))

    (paper,) = arxiv_client.lookup(["1111.2011v2"]).papers

    assert (paper.id, paper.version) == ("1111.2011", 2)
    assert paper.title == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    assert paper.abstract.startswith("Theoretical description of anisotropic systems, such as layered superconductors")
    assert paper.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert (paper.published, paper.updated) == ("2011-11-08T18:48:36Z", "2012-04-02T12:38:54Z")
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.comment == "8 pages, 3 figures. Published version"


def test_legacy_2016_search_page() -> None:
    page = parse_api_feed(fixture("api2016legacy_search_au-del_maestro_max10.xml"))

    assert (page.total_results, page.start_index, len(page.papers)) == (31, 0, 10)
    assert "cond-mat/0412498" in {p.id for p in page.papers}
    assert any(p.abstract.startswith("We consider the R\\'{e}nyi entanglement") for p in page.papers)  # LaTeX kept


# --- API errors -------------------------------------------------------------------------------------------


def test_api_error_feed_raises_its_message(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(400, fixture(ERROR_400)))

    with pytest.raises(ArxivAPIError, match="incorrect id format for abc"):
        list(arxiv_client.search("id:abc"))
    assert len(arxiv_server.requests) == 1  # a bad request is not retried


def test_unexpected_status_is_an_error_without_retries(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    with pytest.raises(ArxivError, match="HTTP 404"):
        arxiv_client.listing(["cs"])  # nothing routed: the server answers 404
    assert len(arxiv_server.requests) == 1


# --- RSS listings -----------------------------------------------------------------------------------------


def test_rss_listing_of_1504_items(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route("/rss/" + "+".join(ARCHIVES), Reply(200, fixture(RSS_DAY), content_type=RSS))

    listing = arxiv_client.listing(ARCHIVES)

    assert listing.date == datetime.date(2024, 11, 28)
    assert len(listing.papers) == 1504
    assert listing.counts() == {"new": 926, "replace": 569, "cross": 9}
    assert all(p.listed == datetime.date(2024, 11, 28) for p in listing.papers)
    by_id = {p.id: p for p in listing.papers}
    vlbi = by_id["2411.17801"]
    assert vlbi.title.startswith("A VLBI Calibration System with Real-time Pulsar Gating")
    assert vlbi.abstract.startswith("Several thousand fast radio burst (FRB) sources")
    assert vlbi.authors == ("Aaron B. Pearlman",)  # "(for The CHIME/FRB Collaboration)" dropped
    assert (vlbi.version, vlbi.announce_type, vlbi.categories) == (1, "new", ("astro-ph.HE", "astro-ph.IM"))
    assert vlbi.doi == "10.23919/USNC-URSINRSM60317.2024.10465000"
    assert vlbi.journal_ref == "IEEE, 10.23919 (2024)"
    assert by_id["2411.17748"].authors[4] == "Benjamin R\\'emy"  # LaTeX kept, affiliation dropped
    assert (by_id["1401.3665"].version, by_id["1401.3665"].announce_type) == (4, "replace")
    assert by_id["2411.17857"].doi == "10.3847/1538-4357/ad8659"  # the first of two
    assert "$\\frac{1}{3}<s<1$" in by_id["2411.17730"].abstract  # maths, not an HTML tag to strip or close
    assert "Exploit (E&E)" in by_id["2411.17942"].abstract  # &amp; decoded exactly once
    assert any('Schr\\"odinger' in p.title for p in listing.papers)  # LaTeX kept


def test_empty_rss_feed_is_an_empty_listing(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route("/rss/test", Reply(200, fixture("rss2024_empty_category-test.xml"), content_type=RSS))

    listing = arxiv_client.listing(["test"])

    assert (listing.date, listing.papers, listing.counts()) == (datetime.date(2024, 11, 28), [], {})


def test_rss_error_feed(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route("/rss/astroph", Reply(400, fixture("rss2024_error_bad-archive-astroph.xml"), content_type=RSS))

    with pytest.raises(ArxivError, match="Bad archive 'astroph'"):
        arxiv_client.listing(["astroph"])
    assert len(arxiv_server.requests) == 1


@pytest.mark.parametrize(
    ("creator", "names"),
    [
        ("Jun Cui", ("Jun Cui",)),
        ("Kamil Erdayandi, Mustafa Asan Mustafa", ("Kamil Erdayandi", "Mustafa Asan Mustafa")),
        ("A (Univ X, Dept Y), B (Z)", ("A", "B")),
        ("A (Lab (North), Site), B", ("A", "B")),
        (" CMS Collaboration", ("CMS Collaboration",)),
        ("", ()),
    ],
)
def test_split_creators(creator: str, names: tuple[str, ...]) -> None:
    assert split_creators(creator) == names


# --- faults, retries and politeness -----------------------------------------------------------------------


def test_429_waits_for_retry_after(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    too_many = Reply(429, b"slow down", {"Retry-After": "1"}, "text/plain")
    arxiv_server.route(API, [too_many, Reply(200, fixture(TITLE_0))])
    waits: list[str] = []

    papers = make_arxiv_client(on_wait=waits.append).lookup(["2104.12255"]).papers

    assert [p.title for p in papers] == ["0"]
    assert len(arxiv_server.requests) == 2 and arxiv_server.gaps()[0] >= 0.99
    assert len(waits) == 1 and "HTTP 429" in waits[0]


def test_retry_after_http_date() -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=10)

    assert 8 <= _retry_after(email.utils.format_datetime(soon, usegmt=True)) <= 10
    assert _retry_after("5") == 5.0
    assert _retry_after("soon") == _retry_after(None) == 0.0


def test_503_twice_then_success(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, [Reply(503), Reply(503), Reply(200, fixture(TITLE_0))])
    waits: list[str] = []

    papers = make_arxiv_client(on_wait=waits.append).lookup(["2104.12255"]).papers

    assert len(papers) == 1 and len(arxiv_server.requests) == 3
    assert len(waits) == 2 and all("HTTP 503" in wait for wait in waits)


def test_timeout_then_success(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, [Reply(200, fixture(TITLE_0), delay=0.6), Reply(200, fixture(TITLE_0))])
    waits: list[str] = []

    papers = make_arxiv_client(timeout=0.2, on_wait=waits.append).lookup(["2104.12255"]).papers

    assert len(papers) == 1 and len(arxiv_server.requests) == 2
    assert "timed out" in waits[0]


def test_truncated_xml_is_retried(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, [Reply(200, truncated(fixture(PAGE1))), Reply(200, fixture(PAGE1))])

    assert len(list(arxiv_client.search("testing", max_results=10))) == 10
    assert len(arxiv_server.requests) == 2


@pytest.mark.parametrize("body", [truncated(fixture(PAGE1)), b"<html><body>Service Unavailable</body></html>"])
def test_persistent_malformed_response(arxiv_server: ArxivServer, make_arxiv_client: MakeClient, body: bytes) -> None:
    arxiv_server.route(API, Reply(200, body))

    with pytest.raises(MalformedResponse):
        list(make_arxiv_client(max_retries=2).search("testing"))
    assert len(arxiv_server.requests) == 3


def test_persistent_503_gives_up(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(503))

    with pytest.raises(ArxivUnavailable) as raised:
        arxiv_client.lookup(["2104.12255"])

    assert len(arxiv_server.requests) == arxiv_client.http.max_retries + 1 == 5
    assert str(raised.value) == "arXiv did not answer after 5 attempts (HTTP 503): try again later"


def test_backoff_doubles(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, Reply(503))

    with pytest.raises(ArxivUnavailable):
        make_arxiv_client(backoff=0.1, max_retries=2).lookup(["2104.12255"])

    first, second = arxiv_server.gaps()
    assert first >= 0.09 and second >= 0.19


def test_a_refused_connection_fails_at_once() -> None:
    """Nothing listens: no retry would help, so there is none (a daily job offline fails in seconds, not 45 s)."""
    waits: list[str] = []
    with ArxivServer() as server:
        url = server.url(API)  # nothing listens there once the server has stopped
    with (
        Client(url, delay=0.01, backoff=0.01, max_retries=3, on_wait=waits.append) as client,
        pytest.raises(ArxivUnavailable) as raised,
    ):
        client.lookup(["2104.12255"])
    assert str(raised.value).startswith("cannot reach arXiv at 127.0.0.1 (network error: ConnectError")
    assert waits == []


def test_a_host_that_does_not_resolve_fails_at_once() -> None:
    waits: list[str] = []
    with (
        Client(
            "http://arxiv.invalid/api/query", delay=0.01, backoff=0.01, max_retries=3, on_wait=waits.append
        ) as client,
        pytest.raises(ArxivUnavailable, match=r"cannot reach arXiv at arxiv\.invalid"),
    ):
        client.lookup(["2104.12255"])
    assert waits == []


def test_delay_between_requests(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, Reply(200, fixture(PAGE1)), when=lambda p: "search_query" in p)
    arxiv_server.route(API, [Reply(503), Reply(200, fixture(TITLE_0))], when=lambda p: "id_list" in p)
    client = make_arxiv_client(delay=0.3)

    list(client.search("testing", max_results=10))
    client.lookup(["2104.12255"])  # a 503 and its retry: retries are paced too

    assert len(arxiv_server.requests) == 3
    assert min(arxiv_server.gaps()) >= 0.28  # the server sees arrivals, a few ms after the client's starts


def test_user_agent_is_sent(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    arxiv_server.route(API, Reply(200, fixture(TITLE_0)))
    arxiv_server.route("/rss/test", Reply(200, fixture("rss2024_empty_category-test.xml"), content_type=RSS))

    arxiv_client.lookup(["2104.12255"])
    arxiv_client.listing(["test"])

    assert USER_AGENT.startswith(f"semdigest/{__version__} (+")
    assert [r.headers["user-agent"] for r in arxiv_server.requests] == [USER_AGENT, USER_AGENT]


# --- hostile and degraded responses -----------------------------------------------------------------------

INTERFACES: dict[str, Callable[[Client], object]] = {
    "rss": lambda client: client.listing(["cs.AI"]),
    "id": lambda client: client.lookup(["2104.12255"]),
    "date": lambda client: list(client.submitted_on(["cs.AI"], datetime.date(2025, 8, 18))),
}


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize("status", [200, 400, 404])
def test_an_empty_body_is_a_clear_error(
    arxiv_server: ArxivServer, make_arxiv_client: MakeClient, status: int, interface: str
) -> None:
    """It raised AttributeError (feedparser sets no `version` on an empty document)."""
    arxiv_server.route(API, Reply(status, b""))
    arxiv_server.route("/rss/cs.AI", Reply(status, b"", content_type=RSS))
    expected = "arXiv sent an empty response" if status == 200 else f"arXiv answered HTTP {status} for "

    with pytest.raises(ArxivError, match=re.escape(expected)):
        INTERFACES[interface](make_arxiv_client(max_retries=1))
    assert len(arxiv_server.requests) == (2 if status == 200 else 1)  # a 200 may be cut short: retried once


def test_entries_without_a_title_or_an_abstract_parse_as_absent(
    arxiv_server: ArxivServer, arxiv_client: Client
) -> None:
    """What arXiv has sent for 2104.12255 (see API_NOTES.md): the store, not the parser, decides what to keep."""
    arxiv_server.route(API, [Reply(200, degraded(fixture(PAGE1), "summary", entry=3, text=b" "))])
    arxiv_server.route(API, [Reply(200, degraded(fixture(TITLE_0), "title"))], when=lambda p: "id_list" in p)

    (untitled,) = arxiv_client.lookup(["2104.12255"]).papers
    page = list(arxiv_client.search("testing", max_results=10))

    assert (untitled.title, untitled.abstract[:22]) == ("", "What is the funniest n")
    assert [paper.abstract == "" for paper in page] == [False] * 3 + [True] + [False] * 6


def test_an_rss_item_without_a_guid_takes_its_id_from_the_link(arxiv_server: ArxivServer, arxiv_client: Client) -> None:
    """One such item rejected the whole listing, after three retries."""
    arxiv_server.route("/rss/cs.AI", Reply(200, degraded(fixture(RSS_DAY), "guid", entry=1), content_type=RSS))

    listing = arxiv_client.listing(["cs.AI"])

    assert len(listing.papers) == 1504 and listing.skipped == () and len(arxiv_server.requests) == 1
    assert (listing.papers[1].id, listing.papers[1].version) == ("2411.17701", None)


def test_an_rss_item_without_any_id_is_left_out_not_the_listing(
    arxiv_server: ArxivServer, arxiv_client: Client
) -> None:
    body = degraded(degraded(fixture(RSS_DAY), "guid", entry=1), "link", entry=1)
    arxiv_server.route("/rss/cs.AI", Reply(200, body, content_type=RSS))

    listing = arxiv_client.listing(["cs.AI"])

    assert len(listing.papers) == 1503 and "2411.17701" not in {paper.id for paper in listing.papers}
    assert listing.skipped == (
        "item 2 ('Equivalent of Non-Trivial Riemann Zeros Condition in Matrix Representation and P'):"
        " arXiv sent an entry without an id",
    )
    assert len(arxiv_server.requests) == 1


def test_a_retry_after_beyond_the_cap_fails_at_once_and_says_so(
    arxiv_server: ArxivServer, make_arxiv_client: MakeClient
) -> None:
    """`Retry-After: 86400` must not put a daily job to sleep for a day."""
    arxiv_server.route(API, Reply(503, b"", {"Retry-After": "86400"}, "text/plain"))
    waits: list[str] = []

    with pytest.raises(ArxivUnavailable) as raised:
        make_arxiv_client(on_wait=waits.append).lookup(["2104.12255"])

    assert str(raised.value) == (
        "arXiv asked to wait 86400 s (HTTP 503), more than the 300 s semdigest waits: try again later"
    )
    assert len(arxiv_server.requests) == 1 and waits == []


def test_one_attempt_is_counted_in_the_singular(arxiv_server: ArxivServer, make_arxiv_client: MakeClient) -> None:
    arxiv_server.route(API, Reply(503))

    with pytest.raises(ArxivUnavailable, match=r"^arXiv did not answer after 1 attempt \(HTTP 503\)"):
        make_arxiv_client(max_retries=0).lookup(["2104.12255"])
