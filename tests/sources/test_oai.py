"""The OAI-PMH client against a real local HTTP server replaying recorded arXiv OAI-PMH responses (no mocks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from arxiv_server import XML, ArxivServer, Reply, deleted, fixture, oai_list, oai_records, oai_token, truncated
from semdigest.errors import ArxivUnavailable, BadResumptionToken, MalformedResponse, OaiError, UsageError
from semdigest.sources.oai import OaiClient, Selection, parse_list_records

OAI = "/oai"
RAW_PAGE = "oai2015_listrecords_arXivRaw_from-2014-10-01_resumptionToken.xml"  # 6 records, token 726959|1001
RAW_RECORD = "oai2015_getrecord_arXivRaw_1302.2146.xml"
ARXIV_PAGE = "oai2017_listrecords_arXiv_set-physics-hep-th_from-2017-12-14.xml"  # 3 records, no token
ARXIV_RECORD = "oai2018_getrecord_arXiv_1401.2122.xml"
TOKEN = "726959|1001"

MakeClient = Callable[..., OaiClient]


@pytest.fixture
def make_oai_client(arxiv_server: ArxivServer) -> Iterator[MakeClient]:
    clients: list[OaiClient] = []

    def make(**overrides: Any) -> OaiClient:
        client = OaiClient(arxiv_server.url(OAI), **{"delay": 0.01, "backoff": 0.01, "timeout": 1.0, **overrides})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def xml(body: bytes) -> Reply:
    return Reply(200, body, content_type=XML)


def serve_two_raw_pages(server: ArxivServer) -> None:
    """The recorded arXivRaw page (its token names page 2), then a last page holding the 1302.2146 record."""
    server.route(OAI, xml(fixture(RAW_PAGE)), when=oai_token(None))
    server.route(OAI, xml(oai_list(oai_records(RAW_RECORD))), when=oai_token(TOKEN))


# --- parsing the two metadata formats ------------------------------------------------------------------------


def test_arxiv_format_page() -> None:
    page = parse_list_records(fixture(ARXIV_PAGE))

    assert [paper.id for paper in page.papers] == ["1412.8323", "1507.07790", "1607.01710"]
    first = page.papers[0]
    assert first.title == "Toolbox for reconstructing quantum theory from rules on information acquisition"
    assert first.abstract.startswith("We develop an operational approach")  # unwrapped, leading spaces gone
    assert first.authors == ("Philipp A Hoehn",)  # forenames keyname
    assert first.categories == ("quant-ph", "gr-qc", "hep-th", "math-ph", "math.MP", "physics.hist-ph")
    assert (first.published, first.updated, first.version) == ("2014-12-29", "2017-12-13", None)
    assert page.papers[1].doi == "10.1088/1751-8121/aa9c53" and page.papers[1].comment == "7 pages"
    assert (page.token, page.datestamp, page.records) == (None, "2017-12-14", 3)


def test_arxiv_raw_page_carries_versions() -> None:
    page = parse_list_records(fixture(RAW_PAGE))

    assert len(page.papers) == 6 and (page.token, page.list_size, page.datestamp) == (TOKEN, 58011, "2014-12-22")
    papers = {paper.id: paper for paper in page.papers}
    limits = papers["0704.0716"]
    assert limits.version == 4
    assert (limits.published, limits.updated) == ("2007-04-05T12:45:03+00:00", "2008-11-14T09:07:25+00:00")
    shetty = papers["0704.0471"]
    assert shetty.authors == ("D.V. Shetty", "S.J. Yennello", "G.A. Souliotis")
    assert shetty.doi == "10.1103/PhysRevC.76.024606"  # the first of two, space-separated
    assert 'an extremely " stiff " and " soft "' in shetty.abstract  # &quot; decoded once


def test_a_deleted_record_is_an_id_not_a_paper() -> None:
    records = oai_records(RAW_PAGE)
    page = parse_list_records(oai_list([records[0], deleted(records[1])]))

    assert [paper.id for paper in page.papers] == ["0704.0471"]
    assert page.deleted == ["0704.0716"] and page.datestamp == "2014-12-22" and page.records == 2


def test_a_record_that_is_not_a_paper_is_skipped_and_named() -> None:
    good, *_ = oai_records(ARXIV_RECORD)
    untitled = good.replace(b"<title>New integrable (3+1)-dimensional systems and contact geometry</title>", b"")
    bad_id = good.replace(b"<id>1401.2122</id>", b"<id>not-an-id</id>")

    page = parse_list_records(oai_list([good, untitled, bad_id], envelope=ARXIV_PAGE))

    assert [paper.id for paper in page.papers] == ["1401.2122"]
    assert [(bad.identifier, bad.reason) for bad in page.bad] == [
        ("oai:arXiv.org:1401.2122", "a record without a title"),
        (
            "oai:arXiv.org:1401.2122",
            "not an arXiv id: 'not-an-id' (expected e.g. 2508.11737, 2508.11737v2, arXiv:2508.11737 or hep-th/9901001)",
        ),
    ]


def test_the_last_page_of_the_2025_server_has_an_empty_token() -> None:
    page = parse_list_records(oai_list(oai_records(RAW_RECORD)))

    assert page.token is None and [paper.id for paper in page.papers] == ["1302.2146"]
    assert page.papers[0].version == 2


# --- OAI-PMH errors -------------------------------------------------------------------------------------------


def test_no_records_match_is_an_empty_last_page() -> None:
    page = parse_list_records(fixture("oai2015_error_NoRecordsMatch.xml"))

    assert (page.records, page.token, page.datestamp) == (0, None, None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("oai2015_error_BadArgument.xml", "(badArgument): Verb 'ListRecords', illegal argument 'identifier'."),
        ("oai2015_error_IdDoesNotExist.xml", "(idDoesNotExist): Identifier 'oai:arXiv.org:0813.2274' has correct"),
    ],
)
def test_bad_argument_and_unknown_ids_are_errors(name: str, message: str) -> None:
    with pytest.raises(OaiError) as raised:
        parse_list_records(fixture(name))

    assert str(raised.value).startswith(f"arXiv OAI-PMH refused the request {message}")
    assert not isinstance(raised.value, BadResumptionToken)


def test_a_bad_resumption_token_has_its_own_error(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    arxiv_server.route(OAI, xml(fixture("oai2015_error_BadResumptionToken.xml")))

    with pytest.raises(BadResumptionToken, match="no longer accepts the resumption token"):
        list(make_oai_client().pages(Selection(), token="3"))
    assert len(arxiv_server.requests) == 1  # an answer, not a fault: never retried


@pytest.mark.parametrize("body", [b"", b"<html><body>Service Unavailable</body></html>", b"<rss/>"])
def test_what_is_not_oai_pmh_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parse_list_records(body)


# --- paging over the loopback server ------------------------------------------------------------------------


def test_pages_follow_the_resumption_token(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    serve_two_raw_pages(arxiv_server)
    selection = Selection("arXivRaw", "physics:hep-th", date(2014, 10, 1), date(2014, 12, 31))

    pages = list(make_oai_client().pages(selection))

    assert [len(page.papers) for page in pages] == [6, 1] and pages[-1].token is None
    first, second = (request.params for request in arxiv_server.requests)
    assert first == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "set": "physics:hep-th",
        "from": "2014-10-01",
        "until": "2014-12-31",
    }
    assert second == {"verb": "ListRecords", "resumptionToken": TOKEN}  # a token is exclusive of other arguments


def test_pages_resume_from_a_token(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    serve_two_raw_pages(arxiv_server)

    pages = list(make_oai_client().pages(Selection("arXivRaw"), token=TOKEN))

    assert [paper.id for page in pages for paper in page.papers] == ["1302.2146"]
    assert [request.params.get("resumptionToken") for request in arxiv_server.requests] == [TOKEN]


# --- faults ------------------------------------------------------------------------------------------------------


def test_503_waits_for_retry_after(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    busy = Reply(503, b"Retry after 1 second", {"Retry-After": "1"}, "text/plain")
    arxiv_server.route(OAI, [busy, xml(fixture(ARXIV_PAGE))])
    waits: list[str] = []

    pages = list(make_oai_client(on_wait=waits.append).pages(Selection(set_spec="physics:hep-th")))

    assert len(pages[0].papers) == 3 and len(arxiv_server.requests) == 2
    assert waits == ["arXiv OAI-PMH: HTTP 503; retry 1 of 4 in 1.0 s"]
    assert arxiv_server.gaps()[0] >= 0.99


def test_a_retry_after_beyond_the_cap_is_an_error(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    arxiv_server.route(OAI, Reply(503, b"", {"Retry-After": "86400"}, "text/plain"))

    with pytest.raises(ArxivUnavailable, match=r"arXiv OAI-PMH asked to wait 86400 s .* more than the 300 s"):
        list(make_oai_client().pages(Selection()))
    assert len(arxiv_server.requests) == 1


def test_a_truncated_page_is_asked_for_again(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    arxiv_server.route(OAI, [xml(truncated(fixture(RAW_PAGE))), xml(fixture(RAW_PAGE))], when=oai_token(None))
    arxiv_server.route(OAI, xml(oai_list(oai_records(RAW_RECORD))), when=oai_token(TOKEN))

    pages = list(make_oai_client().pages(Selection("arXivRaw")))

    assert [len(page.papers) for page in pages] == [6, 1] and len(arxiv_server.requests) == 3


def test_persistent_503_gives_up(arxiv_server: ArxivServer, make_oai_client: MakeClient) -> None:
    arxiv_server.route(OAI, Reply(503))

    with pytest.raises(ArxivUnavailable, match=r"arXiv OAI-PMH did not answer after 3 attempts \(HTTP 503\)"):
        list(make_oai_client(max_retries=2).pages(Selection()))


# --- what may be asked for ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["cs", "math", "physics:hep-th", "cs:cs:CV", "q-bio:q-bio:NC", "physics:astro-ph"])
def test_sets_by_archive_or_category(spec: str) -> None:
    assert Selection(set_spec=spec).params()["set"] == spec


@pytest.mark.parametrize("spec", ["cs.CV", "", "%", "cs:cs:CV&verb=Identify", "CS", "a:b:c:d"])
def test_what_is_not_a_set_is_refused_before_any_request(spec: str) -> None:
    with pytest.raises(UsageError, match=r"is not an arXiv OAI-PMH set: .* e.g. cs, math, physics:hep-th, cs:cs:CV"):
        Selection(set_spec=spec)


def test_unknown_formats_and_backward_periods_are_refused() -> None:
    with pytest.raises(UsageError, match="unknown OAI-PMH metadata format 'oai_dc' \\(known: arXiv, arXivRaw\\)"):
        Selection("oai_dc")
    with pytest.raises(UsageError, match="--from 2025-02-01 is after --until 2025-01-01"):
        Selection(from_day=date(2025, 2, 1), until_day=date(2025, 1, 1))
