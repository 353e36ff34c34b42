"""Markdown pages as GitHub renders them: a page per topic, the day's index page (top picks, topics, feeds)
and the archive. Every untrusted string goes through text.py; `$math$` in abstracts stays renderable.

Measured on the real day 2025-08-18 (8 topics, 367 papers), rendered like GitHub at 1000 px wide:
every abstract open on every page made the day 268,000 px tall (LLM.md 80,000) and 1.05 MB; five open
abstracts a page, each abstract in full once, make it 126,000 px (LLM.md 35,000) and 0.87 MB, the
entries themselves now carrying dates, links and a snippet."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..paper import Paper
from ..ranking.rank import RankedPaper
from ..ranking.topics import Keyword, KeywordHit
from .entries import LABELS, TopicPage, announcement, is_fresh, submitted
from .text import md_inline, md_paragraph, printable

BADGE = "https://img.shields.io/badge"
LEGEND = [
    "**How to read an entry.** The score (0 to 1) is how the paper ranks for the topic against a sample of"
    " all stored papers: **0.990** means more relevant than 99% of them.",
    "🔑 a keyword of the topic matched (the snippet shows it in context) · 🧭 no keyword matched: a semantic"
    " match, with its cosine to the topic and the topic's words it contains · ⭐ one of your example papers"
    " · 👍 most like this example of yours · 👁 an earlier digest showed it.",
    "🆕 new today · ↔️ new, cross-listed from another archive · 🔄 a new version of an older paper · ♻️ an"
    " older arXiv id announced again. 📅 the first version's date (else the month in the id).",
]


@dataclass(frozen=True)
class TopicSummary:
    name: str
    papers: int
    semantic: int  # papers that joined without a keyword hit
    page: str  # file name of the topic page, relative to the index page


def anchor(paper_id: str) -> str:
    """The id of a paper's entry on a page (GitHub keeps it, prefixed, and follows `#arxiv-...` links)."""
    return "arxiv-" + paper_id.replace("/", "-")


def topic_page(page: TopicPage, label: str, homes: Mapping[str, str], open_abstracts: int, feed: str = "") -> str:
    """A topic's page: badges, links, legend, keywords, then its papers numbered down the page."""
    topic, everything = page.topic, page.papers + page.more
    semantic = sum(1 for item in everything if not item.keyword_hits)
    lines = [
        f"# 🔍 {md_inline(topic.name)} Papers · {label}",
        "",
        f"[![Total Papers]({BADGE}/Papers-{len(everything)}-2688EB)]()"
        f" [![New today]({BADGE}/new%20today-{page.fresh}-2EA44F)]()"
        + (f" [![Semantic matches]({BADGE}/semantic%20matches-{semantic}-8A2BE2)]()" if semantic else ""),
    ]
    if topic.description:
        lines += ["", f"> {md_inline(topic.description)}"]
    links = ["[📰 All topics of the day](README.md)", "[🗂️ Archive](../README.md)"]
    lines += ["", " · ".join(links + ([f"[📡 Atom feed]({feed})"] if feed else [])), ""]
    lines += _legend() + ["", "---", "", "## 🔑 Keywords and filters"]
    lines += [f"**Keywords**: {_code_list(topic.keywords)}  ", f"**Filter**: {_code_list(topic.filters)}"]
    if topic.categories:
        lines[-1] += "  "
        lines.append(f"**Categories**: {' '.join(_code(c) for c in topic.categories)}")
    lines += ["", "---", "", "## 📚 Paper List", ""]
    if not everything:
        lines += ["_No papers for this topic in this period._", ""]
    opened = 0
    for group, title in ((True, "🆕 New today"), (False, "🔄 Updated and re-announced")):
        numbered = [(n, item) for n, item in page.numbered[: len(page.papers)] if is_fresh(item.paper) == group]
        if numbered:
            lines += [f"### {title} ({len(numbered)})", ""]
        for number, item in numbered:
            home = homes.get(item.paper.id)
            is_open = home == page.stem and opened < open_abstracts
            opened += is_open
            lines += _entry(number, item, page.stem, home, is_open)
    if page.more:
        cap = topic.max_papers
        lines += [f"### ➕ More papers (over max_papers = {cap}, by the same order)", ""]
        lines += [_compact(number, item) for number, item in page.numbered[len(page.papers) :]] + [""]
    return "\n".join(lines)


def _entry(number: int, item: RankedPaper, stem: str, home: str | None, is_open: bool) -> list[str]:
    paper = item.paper
    pad = " " * (len(str(number)) + 2)
    authors = md_inline(", ".join(paper.authors)) if paper.authors else "unknown authors"
    categories = " ".join(_code(category) for category in paper.categories)
    dates = [f"📅 {submitted(paper)}"] + ([f"v{paper.version}"] if paper.version else [])
    links = [f"[PDF]({paper.pdf_url})", f"[HTML]({paper.html_url})"]
    lines = [
        f'{number}. <a id="{anchor(paper.id)}"></a>**[{md_paragraph(paper.title)}]({paper.url})**'
        f"  `arXiv:{paper.id}`  {categories}  ",
        f"{pad}_{authors}_  ",
        f"{pad}{' · '.join(_marks(paper) + dates + links)}  ",
    ]
    if paper.comment:
        lines.append(f"{pad}💬 {md_inline(paper.comment)}  ")
    lines.append(f"{pad}{reason_markdown(item)}")
    if home == stem:
        lines += [f"{pad}<details{' open' if is_open else ''}><summary>Abstract</summary>", ""]
        lines += [f"{pad}{md_paragraph(paper.abstract)}", "", f"{pad}</details>"]
    elif home:
        lines[-1] += "  "
        lines.append(f"{pad}📄 Abstract on [{md_inline(home)}]({home}.md#{anchor(paper.id)})")
    return lines + [""]


def _compact(number: int, item: RankedPaper) -> str:
    keywords = " ".join(_code(hit.label) for hit in item.keyword_hits)
    marks = "".join(f" {mark}" for mark in _marks(item.paper))
    return f"{number}. [{md_paragraph(item.paper.title)}]({item.paper.url}) `arXiv:{item.paper.id}` {keywords}{marks}"


def _marks(paper: Paper) -> list[str]:
    """How the paper was announced, unless simply new (the usual case, and the page's first group)."""
    kind = announcement(paper)
    return [] if kind == "new" else [LABELS[kind]]


def reason_markdown(item: RankedPaper) -> str:
    """Why the paper is on the page, with the evidence: each keyword in context, or what a semantic match
    shares with the topic; example papers by title."""
    parts = [f"**{item.score:.3f}**"]
    # the first keyword in context (enough to tell a false hit), the others by name and place
    parts += [_keyword_hit(hit, snippet=n == 0) for n, hit in enumerate(item.keyword_hits)]
    if not item.keyword_hits:
        parts.append(f"🧭 no keyword: {md_inline(item.semantic_evidence)}")
    if item.example:
        parts.append("⭐ one of your examples")
    if item.nearest_example:
        example, cosine = item.nearest_example
        title = md_paragraph(item.nearest_title or example)
        parts.append(f"👍 like your example [{title}](https://arxiv.org/abs/{example}) ({cosine:.2f})")
    if item.seen_on:
        parts.append(f"👁 seen {item.seen_on}")
    return " · ".join(parts)


def _keyword_hit(hit: KeywordHit, snippet: bool) -> str:
    before, match, after = hit.context
    if not match or not snippet:
        return f"🔑 {_code(hit.label)} in {hit.where}"
    return f"🔑 {_code(hit.label)} in {hit.where}: “{md_inline(before)}**{md_inline(match)}**{md_inline(after)}”"


def index_page(
    label: str,
    pages: Sequence[TopicPage],
    picks: Sequence[tuple[TopicPage, RankedPaper]],
    feeds: Mapping[str, str],
    archive_link: str = "../README.md",
) -> str:
    """The day at a glance: distinct papers, the top picks across topics, every topic with its page and feed."""
    papers = {item.paper.id: item.paper for page in pages for item in page.papers + page.more}
    fresh = sum(1 for paper in papers.values() if is_fresh(paper))
    lines = [
        f"# 📰 arXiv digest · {label}",
        "",
        f"[![Papers]({BADGE}/Papers-{len(papers)}-2688EB)]() [![New today]({BADGE}/new%20today-{fresh}-2EA44F)]()",
        "",
        f"{len(papers)} papers on {len(pages)} topics: {fresh} new today, {len(papers) - fresh} updated or"
        f" re-announced. [🗂️ Archive of all digests]({archive_link})",
        "",
        "## ⭐ Top picks",
        "",
    ]
    if not picks:
        lines += ["_No papers in this period._", ""]
    for number, (page, item) in enumerate(picks, start=1):
        pad = " " * (len(str(number)) + 2)
        where = f"[{md_inline(page.topic.name)}]({page.stem}.md#{anchor(item.paper.id)})"
        lines += [
            f"{number}. **[{md_paragraph(item.paper.title)}]({item.paper.url})**  `arXiv:{item.paper.id}`"
            f" · {' · '.join([where, *_marks(item.paper)])}  ",
            f"{pad}{reason_markdown(item)}",
        ]
    lines += ["", "## 📚 Topics", "", "| # | Topic | Papers | New today | Semantic matches | Feed |"]
    lines.append("|---:|---|---:|---:|---:|---|")
    ordered = sorted(pages, key=lambda page: (-len(page.papers + page.more), page.topic.name))
    for number, page in enumerate(ordered, start=1):
        total = len(page.papers + page.more)
        semantic = sum(1 for item in page.papers + page.more if not item.keyword_hits)
        lines.append(
            f"| {number} | [{md_inline(page.topic.name)}]({page.stem}.md) | {total} | {page.fresh}"
            f" | {semantic} | [📡 Atom]({feeds[page.stem]}) |"
        )
    return "\n".join(lines + ["", *_legend(), ""])


def archive_page(days: Sequence[tuple[str, Sequence[TopicSummary]]]) -> str:
    """Every digest, newest first, each linking its index page and its topics."""
    lines = ["# 🗂️ arXiv digest archive", ""]
    for number, (label, summaries) in enumerate(sorted(days, key=lambda day: day[0], reverse=True), start=1):
        ordered = sorted(summaries, key=lambda s: (-s.papers, s.name))
        topics = " · ".join(f"[{md_inline(s.name)}]({label}/{s.page}) {s.papers}" for s in ordered)
        lines.append(f"{number}. **[{label}]({label}/README.md)**: {topics}")
    return "\n".join(lines + [""])


def _legend() -> list[str]:
    return ["<details><summary>ℹ️ How to read this page</summary>", "", *(f"{line}\n" for line in LEGEND), "</details>"]


def _code_list(keywords: Sequence[Keyword]) -> str:
    return " ".join(_code("+".join(keyword)) for keyword in keywords) or "`None`"


def _code(text: str) -> str:
    """A code span that holds any text: a fence longer than its longest run of backticks."""
    clean = printable(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", clean)), default=0) + 1)
    pad = " " if clean.startswith("`") or clean.endswith("`") else ""
    return f"{fence}{pad}{clean}{pad}{fence}"
