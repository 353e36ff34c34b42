"""The digest as one e-mail: a multipart/alternative message whose plain-text and HTML parts are rendered from
the same digest, top picks first, then every topic with every paper, its reason and its links.

The HTML part carries its styles inline (mail clients drop <style> blocks and never fetch a stylesheet)
and escapes every string that came from arXiv or from a topics file: titles, authors, abstracts, topic
names, reasons. Only the ids' links are built here, from ids that parse_id accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from html import escape

from ..paper import Paper
from ..ranking.digest import Digest
from ..ranking.rank import RankedPaper
from .entries import plan_pages
from .entries import top_picks as entries_top_picks
from .text import page_names

TOP_PICKS = 5  # the day's best papers over all topics, shown before the topics
ABSTRACT_CHARS = 300  # enough to decide whether to open it; the abs page has the rest
AUTHORS_SHOWN = 6

# inline styles, as mail clients require; system fonts, no images, nothing fetched
_BODY = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:46em;color:#1f2328;line-height:1.45"
_MUTED = "color:#59636e;font-size:0.9em"
_LINK = "color:#0969da"


def top_picks(digest: Digest, count: int = TOP_PICKS) -> list[tuple[str, RankedPaper]]:
    """The same picks as the index page (entries.top_picks: round robin over the topics, new papers first),
    as (topic name, paper)."""
    pages = plan_pages(digest, page_names(result.topic.name for result in digest.topics))
    return [(page.topic.name, item) for page, item in entries_top_picks(pages, count)]


def subject(digest: Digest) -> str:
    topics = sum(1 for result in digest.topics if result.papers)
    return f"arXiv digest {digest.label}: {digest.papers} papers in {topics} topics"


def digest_mail(digest: Digest, *, sender: str, to: Sequence[str]) -> EmailMessage:
    """One multipart/alternative message: the plain-text part first, the HTML part preferred by clients."""
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    # the sender's domain, not socket.getfqdn(), which can wait seconds on DNS
    message["Message-ID"] = make_msgid(f"semdigest.{digest.label}", domain=parseaddr(sender)[1].rpartition("@")[2])
    message.set_content(mail_text(digest))
    message.add_alternative(mail_html(digest), subtype="html")
    return message


# --- plain text ------------------------------------------------------------------------------------------


def mail_text(digest: Digest) -> str:
    lines = [subject(digest), "", _counts(digest), ""]
    picks = top_picks(digest)
    if picks:
        lines += ["TOP PICKS", ""]
        for number, (topic, item) in enumerate(picks, start=1):
            lines += _text_entry(number, item, topic)
    for result in digest.topics:
        if not result.papers:
            continue
        heading = f"{result.topic.name} · {len(result.papers)} papers"
        lines += [heading, "=" * len(heading), ""]
        for number, item in enumerate(result.papers, start=1):
            lines += _text_entry(number, item)
    if not digest.papers:
        lines.append("No new papers for your topics in this period.")
    return "\n".join(lines) + "\n"


def _counts(digest: Digest) -> str:
    return "Topics: " + " · ".join(f"{result.topic.name} {len(result.papers)}" for result in digest.topics)


def _text_entry(number: int, item: RankedPaper, topic: str | None = None) -> list[str]:
    paper = item.paper
    lines = [f"{number}. {paper.title}", f"   {_authors(paper)} · {' '.join(paper.categories)}"]
    lines.append(f"   why: {f'{topic}: ' if topic else ''}{item.reason}")
    if topic is None and paper.abstract:
        lines.append(f"   {_shortened(paper.abstract)}")
    lines += [f"   {paper.url}  (PDF: {paper.pdf_url})", ""]
    return lines


def _authors(paper: Paper) -> str:
    if len(paper.authors) <= AUTHORS_SHOWN + 1:  # "and 1 more" would be longer than the name
        return ", ".join(paper.authors) or "unknown authors"
    return f"{', '.join(paper.authors[:AUTHORS_SHOWN])} and {len(paper.authors) - AUTHORS_SHOWN} more"


def _shortened(text: str) -> str:
    if len(text) <= ABSTRACT_CHARS:
        return text
    return text[:ABSTRACT_CHARS].rsplit(" ", 1)[0] + " …"


# --- HTML ---------------------------------------------------------------------------------------------------


def mail_html(digest: Digest) -> str:
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>{escape(subject(digest))}</title></head>",
        f'<body style="{_BODY}">',
        f'<h1 style="font-size:1.4em">arXiv digest · {escape(digest.label)}</h1>',
        f'<p style="{_MUTED}">{escape(_counts(digest))}</p>',
    ]
    picks = top_picks(digest)
    if picks:
        parts.append('<h2 style="font-size:1.2em">Top picks</h2><ol>')
        parts += [_html_entry(item, topic) for topic, item in picks]
        parts.append("</ol>")
    for result in digest.topics:
        if not result.papers:
            continue
        parts.append(f'<h2 style="font-size:1.2em">{escape(result.topic.name)} · {len(result.papers)} papers</h2><ol>')
        parts += [_html_entry(item) for item in result.papers]
        parts.append("</ol>")
    if not digest.papers:
        parts.append("<p>No new papers for your topics in this period.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_entry(item: RankedPaper, topic: str | None = None) -> str:
    paper = item.paper
    why = f"{escape(topic)}: {escape(item.reason)}" if topic else escape(item.reason)
    abstract = f"<br>{escape(_shortened(paper.abstract))}" if topic is None and paper.abstract else ""
    return (
        '<li style="margin-bottom:0.9em">'
        f'<a href="{escape(paper.url)}" style="{_LINK};font-weight:600">{escape(paper.title)}</a>'
        f'<br><span style="{_MUTED}">{escape(_authors(paper))} · {escape(" ".join(paper.categories))}</span>'
        f'<br><span style="{_MUTED}">why: {why}</span>'
        f"{abstract}"
        f'<br><a href="{escape(paper.url)}" style="{_LINK}">arXiv:{escape(paper.id)}</a>'
        f' · <a href="{escape(paper.pdf_url)}" style="{_LINK}">PDF</a></li>'
    )
