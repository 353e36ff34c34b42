"""A reference library as arXiv ids: a BibTeX file (eprint fields, arXiv URLs, arXiv DOIs), a Zotero export
(BibTeX, RIS or CSL JSON) or a plain list of ids and URLs, one a line.

Each entry gives at most one paper, found in the fields that identify it (eprint, DOI, URL, Zotero's
`number`/`note` "arXiv:2508.13073 [cs]") before any other short field; titles, abstracts, keywords and
authors are never searched, since an abstract that cites arXiv:1706.03762 is not that paper. What names
no arXiv paper is reported as an `Unresolved` entry, not dropped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputFileError, InvalidIdError
from .ids import parse_id

# the part of a DOI, URL or "arXiv:" mention that is the id; parse_id then checks it in full
_ID = r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]{2})?/\d{7}(?:v\d+)?)"
_MENTIONS = [
    re.compile(rf"10\.48550/arxiv\.{_ID}", re.IGNORECASE),  # arXiv's DOIs: 10.48550/arXiv.2508.13073
    re.compile(rf"arxiv\.org/(?:abs|pdf)/{_ID}", re.IGNORECASE),
    re.compile(rf"\barxiv:\s*{_ID}", re.IGNORECASE),
]
# fields that name the paper itself, in the order they are trusted
_BIBTEX_FIELDS = (
    "eprint",
    "arxivid",
    "arxiv",
    "doi",
    "url",
    "number",
    "journal",
    "journaltitle",
    "note",
    "howpublished",
)
_RIS_FIELDS = ("doi", "urls", "url", "type_of_work", "number", "notes", "journal_name", "secondary_title")
_CSL_FIELDS = ("DOI", "URL", "number", "note", "container-title", "archive_location")
# prose and people: may mention other papers
_NEVER = {"title", "primary_title", "abstract", "keywords", "author", "authors", "first_authors", "editor", "annote"}


@dataclass(frozen=True)
class Unresolved:
    entry: str  # how the file names it: a BibTeX key and title, a line number
    reason: str


@dataclass(frozen=True)
class LibraryReading:
    format: str  # "BibTeX", "RIS", "CSL JSON" or "list"
    entries: int
    ids: tuple[str, ...]  # canonical arXiv ids, in the file's order, each once
    unresolved: tuple[Unresolved, ...]


def read_library(path: Path) -> LibraryReading:
    """The arXiv papers a library file names; the format is recognised from the content, not the name."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # Zotero's RIS starts with a byte-order mark
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if re.search(r"^\s*@\w+\s*[{(]", text, re.MULTILINE):
        return _collect("BibTeX", _bibtex(text))
    if re.search(r"^TY  - ", text, re.MULTILINE):
        return _collect("RIS", _ris(text))
    if text.lstrip().startswith(("[", "{")):
        return _collect("CSL JSON", _csl_json(path, text))
    return _collect("list", _plain_list(text))


def arxiv_id_in(value: str) -> str | None:
    """The canonical arXiv id a field value names: a bare id, an arXiv DOI or URL, an `arXiv:` mention."""
    candidates = [match[1] for pattern in _MENTIONS if (match := pattern.search(value))]
    for candidate in (value, *candidates):
        try:
            return parse_id(candidate).id
        except InvalidIdError:
            continue
    return None


Found = str | Unresolved  # an entry's id, or why it has none


def _collect(format: str, found: Iterable[Found]) -> LibraryReading:
    ids: dict[str, None] = {}
    unresolved = []
    count = 0
    for result in found:
        count += 1
        if isinstance(result, Unresolved):
            unresolved.append(result)
        else:
            ids[result] = None
    return LibraryReading(format, count, tuple(ids), tuple(unresolved))


def _first_id(label: str, fields: Mapping[str, object], trusted: Iterable[str]) -> Found:
    """The first id in the trusted fields, else in any other short field (not prose, not people)."""
    rest = [key for key in fields if key not in trusted and key not in _NEVER]
    for key in (*trusted, *rest):
        for value in _strings(fields.get(key)):
            if found := arxiv_id_in(value):
                return found
    return Unresolved(label, "no arXiv id, arXiv URL or arXiv DOI in it")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def _label(name: str, title: object) -> str:
    return f"{name} ({' '.join(title.split())[:70]})" if isinstance(title, str) and title.strip() else name


def _bibtex(text: str) -> Iterator[Found]:
    import bibtexparser

    quiet = logging.getLogger("bibtexparser")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it logs each broken block as a warning; we report them as entries instead
    try:
        library = bibtexparser.parse_string(text)
    finally:
        quiet.setLevel(level)
    for block in library.failed_blocks:
        where = f"at line {block.start_line + 1}" if block.start_line is not None else "block"
        yield Unresolved(f"the BibTeX {where}", "not valid BibTeX (an unclosed brace or quote?)")
    for entry in library.entries:
        fields = {key.lower(): value for key, value in entry.fields_dict.items()}
        label = _label(f"BibTeX entry {entry.key}", fields.get("title") and fields["title"].value)
        values = {key: field.value for key, field in fields.items()}
        archive = str(values.get("archiveprefix") or values.get("eprinttype") or "arxiv").lower()
        if archive != "arxiv":  # `eprint = {12345}` with `eprinttype = {pubmed}` is not an arXiv id
            values.pop("eprint", None)
        yield _first_id(label, values, _BIBTEX_FIELDS)


def _ris(text: str) -> Iterator[Found]:
    import rispy

    entries = rispy.loads(text)
    for number, entry in enumerate(entries, start=1):
        label = _label(f"RIS entry {number}", entry.get("title") or entry.get("primary_title"))
        yield _first_id(label, entry, _RIS_FIELDS)
    unfinished = len(re.findall(r"^TY  - ", text, re.MULTILINE)) - len(entries)
    if unfinished > 0:  # rispy drops an entry that lacks its closing `ER  -` line
        yield Unresolved(f"{unfinished} RIS entries", "not read: no end-of-record line (ER  - )")


def _csl_json(path: Path, text: str) -> Iterator[Found]:
    try:
        items = json.loads(text)
    except ValueError as error:
        raise InputFileError(f"{path}: not valid JSON ({error})") from None
    items = items.get("items", [items]) if isinstance(items, dict) else items
    if not isinstance(items, list):
        raise InputFileError(f"{path}: expected CSL JSON, a list of items")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            yield Unresolved(f"CSL JSON item {number}", "not an object")
            continue
        yield _first_id(_label(f"CSL JSON item {item.get('id') or number}", item.get("title")), item, _CSL_FIELDS)


def _plain_list(text: str) -> Iterator[Found]:
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        label = f"line {number} ({value[:70]})"
        found = arxiv_id_in(value)
        yield found or Unresolved(label, "not an arXiv id, arXiv URL or arXiv DOI")
