"""arXiv identifiers in every form users and arXiv's interfaces produce, reduced to one canonical key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputFileError, InvalidIdError

_PREFIXES = re.compile(
    r"^(?:https?://)?(?:(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|oai:arxiv\.org:|arxiv:)", re.IGNORECASE
)
# re.ASCII: a Unicode-aware \d also takes "２５０８.１３０７３" and "٢٥٠٨.١٣٠٧٣", which int() reads and arXiv does not
_NEW = re.compile(r"^(?P<yymm>\d{4})\.(?P<number>\d{4,5})(?:v(?P<version>[1-9]\d*))?$", re.ASCII)
_OLD = re.compile(
    r"^(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[a-z]{2})?/(?P<yymm>\d{4})(?P<number>\d{3})(?:v(?P<version>[1-9]\d*))?$",
    re.IGNORECASE | re.ASCII,
)
SHOWN = 60  # characters of a rejected id quoted back: a 10,000-character paste is not echoed whole


@dataclass(frozen=True)
class ArxivId:
    id: str  # canonical, without version
    version: int | None = None

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}v{self.version}"


def parse_id(raw: str) -> ArxivId:
    """Parse `2508.11737v2`, `arXiv:2508.11737`, an abs/pdf URL, `hep-th/9901001`, `math.CA/0611800v2`.

    The subject class of old-style ids is dropped (`math.CA/0611800` is `math/0611800`), as arXiv's
    preferred external form does. Raises InvalidIdError with a one-line message otherwise.
    """
    text = _PREFIXES.sub("", raw.strip())
    text = text.removesuffix(".pdf")
    if match := _NEW.match(text):
        yymm, number = match["yymm"], match["number"]
        if _new_style_is_valid(yymm, number):
            return ArxivId(f"{yymm}.{number}", _version(match))
    elif (match := _OLD.match(text)) and 1 <= int(match["yymm"][2:]) <= 12:
        return ArxivId(f"{match['archive'].lower()}/{match['yymm']}{match['number']}", _version(match))
    shown = repr(raw) if len(raw) <= SHOWN else f"{raw[:SHOWN]!r}… ({len(raw)} characters)"
    raise InvalidIdError(
        f"not an arXiv id: {shown} (expected e.g. 2508.11737, 2508.11737v2, arXiv:2508.11737 or hep-th/9901001)"
    )


def _new_style_is_valid(yymm: str, number: str) -> bool:
    # 0704-1412 used four-digit numbers, 1501 onwards five: "2508.1234" is a typo, not a paper.
    month = int(yymm[2:])
    if not 1 <= month <= 12 or int(yymm) < 704:
        return False
    return len(number) == (4 if int(yymm) < 1501 else 5)


def _version(match: re.Match[str]) -> int | None:
    return int(match["version"]) if match["version"] else None


def read_id_list(path: Path) -> list[str]:
    """The ids of a reading-list file: one per line, blank lines and `#` comments skipped (not yet parsed)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    return [text for line in lines if (text := line.split("#", 1)[0].strip())]
