"""arXiv's OAI-PMH interface (https://oaipmh.arxiv.org/oai): ListRecords pages, in the `arXiv` or `arXivRaw`
metadata format, parsed into Papers and the ids of deleted records.

Over the project's PacedClient rather than sickle (the known OAI-PMH client): the PacedClient already paces
every request to arXiv's one in three seconds over one connection, retries 503s honouring Retry-After up to
a cap, retries responses cut short, and fails at once when arXiv cannot be reached, the same for all three
of arXiv's interfaces. Sickle would bring requests and lxml beside httpx, retries without pacing or a cap on
Retry-After, and an iterator that hides the page boundaries a resumable harvest checkpoints at.

Parsed with the standard library's ElementTree, not defusedxml: the bundled expat (>= 2.4.1; 2.5.0 here)
refuses billion-laughs and quadratic entity blow-ups itself, and ElementTree never fetches external entities
or DTDs, which leaves defusedxml nothing to add for responses from arXiv's TLS host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from xml.etree import ElementTree

from ..errors import BadResumptionToken, MalformedResponse, OaiError, SemdigestError, UsageError
from ..paper import Paper, collapse
from .ids import parse_id
from .paced import USER_AGENT, PacedClient
from .snapshot import snapshot_paper

NAME = "arXiv OAI-PMH"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"  # the latest version, authors split into keyname and forenames
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"  # every version with its date, authors as one string
PREFIXES = ("arXiv", "arXivRaw")
# an archive (`cs`, `math`), a group and archive (`physics:hep-th`), or one category (`cs:cs:CV`)
SET_SPEC = re.compile(r"[a-z][a-z-]*(:[a-z][a-z-]*)?(:[A-Za-z][A-Za-z-]*)?")


@dataclass(frozen=True)
class Selection:
    """What a harvest asks for: a metadata format, a set (None: all of arXiv), and datestamps from/until."""

    prefix: str = "arXiv"
    set_spec: str | None = None
    from_day: date | None = None
    until_day: date | None = None

    def __post_init__(self) -> None:
        if self.prefix not in PREFIXES:
            raise UsageError(f"unknown OAI-PMH metadata format {self.prefix!r} (known: {', '.join(PREFIXES)})")
        if self.set_spec is not None and not SET_SPEC.fullmatch(self.set_spec):
            raise UsageError(
                f"{self.set_spec[:80]!r} is not an arXiv OAI-PMH set: give an archive or a category as"
                " OAI-PMH names them, e.g. cs, math, physics:hep-th, cs:cs:CV"
            )
        if self.from_day and self.until_day and self.from_day > self.until_day:
            raise UsageError(f"--from {self.from_day} is after --until {self.until_day}")

    def params(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        for name, value in (("set", self.set_spec), ("from", self.from_day), ("until", self.until_day)):
            if value:
                params[name] = str(value)
        return params


@dataclass(frozen=True)
class BadRecord:
    identifier: str
    reason: str


@dataclass
class OaiPage:
    """One ListRecords response (filled in as it is parsed)."""

    papers: list[Paper] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # canonical ids of records whose header says "deleted"
    bad: list[BadRecord] = field(default_factory=list)  # records that are not a paper, skipped
    datestamp: str | None = None  # the latest header datestamp on the page
    token: str | None = None  # the next page's resumptionToken; None on the last page
    list_size: int | None = None  # completeListSize, which the pre-2025 server sent

    @property
    def records(self) -> int:
        return len(self.papers) + len(self.deleted) + len(self.bad)


class OaiClient:
    """ListRecords over one PacedClient, page by page."""

    def __init__(
        self,
        url: str,
        *,
        delay: float = 3.0,
        max_retries: int = 4,
        backoff: float = 3.0,
        timeout: float = 60.0,  # a page of 2,500 arXivRaw records is ~4 MB
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.http = PacedClient(
            delay=delay,
            max_retries=max_retries,
            backoff=backoff,
            timeout=timeout,
            user_agent=USER_AGENT,
            on_wait=on_wait,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OaiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def pages(self, selection: Selection, token: str | None = None) -> Iterator[OaiPage]:
        """The pages of a ListRecords, from its start or from the page `token` names, until the last one.
        BadResumptionToken when the server no longer accepts a token (arXiv's expire daily)."""
        while True:
            params = {"verb": "ListRecords", "resumptionToken": token} if token else selection.params()
            page = self.http.get(self.url, params, parse_list_records, name=NAME)
            yield page
            if page.token is None:
                return
            token = page.token


def parse_list_records(body: bytes) -> OaiPage:
    """A ListRecords response; `noRecordsMatch` is an empty last page, the other OAI-PMH errors raise."""
    root = _root(body)
    if (error := root.find(f"{OAI}error")) is not None:
        return _error_page(error)
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise MalformedResponse(f"{NAME} sent a response with neither ListRecords nor an error")
    page = OaiPage()
    for record in listing.iterfind(f"{OAI}record"):
        _add_record(page, record)
    token = listing.find(f"{OAI}resumptionToken")
    if token is not None:  # the last page carries an empty token (the 2025 server) or none at all (the old one)
        page.token = (token.text or "").strip() or None
        size = token.get("completeListSize", "")
        page.list_size = int(size) if size.isdigit() else None
    return page


def _root(body: bytes) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise MalformedResponse(f"{NAME} sent malformed XML ({error})") from None
    if root.tag != f"{OAI}OAI-PMH":
        raise MalformedResponse(f"{NAME} sent something other than an OAI-PMH response")
    return root


def _error_page(error: ElementTree.Element) -> OaiPage:
    code, message = error.get("code", ""), collapse("".join(error.itertext()))
    if code == "noRecordsMatch":
        return OaiPage()  # nothing changed in the set since `from`: not a failure
    if code == "badResumptionToken":
        raise BadResumptionToken(f"{NAME} no longer accepts the resumption token: {message}")
    raise OaiError(f"{NAME} refused the request ({code or 'no error code'}): {message}")


def _add_record(page: OaiPage, record: ElementTree.Element) -> None:
    identifier = _text(record, f"{OAI}header/{OAI}identifier") or ""
    datestamp = _datestamp(_text(record, f"{OAI}header/{OAI}datestamp"))
    if datestamp and (page.datestamp is None or datestamp > page.datestamp):
        page.datestamp = datestamp
    try:
        header = record.find(f"{OAI}header")
        if header is not None and header.get("status") == "deleted":
            page.deleted.append(parse_id(identifier).id)
            return
        page.papers.append(_paper(record.find(f"{OAI}metadata")))
    except (ValueError, SemdigestError) as error:
        page.bad.append(BadRecord(identifier[:100], str(error)[:200]))


def _datestamp(text: str | None) -> str | None:
    """A datestamp (`YYYY-MM-DD`, or with a time at seconds granularity) whose day the next harvest can start
    from; anything else is ignored."""
    try:
        return text if text and date.fromisoformat(text[:10]) else None
    except ValueError:
        return None


def _paper(metadata: ElementTree.Element | None) -> Paper:
    element = metadata[0] if metadata is not None and len(metadata) else None
    if element is not None and element.tag == f"{ARXIV}arXiv":
        return _arxiv_paper(element)
    if element is not None and element.tag == f"{ARXIV_RAW}arXivRaw":
        return _raw_paper(element)
    raise ValueError("no metadata in the arXiv or arXivRaw format")


def _arxiv_paper(element: ElementTree.Element) -> Paper:
    value = _fields(element, ARXIV)
    title = value("title")
    if title is None:
        raise ValueError("a record without a title")
    authors = (_author(author) for author in element.iterfind(f"{ARXIV}authors/{ARXIV}author"))
    created = value("created")
    return Paper(
        id=parse_id(value("id") or "").id,
        title=title,
        abstract=value("abstract") or "",  # optional in this format
        authors=tuple(name for name in authors if name),
        categories=tuple((value("categories") or "").split()),
        published=created,
        updated=value("updated") or created,
        comment=collapse(value("comments")) or None,
        journal_ref=collapse(value("journal-ref")) or None,
        doi=next(iter((value("doi") or "").split()), None),  # several DOIs arrive space-separated
    )


def _author(author: ElementTree.Element) -> str:
    parts = (_text(author, f"{ARXIV}{part}") for part in ("forenames", "keyname", "suffix"))
    return collapse(" ".join(part for part in parts if part))


def _raw_paper(element: ElementTree.Element) -> Paper:
    """arXivRaw is what the public metadata snapshot is made from: the snapshot's record, field for field."""
    value = _fields(element, ARXIV_RAW)
    record: dict[str, object] = {
        name: value(name) for name in ("id", "title", "authors", "categories", "comments", "journal-ref", "doi")
    }
    record["abstract"] = value("abstract") or ""
    record["versions"] = [
        {"version": version.get("version"), "created": _text(version, f"{ARXIV_RAW}date")}
        for version in element.iterfind(f"{ARXIV_RAW}version")
    ]
    if record["title"] is None:
        raise ValueError("a record without a title")
    return snapshot_paper(record)


def _fields(element: ElementTree.Element, namespace: str) -> Callable[[str], str | None]:
    return lambda name: _text(element, f"{namespace}{name}")


def _text(element: ElementTree.Element, path: str) -> str | None:
    found = element.find(path)
    return None if found is None else "".join(found.itertext())
