"""The reader-facing files, rendered from hand-made digests: numbering, folding, the abstract once per day,
the cap, top picks, the feeds (validated), file names, and hostile text in every output."""

import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import cmarkgfm
import feedparser
import pytest
from cmarkgfm.cmark import Options

from semdigest.output.atom import topic_feed
from semdigest.output.entries import announcement, page_order, plan_pages, top_picks
from semdigest.output.text import md_paragraph, page_names, printable
from semdigest.output.write import render_digest
from semdigest.paper import Paper
from semdigest.ranking.digest import Digest, TopicDigest
from semdigest.ranking.rank import RankedPaper
from semdigest.ranking.topics import KeywordHit, Topic

DAY = date(2025, 8, 18)
ATOM = "{http://www.w3.org/2005/Atom}"
# RFC 3986: a URI is scheme ":" then unreserved, reserved and %-encoded characters only (no space, no `|`)
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
URI_REFERENCE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def github_html(markdown: str) -> str:
    """The page as GitHub's renderer (cmark-gfm with GitHub's extensions) turns it into HTML."""
    extensions = ["table", "autolink", "strikethrough", "tagfilter", "tasklist"]
    return cmarkgfm.markdown_to_html_with_extensions(markdown, options=Options.CMARK_OPT_UNSAFE, extensions=extensions)


def paper(number: int, **fields) -> Paper:
    values = {
        "id": f"2508.{10000 + number}",
        "title": f"Paper {number}",
        "abstract": f"Abstract of paper {number}.",
        "authors": ("Ada Lovelace", "et al."),
        "categories": ("cs.LG",),
        "listed": DAY,
    }
    return Paper(**(values | fields))


def ranked(item: Paper, score: float = 0.99, keyword: str = "paper") -> RankedPaper:
    hits = (KeywordHit((keyword,), "title", ("", keyword, " rest")),) if keyword else ()
    return RankedPaper(item, score, score, hits)


def digest(*topics: tuple[Topic, list[RankedPaper]]) -> Digest:
    return Digest(DAY, DAY, [TopicDigest(topic, papers) for topic, papers in topics])


def render(day: Digest, tmp_path: Path, **options) -> dict[str, str]:
    files = render_digest(day, tmp_path, {}, **options)
    return {str(path.relative_to(tmp_path)): text for path, text in files.items()}


def test_entries_are_numbered_and_only_the_first_abstracts_are_open(tmp_path):
    papers = [ranked(paper(n)) for n in range(7)]
    page = render(digest((Topic("T"), papers)), tmp_path, open_abstracts=2)["2025-08-18/T.md"]
    assert re.findall(r"^(\d+)\. ", page, flags=re.M) == [str(n) for n in range(1, 8)]
    assert page.count("<details open><summary>Abstract</summary>") == 2
    assert page.count("<details><summary>Abstract</summary>") == 5
    html = github_html(page)
    assert html.count("<li>") == 7 and "<details open>" in html


def test_an_abstract_is_shown_in_full_once_a_day_and_linked_elsewhere(tmp_path):
    shared = paper(1, abstract="A shared abstract.")
    day = digest(
        (Topic("Long"), [ranked(paper(n)) for n in range(2, 6)] + [ranked(shared)]),
        (Topic("Short"), [ranked(shared)]),
    )
    files = render(day, tmp_path)
    pages = files["2025-08-18/Long.md"] + files["2025-08-18/Short.md"]
    assert pages.count("A shared abstract.") == 1 and "A shared abstract." in files["2025-08-18/Short.md"]
    assert f"📄 Abstract on [Short](Short.md#arxiv-{shared.id})" in files["2025-08-18/Long.md"]
    assert f'<a id="arxiv-{shared.id}"></a>' in files["2025-08-18/Short.md"]


def test_max_papers_caps_the_full_entries_and_lists_the_other_keyword_papers(tmp_path):
    papers = [ranked(paper(n)) for n in range(6)]
    page = render(digest((Topic("T", max_papers=2), papers)), tmp_path)["2025-08-18/T.md"]
    full, compact = page.split("### ➕ More papers")
    assert full.count('<a id="arxiv-') == 2 and full.count("Abstract") >= 2
    assert re.findall(r"^(\d+)\. \[Paper", compact, flags=re.M) == ["3", "4", "5", "6"]
    assert re.findall(r"`arXiv:([^`]+)`", page) == [item.paper.id for item in papers]


def test_new_papers_come_first_and_re_announced_ones_are_marked(tmp_path):
    old = paper(1, id="2412.18774", title="Older")
    replaced = paper(2, announce_type="replace", version=3, title="Replaced")
    cross = paper(3, announce_type="cross", title="Crossed")
    new = paper(4, title="Fresh")
    assert [announcement(p) for p in (old, replaced, cross, new)] == ["older", "replace", "cross", "new"]
    early = paper(5, id="2507.99999", listed=date(2025, 8, 1))  # minted in July, announced on August 1
    late_cross = paper(6, id="2311.00001", announce_type="cross")  # cross-listed long after it was new
    assert [announcement(p) for p in (early, late_cross)] == ["new", "older"]
    ordered = page_order([ranked(p) for p in (old, replaced, cross, new)])
    assert [item.paper.title for item in ordered] == ["Crossed", "Fresh", "Older", "Replaced"]
    page = render(digest((Topic("T"), [ranked(p) for p in (old, replaced, cross, new)])), tmp_path)["2025-08-18/T.md"]
    assert (
        page.index("### 🆕 New today (2)") < page.index("Crossed") < page.index("### 🔄 Updated and re-announced (2)")
    )
    assert "♻️ older id · 📅 2024-12" in page and "🔄 replaced · 📅 2025-08 · v3" in page


def test_the_index_page_has_top_picks_across_topics_and_links_to_pages_and_feeds(tmp_path):
    shared = paper(1, title="Shared best")
    a = Topic("A|B")  # a `|` must not break the index table
    b = Topic("Other")
    day = digest((a, [ranked(shared), ranked(paper(2)), ranked(paper(3))]), (b, [ranked(shared), ranked(paper(4))]))
    picks = top_picks(plan_pages(day, page_names(["A|B", "Other"])), count=3)
    assert [(page.topic.name, item.paper.title) for page, item in picks] == [
        ("A|B", "Shared best"),  # a paper once, under its first topic
        ("Other", "Paper 4"),
        ("A|B", "Paper 2"),
    ]
    index = render(day, tmp_path)["2025-08-18/README.md"]
    assert "[![Papers](https://img.shields.io/badge/Papers-4-2688EB)]()" in index  # distinct papers, not 5
    top = index.split("## ⭐ Top picks")[1].split("## 📚 Topics")[0]
    assert re.findall(r"^(\d+)\. \*\*\[([^\]]+)\]", top, flags=re.M)[:2] == [("1", "Shared best"), ("2", "Paper 4")]
    assert "[A\\|B](A-B.md#arxiv-2508.10001)" in top and "🔑 `paper` in title" in top
    html = github_html(index)
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)[1:]
    assert len(rows) == 2 and all(row.count("<td") == 6 for row in rows)
    assert 'href="../feeds/A-B.xml"' in html and 'href="A-B.md"' in html and ">A|B</a>" in html


def test_slug_alike_topic_names_get_distinct_stable_files(tmp_path):
    names = ["a/b", "a b", "LLM safety", "LLM-safety", "数据集", "ロボット", "README", "llm", "LLM"]
    stems = page_names(names)
    assert len({stem.lower() for stem in stems.values()}) == len(names)
    assert stems == page_names(reversed(names))  # the order of the topics does not matter
    assert stems["LLM-safety"] == "LLM-safety" and stems["LLM"] == "LLM" and stems["数据集"] != "topic"
    assert stems["README"] != "README"  # README.md is the day's index page
    files = render(digest(*[(Topic(name), [ranked(paper(n))]) for n, name in enumerate(names)]), tmp_path)
    assert len([f for f in files if f.endswith(".xml")]) == len(names)
    assert len([f for f in files if f.startswith("2025-08-18/") and f.endswith(".md")]) == len(names) + 1


HOSTILE = {
    "title": "_x_ ~~y~~ **z** <script>alert(1)</script> [x](https://evil.example/t) `code` $5 and $10",
    "authors": ("![i](https://evil.example/a.png)", "[x](https://evil.example/l)", "a@evil.example"),
    "abstract": "# heading \x00\x1b[31m\b\x01 <img src=https://evil.example/b.png> www.evil.example"
    " https://evil.example/c and math $x_1 < y^2$ stays.",
    "comment": "code at https://evil.example/code ![j](https://evil.example/j.png)",
}


def test_hostile_text_renders_as_text_in_markdown(tmp_path):
    item = paper(1, **HOSTILE)
    topic = Topic("T<i>|`x`", keywords=(("x",),))
    files = render(digest((topic, [ranked(item, keyword="x")])), tmp_path)
    for name in ("2025-08-18/T-i-x.md", "2025-08-18/README.md"):
        html = github_html(files[name])
        assert "evil.example" in files[name]
        assert not re.search(r"<img[^>]*evil", html), name
        for markup in ("<em>x", "<del>", "mailto:", "<strong>z", "<script", "<h1>heading", "<i>", "<code>code"):
            assert markup not in html, (name, markup)
        assert not re.search(r'href="[^"]*evil', html), name
        assert not re.search(r"[\x00-\x08\x1b]", files[name])
    assert "$x_1 \\lt  y^2$" in files["2025-08-18/T-i-x.md"]  # math stays raw for GitHub to render


def test_math_is_kept_but_markup_inside_dollars_is_not():
    assert md_paragraph("loss $\\mathcal{L}_{t}$ here") == "loss $\\mathcal{L}_{t}$ here"
    assert "$![i]" not in md_paragraph("$![i](https://evil.example/a.png)$")
    assert md_paragraph("1. not a list").startswith("1\\.")


def test_the_terminal_gets_no_control_characters():
    assert printable("a\x01b\bc\x1b[31m\u202ed\ne") == "a\ufffdb\ufffdc\ufffd[31m\ufffdd e"


def feed_of(entries, day=DAY, topic="LLM safety | x\x00"):
    return topic_feed(topic, entries, day=day, self_link="LLM-safety.xml", page_link="../2025-08-18/LLM-safety.md")


def test_feeds_are_valid_atom_with_links_rank_order_and_real_authors():
    entries = [(paper(n, **(HOSTILE if n == 2 else {})), DAY, 0.9, "keywords x") for n in range(150)]
    entries += [(paper(200), date(2025, 8, 15), 0.9, "older")]
    xml = feed_of(entries)
    root = ET.fromstring(xml.encode())  # well-formed, though a title held NUL and ESC
    parsed = feedparser.parse(xml.encode())
    assert parsed.bozo == 0 and len(parsed.entries) == 151  # no cut at 100
    for element in (root, *root.findall(f"{ATOM}entry")):
        assert URI.fullmatch(element.findtext(f"{ATOM}id"))
        assert element.findtext(f"{ATOM}title") and element.findtext(f"{ATOM}updated")
        assert all(URI_REFERENCE.fullmatch(link.get("href")) for link in element.findall(f"{ATOM}link"))
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "semdigest"  # entries may name no person
    rels = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert rels == {"self": "LLM-safety.xml", "alternate": "../2025-08-18/LLM-safety.md"}
    stamps = [entry.updated_parsed for entry in parsed.entries]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 151  # rank order survives sorting
    assert [entry.id for entry in parsed.entries][:2] == [
        "urn:semdigest:topic:LLM%20safety%20%7C%20x%00:2508.10000",
        "urn:semdigest:topic:LLM%20safety%20%7C%20x%00:2508.10001",
    ]
    assert all(author.name != "et al." for entry in parsed.entries for author in entry.authors)
    assert [entry.link for entry in parsed.entries][:2] == [
        "https://arxiv.org/abs/2508.10000",
        "https://arxiv.org/abs/2508.10001",
    ]


def test_an_empty_feed_is_the_same_on_every_run():
    first = feed_of([])
    assert first == feed_of([]) and "<updated>2025-08-18T00:00:00+00:00</updated>" in first
    assert feedparser.parse(first.encode()).bozo == 0


@pytest.mark.parametrize("name", ["a|b", "x y", "数据集"])
def test_feed_ids_are_uris_whatever_the_topic_name(name):
    root = ET.fromstring(feed_of([(paper(1), DAY, 0.9, "r")], topic=name).encode())
    assert all(
        URI.fullmatch(text)
        for text in [root.findtext(f"{ATOM}id")] + [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
    )
