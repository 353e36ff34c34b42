"""The pages and feeds of the real listing day (367 papers, the keyword digest's 8 topics), as a reader
gets them: folded abstracts, each once, the cap, top picks, reasons with evidence, whole feeds."""

import json
import re

import feedparser

from semdigest.sources.snapshot import embedded_data

DAY = "2025-08-18"


def _digest(cli, *args):
    result = cli("digest", "--json", "--date", DAY, *args)
    assert result.exit_code == 0, result.output
    return {topic["name"]: topic["papers"] for topic in json.loads(result.stdout)["topics"]}


def test_the_day_reads_well(day_home, cli):
    assert cli("topics", "import", embedded_data("seed-topics.json")).exit_code == 0
    with (day_home / "config.toml").open("a") as config:
        config.write("open_abstracts = 3\n")
    assert cli("topics", "set", "MLLM", "max_papers", "20").exit_code == 0
    topics = _digest(cli)
    folder = day_home / "digests" / DAY
    pages = {path.stem: path.read_text() for path in folder.glob("*.md") if path.name != "README.md"}
    assert set(pages) == set(topics)
    for page in pages.values():
        assert page.count("<details open><summary>Abstract</summary>") <= 3
    # every paper's abstract in full on one page of the day, a link to it on the others
    full = [paper_id for page in pages.values() for paper_id in re.findall(r'<a id="arxiv-([^"]+)"></a>', page)]
    blocks = sum(page.count("<summary>Abstract</summary>") for page in pages.values())
    assert blocks == len(set(full)) < len(full)
    assert sum(page.count("📄 Abstract on [") for page in pages.values()) == len(full) - len(set(full))
    # max_papers caps the full entries; the other keyword papers stay, listed compactly below
    mllm = pages["MLLM"]
    assert mllm.count('<a id="arxiv-') == 20 and len(topics["MLLM"]) == 49
    assert sorted(re.findall(r"`arXiv:([^`]+)`", mllm)) == sorted(p["id"] for p in topics["MLLM"])
    assert len(re.findall(r"^\d+\. \[", mllm.split("### ➕ More papers")[1], flags=re.M)) == 29
    # the false hit the issue names is visible in its snippet
    assert "🔑 `r1` in title: “L-S**R1**: Learned Symmetric-Rank-One Preconditioning”" in pages["Test-Time-Scaling"]
    semantic = [p for papers in topics.values() for p in papers if not p["keyword_hits"]]
    assert semantic and all("cosine" in p["reason"] and p["topic_cosine"] > 0 for p in semantic)

    index = (folder / "README.md").read_text()
    assert "[![Papers](https://img.shields.io/badge/Papers-367-2688EB)]()" in index
    pick = r"^(\d+)\. \*\*\[.*?\]\(https://arxiv.org/abs/([^)]+)\)\*\*.*?\]\(([^)#]+)#arxiv-([^)]+)\)"
    picks = re.findall(pick, index, flags=re.M)
    assert [int(number) for number, *_ in picks] == list(range(1, 11))
    assert len({paper_id for _, paper_id, _, _ in picks}) == 10
    assert len({page for _, _, page, _ in picks}) == 8  # every topic has a pick
    for _, paper_id, page, anchored in picks:
        assert paper_id == anchored and f'<a id="arxiv-{paper_id}"></a>' in (folder / page).read_text()
    feeds = re.findall(r"\[📡 Atom\]\(([^)]+)\)", index)
    assert len(feeds) == 8 and all((folder / feed).exists() for feed in feeds)

    llm = feedparser.parse((day_home / "digests" / "feeds" / "LLM.xml").read_bytes())
    assert llm.bozo == 0 and len(llm.entries) == len(topics["LLM"]) == 184
    assert not [author for entry in llm.entries for author in entry.authors if author.name == "et al."]
    stamps = [entry.updated_parsed for entry in llm.entries]
    assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 184


def test_an_example_paper_says_so_and_others_name_the_nearest_example(day_home, cli):
    cli("topics", "add", "Robots", "--description", "robot manipulation", "--keyword", "robot")
    assert cli("topics", "like", "Robots", "2508.13073", "2508.13103").exit_code == 0
    papers = {p["id"]: p for p in _digest(cli)["Robots"]}
    survey = papers["2508.13073"]
    assert survey["example"] and "one of your examples" in survey["reason"]
    assert survey["nearest_example"]["id"] == "2508.13103"  # the other example, not itself
    assert "Grounding Actions in Camera Space" in survey["nearest_example"]["title"]
    page = (day_home / "digests" / DAY / "Robots.md").read_text()
    assert "⭐ one of your examples" in page and "👍 like your example [Grounding Actions in Camera Space" in page
