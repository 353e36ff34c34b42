"""Untrusted text (titles, authors, abstracts, comments, topic names) made safe for each output, and the
file names of topics.

Every output gets its own escaping: Markdown (GitHub's cmark-gfm: no link, image, emphasis, HTML or
autolink may come from a paper), XML (control characters are not allowed even as references) and the
terminal (no control sequence reaches it). Math between `$...$` stays raw in Markdown, so GitHub renders it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from slugify import slugify

# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what a terminal shows
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"[\t\n\r]+")
# what cmark-gfm reads as markup inside a line: emphasis, code, links, images, HTML, tables, strikethrough,
# math and entities; ASCII punctuation may always be backslash-escaped (CommonMark 2.4)
_MARKUP = re.compile(r"([\\`*_\[\]<>!|~$&])")
# GFM links `https://x`, `www.x` and `a@b.c` by itself: an escaped `:` or `.` stops the first two, a word
# joiner (invisible, U+2060) after the `@` the third, which escaping does not stop
_AUTOLINK = re.compile(r"(?i)(://|(?<![\w.])www\.|@)")
# a heading, quote, list or rule when a line starts so
_LINE_START = re.compile(r"^(\s*\d*)((?<=\d)[.)]|(?<!\d)[#>+=-])")
# inline math as GitHub reads it: no space just inside the dollars; content that could carry markup is text
_MATH = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]{1,300}?)(?<=\S)\$(?![$\w])")
_NOT_MATH = re.compile(r"\]\(|`|://|www\.|@|<[A-Za-z/!?]")
RESERVED_PAGES = ("readme",)  # the day's index page is README.md


def printable(text: str) -> str:
    """One line a terminal shows as it is: line breaks and tabs as spaces, control characters as U+FFFD."""
    return _CONTROL.sub("\ufffd", _SPACE.sub(" ", text))


def xml_text(text: str) -> str:
    """Text XML 1.0 allows (it forbids most control characters even as character references)."""
    return printable(text)


def md_inline(text: str) -> str:
    """Plain text inside a Markdown line: every character that could start markup is escaped."""
    escaped = _MARKUP.sub(r"\\\1", printable(text))
    return _AUTOLINK.sub(_unlinked, escaped)


def _unlinked(match: re.Match[str]) -> str:
    text = match.group(1)
    return "@\u2060" if text == "@" else text.replace(":", "\\:").replace(".", "\\.")


def md_paragraph(text: str) -> str:
    """A paper's text as one Markdown line: escaped like md_inline, except `$math$`, which GitHub renders
    (kept raw, with `<` spelled `\\lt` so it cannot open an HTML tag), and a leading `#`, `>`, `-` or
    `1.` escaped so that the line stays a paragraph."""
    clean = printable(text)
    parts, position = [], 0
    for match in _MATH.finditer(clean):
        if _NOT_MATH.search(match.group(1)):
            continue
        parts.append(md_inline(clean[position : match.start()]))
        parts.append("$" + match.group(1).replace("<", r"\lt ") + "$")
        position = match.end()
    parts.append(md_inline(clean[position:]))
    return _LINE_START.sub(lambda match: match.group(1) + "\\" + match.group(2), "".join(parts), count=1)


def page_names(names: Iterable[str]) -> dict[str, str]:
    """A distinct, stable file stem per topic name: a readable slug (non-Latin names transliterated), and
    where two names slug alike (`a/b` and `a b`, `LLM safety` and `LLM-safety`, or only by case, which
    macOS and Windows do not tell apart) each name but the one equal to its slug gets a short hash of
    itself. The stems depend on the set of names only, never on their order."""
    stems = {name: _slug(name) for name in dict.fromkeys(names)}
    groups: dict[str, list[str]] = {}
    for name, stem in stems.items():
        groups.setdefault(stem.lower(), []).append(name)
    kept = set()
    for key, group in groups.items():
        exact = sorted(name for name in group if name == stems[name])
        if key not in RESERVED_PAGES and (len(group) == 1 or exact):
            kept.add(group[0] if len(group) == 1 else exact[0])
    return {name: stem if name in kept else _hashed(name, stem) for name, stem in stems.items()}


def _slug(name: str) -> str:
    return slugify(name, lowercase=False, regex_pattern=r"[^-A-Za-z0-9_]+", max_length=80) or "topic"


def _hashed(name: str, stem: str) -> str:
    return f"{stem}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
