"""A small, polite client for arXiv's query API and its daily RSS listings.

arXiv's terms of use ask for at most one request every three seconds over a single connection, so one
Client paces every request it sends (retries included) and should be shared by everything in a process.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import io
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import feedparser
import httpx

from . import __version__
from .config import DEFAULT_API_URL, DEFAULT_RSS_URL
from .errors import ArxivAPIError, ArxivError, ArxivUnavailable, InvalidIdError, MalformedResponse
from .ids import ArxivId, parse_id
from .paper import Paper, collapse

USER_AGENT = f"semdigest/{__version__} (+https://github.com/semdigest/semdigest; 1 request per 3 s)"

MAX_PAGE_SIZE = 2000  # the API refuses larger pages
MAX_TOTAL_RESULTS = 30000  # and refuses to page beyond this
IDS_PER_REQUEST = 100  # keeps id_list URLs around 2 KB
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_T = TypeVar("_T")


@dataclass(frozen=True)
class ApiPage:
    """One page of query API results; `total_results` counts every match, not just this page."""

    papers: list[Paper]
    total_results: int
    start_index: int


@dataclass(frozen=True)
class Listing:
    """One day's RSS listing."""

    date: str | None  # YYYY-MM-DD announcement day (US Eastern), from the channel pubDate
    papers: list[Paper]

    def counts(self) -> dict[str, int]:
        """Papers per announce type: new, cross, replace, replace-cross."""
        return dict(Counter(paper.announce_type or "unknown" for paper in self.papers))


@dataclass(frozen=True)
class Lookup:
    """The result of an id_list query: arXiv silently leaves out ids it does not know."""

    papers: list[Paper]
    missing: list[str]  # requested ids in canonical form (with the version if one was asked for)


class _Retryable(Exception):
    """A failure worth another attempt; `error` is raised if the retries run out, else ArxivUnavailable."""

    def __init__(self, problem: str, error: ArxivError | None = None, retry_after: float = 0.0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.error = error
        self.retry_after = retry_after  # what the server asked for (Retry-After), if anything


class Client:
    """arXiv's query API and RSS feeds over one connection, pacing every request `delay` seconds apart."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        rss_url: str = DEFAULT_RSS_URL,
        *,
        delay: float = 3.0,
        page_size: int = 100,
        max_retries: int = 4,
        backoff: float = 3.0,
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, not {max_retries}")
        self.api_url = api_url
        self.rss_url = rss_url.rstrip("/")
        self.delay = delay
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.on_wait = on_wait
        self._http = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=timeout,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=1),
        )
        self._last_request: float | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def search(
        self,
        query: str,
        *,
        sort_by: str = "submittedDate",
        sort_order: str = "descending",
        max_results: int | None = None,
        on_page: Callable[[int, int], None] | None = None,
    ) -> Iterator[Paper]:
        """Yield the papers matching an API `search_query`, one page request at a time.

        `on_page(fetched, total)` is called after each page, `total` being what this search will yield at most.
        """
        params = {"search_query": query, "sortBy": sort_by, "sortOrder": sort_order}
        limit = MAX_TOTAL_RESULTS if max_results is None else min(max_results, MAX_TOTAL_RESULTS)
        start = 0
        while start < limit:
            page = self._api_page({**params, "start": start, "max_results": min(self.page_size, limit - start)})
            papers = page.papers[: limit - start]
            start += len(papers)
            if on_page:
                on_page(start, min(page.total_results, limit))
            yield from papers
            if not papers or start >= page.total_results:
                return

    def lookup(self, ids: Sequence[str]) -> Lookup:
        """Fetch papers by id; an unversioned id means the latest version."""
        wanted = list(dict.fromkeys(parse_id(raw) for raw in ids))  # every InvalidIdError before any request
        returned: dict[str, list[Paper]] = {}
        for chunk_start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = wanted[chunk_start : chunk_start + IDS_PER_REQUEST]
            params = {"id_list": ",".join(map(str, chunk)), "start": 0, "max_results": len(chunk)}
            for paper in self._api_page(params).papers:
                returned.setdefault(paper.id, []).append(paper)
        # arXiv leaves out unknown ids silently, so each returned entry is matched back to what was asked for
        papers: dict[tuple[str, int | None], Paper] = {}
        missing = []
        for want in wanted:
            match = next((p for p in returned.get(want.id, []) if want.version in (None, p.version)), None)
            if match is None:
                missing.append(str(want))
            else:
                papers.setdefault((match.id, match.version), match)
        return Lookup(list(papers.values()), missing)

    def listing(self, categories: Sequence[str]) -> Listing:
        """Today's RSS listing for archives or categories (`cs`, `cs.CV`, ...)."""
        if not categories:
            raise ValueError("listing() needs at least one category")
        url = f"{self.rss_url}/{'+'.join(categories)}"
        return self._get(url, {}, parse_rss)

    def submitted_on(
        self,
        categories: Sequence[str],
        day: datetime.date,
        *,
        on_page: Callable[[int, int], None] | None = None,
    ) -> Iterator[Paper]:
        """Papers first submitted on `day` (a GMT day, as arXiv's submittedDate filter counts), for backfills.

        Each paper gets `listed=day`: the RSS feed only ever shows today, so a past day is rebuilt this way.
        """
        if not categories:
            raise ValueError("submitted_on() needs at least one category")
        cats = " OR ".join(f"cat:{category}" for category in categories)
        stamp = day.strftime("%Y%m%d")
        query = f"({cats}) AND submittedDate:[{stamp}0000 TO {stamp}2359]"
        for paper in self.search(query, sort_order="ascending", on_page=on_page):
            yield dataclasses.replace(paper, listed=day.isoformat())

    def _api_page(self, params: dict[str, Any]) -> ApiPage:
        def parse(body: bytes) -> ApiPage:
            page = parse_api_feed(body)
            if not page.papers and page.start_index < page.total_results:
                # arXiv sometimes answers a page inside the results with no entries; asking again fixes it
                raise _Retryable(f"an empty page at {page.start_index} of {page.total_results} results")
            return page

        return self._get(self.api_url, params, parse)

    def _get(self, url: str, params: dict[str, Any], parse: Callable[[bytes], _T]) -> _T:
        attempt = 0
        while True:
            self._pace()
            try:
                return _parse_response(self._http.get(url, params=params), parse)
            except httpx.TransportError as exc:
                failure = _Retryable("timed out" if isinstance(exc, httpx.TimeoutException) else _describe(exc))
            except _Retryable as exc:
                failure = exc
            if attempt == self.max_retries:
                break
            attempt += 1
            wait = max(self.backoff * 2 ** (attempt - 1), failure.retry_after)
            if self.on_wait:
                self.on_wait(f"arXiv: {failure.problem}; retry {attempt} of {self.max_retries} in {wait:.1f} s")
            time.sleep(wait)
        if failure.error is not None:
            raise failure.error
        raise ArxivUnavailable(
            f"arXiv did not answer after {attempt + 1} attempts ({failure.problem}): try again later"
        )

    def _pace(self) -> None:
        # measured between request starts on the monotonic clock, so slow answers and retries count too
        if self._last_request is not None:
            time.sleep(max(0.0, self._last_request + self.delay - time.monotonic()))
        self._last_request = time.monotonic()


def _parse_response(response: httpx.Response, parse: Callable[[bytes], _T]) -> _T:
    status = response.status_code
    if status in RETRY_STATUSES:
        raise _Retryable(f"HTTP {status}", retry_after=_retry_after(response.headers.get("Retry-After")))
    if status == 200:
        try:
            return parse(response.content)
        except MalformedResponse as exc:
            raise _Retryable(str(exc), exc) from exc  # arXiv sometimes cuts a response short
    try:
        parse(response.content)  # arXiv's error feeds raise their own message (ArxivAPIError, ArxivError)
    except (MalformedResponse, _Retryable):
        pass
    raise ArxivError(f"arXiv answered HTTP {status} for {response.url}")


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; 0 if absent or unreadable."""
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _describe(exc: httpx.TransportError) -> str:
    return f"network error: {type(exc).__name__}" + (f" ({exc})" if str(exc) else "")


# --- parsing ---------------------------------------------------------------------------------------------


def parse_api_feed(body: bytes) -> ApiPage:
    """Parse one page of the query API (2016 legacy and current Atom alike)."""
    feed = _parse_xml(body, "atom")
    for entry in feed.entries:
        # the error feed is a normal feed with one entry: never mistake it for a paper
        if entry.get("title") == "Error" and entry.get("author") == "arXiv api core":
            raise ArxivAPIError(f"arXiv API error: {collapse(entry.get('summary'))}")
    try:
        total = int(feed.feed["opensearch_totalresults"])
        start = int(feed.feed.get("opensearch_startindex", 0))
    except (KeyError, ValueError) as exc:
        raise MalformedResponse("arXiv API response without a valid opensearch:totalResults") from exc
    return ApiPage([_api_paper(entry) for entry in feed.entries], total, start)


def parse_rss(body: bytes) -> Listing:
    """Parse an rss.arxiv.org listing; an empty channel (weekends, holidays) is an empty Listing."""
    feed = _parse_xml(body, "rss")
    title = feed.feed.get("title", "")
    if title.startswith("Feed error for query:"):
        raise ArxivError(f"arXiv RSS: {collapse(feed.feed.get('description'))} ({title})")
    day = _listing_date(feed.feed.get("published"))
    return Listing(day, [_rss_paper(item, day) for item in feed.entries])


def _parse_xml(body: bytes, kind: str) -> Any:
    # BytesIO, because feedparser treats a bytes or str argument as a possible file name or URL first;
    # no sanitizing, because abstracts are plain text where "$1<p<2$" is maths, not a tag
    feed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    if feed.bozo:
        raise MalformedResponse(f"arXiv sent malformed XML ({feed.bozo_exception})")
    if not feed.version.startswith(kind):
        raise MalformedResponse(f"arXiv sent something other than an {kind.upper()} feed")
    return feed


def _api_paper(entry: Any) -> Paper:
    ident = _entry_id(entry.get("id", ""))
    primary = entry.get("arxiv_primary_category", {}).get("term")
    tags = [tag.get("term") for tag in entry.get("tags", [])]
    return Paper(
        id=ident.id,
        title=entry.get("title", ""),
        abstract=entry.get("summary", ""),
        authors=tuple(collapse(author.get("name")) for author in entry.get("authors", [])),
        categories=_unique([primary, *tags]),
        version=ident.version,
        published=entry.get("published"),
        updated=entry.get("updated"),
        comment=_optional(entry.get("arxiv_comment")),
        journal_ref=_optional(entry.get("arxiv_journal_ref")),
        doi=_first_doi(entry.get("arxiv_doi")),
    )


def _rss_paper(item: Any, listed: str | None) -> Paper:
    ident = _entry_id(item.get("id", ""))  # the guid, oai:arXiv.org:<id>vN, carries the version; the link doesn't
    description = item.get("summary", "")
    _, found, abstract = description.partition("Abstract: ")
    return Paper(
        id=ident.id,
        title=item.get("title", ""),
        abstract=abstract if found else description,
        authors=split_creators(item.get("author", "")),
        categories=_unique([tag.get("term") for tag in item.get("tags", [])]),
        version=ident.version,
        listed=listed,
        announce_type=item.get("arxiv_announce_type"),
        journal_ref=_optional(item.get("arxiv_journal_reference")),
        doi=_first_doi(item.get("arxiv_doi")),
    )


_PARENTHESISED = re.compile(r"\([^()]*\)")


def split_creators(creator: str) -> tuple[str, ...]:
    """Split the RSS `dc:creator` string into names, dropping affiliations: "A (X, Y), B" -> ("A", "B")."""
    while (stripped := _PARENTHESISED.sub("", creator)) != creator:
        creator = stripped  # innermost first, so nested parentheses go too
    return tuple(name for part in creator.split(",") if (name := collapse(part)))


def _entry_id(raw: str) -> ArxivId:
    try:
        return parse_id(raw)
    except InvalidIdError as exc:
        raise MalformedResponse(f"arXiv sent an entry with an unexpected id: {raw!r}") from exc


def _listing_date(pub_date: str | None) -> str | None:
    try:
        return email.utils.parsedate_to_datetime(pub_date).date().isoformat() if pub_date else None
    except (TypeError, ValueError):
        return None


def _unique(values: Sequence[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _optional(text: str | None) -> str | None:
    return collapse(text) or None


def _first_doi(text: str | None) -> str | None:
    # several DOIs arrive space-separated in one element
    return text.split()[0] if text and text.split() else None
