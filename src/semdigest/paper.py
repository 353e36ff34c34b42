"""The one record type used everywhere after parsing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date


def collapse(text: str | None) -> str:
    """Collapse runs of whitespace: the legacy API and OAI hard-wrap titles and abstracts. str.split() splits on
    exactly what re's `\\s` matches (str.isspace), at a fifth of `re.sub(r"\\s+", " ", text)`'s time."""
    return " ".join(text.split()) if text else ""


def content_hash(title: str, abstract: str) -> str:
    """Identifies the embedded text: a revised abstract gets a new hash and is re-embedded."""
    return hashlib.sha256(f"{title}\n{abstract}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Paper:
    id: str  # canonical arXiv id without version: "2508.12079", "hep-th/9901001"
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # primary first
    version: int | None = None
    published: str | None = None  # ISO timestamp (or date) of v1
    updated: str | None = None  # ISO timestamp (or date) of the latest version
    listed: date | None = None  # the announcement day of the listing that brought it
    announce_type: str | None = None  # new | cross | replace | replace-cross
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", collapse(self.title))
        object.__setattr__(self, "abstract", collapse(self.abstract))
        object.__setattr__(self, "hash", content_hash(self.title, self.abstract))

    @property
    def text(self) -> str:
        """What is embedded and matched against keywords: the seed digest's `title + " " + abstract`."""
        return f"{self.title} {self.abstract}"

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def html_url(self) -> str:
        """arXiv's HTML rendering (most papers since December 2023 have one)."""
        return f"https://arxiv.org/html/{self.id}"
