"""Markdown pages in the format of the keyword digest our users read, plus an index page and an archive."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..ranking.rank import RankedPaper
from ..ranking.topics import Keyword, Topic

BADGE = "https://img.shields.io/badge"


@dataclass(frozen=True)
class TopicSummary:
    name: str
    papers: int
    semantic: int  # papers that joined without a keyword hit
    page: str  # file name of the topic page, relative to the index page


def slug(name: str) -> str:
    """A file name for a topic: `3D_Reconstruction` stays, `LLM safety` becomes `LLM-safety`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "topic"


def topic_page(topic: Topic, ranked: Sequence[RankedPaper], label: str) -> str:
    semantic = sum(1 for item in ranked if not item.keyword_hits)
    lines = [f"# 🔍 {topic.name} Papers · {label}", "", f"[![Total Papers]({BADGE}/Papers-{len(ranked)}-2688EB)]()"]
    if semantic:
        lines.append(f"[![Semantic matches]({BADGE}/semantic%20matches-{semantic}-8A2BE2)]()")
    if topic.description:
        lines += ["", f"> {_inline(topic.description)}"]
    lines += [
        "",
        "---",
        "",
        "## 📌 Filter by Category",
        f"**Keywords**: {_code_list(topic.keywords)}  ",
        f"**Filter**: {_code_list(topic.filters)}",
    ]
    if topic.categories:
        lines[-1] += "  "
        lines.append(f"**Categories**: {' '.join(f'`{c}`' for c in topic.categories)}")
    lines += ["", "---", "", "## 📚 Paper List", ""]
    if not ranked:
        lines += ["_No papers for this topic in this period._", ""]
    for item in ranked:
        lines += _entry(item)
    return "\n".join(lines)


def _entry(item: RankedPaper) -> list[str]:
    paper = item.paper
    categories = " ".join(f"`{category}`" for category in paper.categories)
    authors = _inline(", ".join(paper.authors)) if paper.authors else "unknown authors"
    return [
        f"- **[{_link_text(paper.title)}]({paper.url})**  `arXiv:{paper.id}`  {categories}  ",
        f"  _{authors}_  ",
        f"  {_reason(item)}",
        "  <details open><summary>Abstract</summary>",
        f"  {html.escape(paper.abstract, quote=False)}",
        "  </details>",
        "",
    ]


def _reason(item: RankedPaper) -> str:
    parts = [f"**score {item.score:.3f}**"]
    if item.keyword_hits:
        parts.append("keywords " + " ".join(f"`{hit.label}` ({hit.where})" for hit in item.keyword_hits))
    else:
        parts.append("🧭 semantic match, no keyword")
    if item.nearest_example:
        example, similarity = item.nearest_example
        parts.append(f"like [{example}](https://arxiv.org/abs/{example}) ({similarity:.2f})")
    if item.seen_on:
        parts.append(f"👁 seen {item.seen_on}")
    return " · ".join(parts)


def index_page(label: str, summaries: Sequence[TopicSummary], archive_link: str = "../README.md") -> str:
    """The day's topics with their counts, most papers first."""
    ordered = sorted(summaries, key=lambda s: (-s.papers, s.name))
    lines = [
        f"# 📰 arXiv digest · {label}",
        "",
        f"[![Papers]({BADGE}/Papers-{sum(s.papers for s in ordered)}-2688EB)]()",
        "",
        "| Topic | Papers | Semantic matches |",
        "|---|---:|---:|",
    ]
    lines += [f"| [{_link_text(s.name)}]({s.page}) | {s.papers} | {s.semantic} |" for s in ordered]
    return "\n".join(lines + ["", f"[Archive of all digests]({archive_link})", ""])


def archive_page(days: Sequence[tuple[str, Sequence[TopicSummary]]]) -> str:
    """Every digest, newest first, each linking its index page and its topics."""
    lines = ["# 🗂️ arXiv digest archive", ""]
    for label, summaries in sorted(days, key=lambda day: day[0], reverse=True):
        ordered = sorted(summaries, key=lambda s: (-s.papers, s.name))
        topics = " · ".join(f"[{_link_text(s.name)}]({label}/{s.page}) {s.papers}" for s in ordered)
        lines.append(f"- **[{label}]({label}/README.md)**: {topics}")
    return "\n".join(lines + [""])


def _code_list(keywords: Sequence[Keyword]) -> str:
    return " ".join(f"`{'+'.join(keyword)}`" for keyword in keywords) or "`None`"


def _link_text(text: str) -> str:
    return re.sub(r"([\[\]*`])", r"\\\1", text).replace("<", "&lt;")


def _inline(text: str) -> str:
    return re.sub(r"([*_`])", r"\\\1", text).replace("<", "&lt;")
