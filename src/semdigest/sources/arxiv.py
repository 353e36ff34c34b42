"""A small, polite client for arXiv's query API and its daily RSS listings, over one PacedClient.

One Client should be shared by everything in a process: it paces every request it sends (retries
included) to arXiv's one request every three seconds.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import DEFAULT_API_URL, DEFAULT_RSS_URL
from ..paper import Paper
from .arxiv_api import ApiPage, parse_api_feed
from .ids import parse_id
from .paced import USER_AGENT, PacedClient, Retryable
from .rss import Listing, parse_rss

MAX_PAGE_SIZE = 2000  # the API refuses larger pages
MAX_TOTAL_RESULTS = 30000  # and refuses to page beyond this
IDS_PER_REQUEST = 100  # keeps id_list URLs around 2 KB


@dataclass(frozen=True)
class Lookup:
    """The result of an id_list query: arXiv silently leaves out ids it does not know."""

    papers: list[Paper]
    missing: list[str]  # requested ids in canonical form (with the version if one was asked for)


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
        self.api_url = api_url
        self.rss_url = rss_url.rstrip("/")
        self.page_size = page_size
        self.http = PacedClient(
            delay=delay,
            max_retries=max_retries,
            backoff=backoff,
            timeout=timeout,
            user_agent=user_agent,
            on_wait=on_wait,
        )

    def close(self) -> None:
        self.http.close()

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
        return self.http.get(f"{self.rss_url}/{'+'.join(categories)}", {}, parse_rss)

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
            yield dataclasses.replace(paper, listed=day)

    def _api_page(self, params: dict[str, Any]) -> ApiPage:
        def parse(body: bytes) -> ApiPage:
            page = parse_api_feed(body)
            if not page.papers and page.start_index < page.total_results:
                # arXiv sometimes answers a page inside the results with no entries; asking again fixes it
                raise Retryable(f"an empty page at {page.start_index} of {page.total_results} results")
            return page

        return self.http.get(self.api_url, params, parse)
