"""Topics, ranking and the digest end to end on the real listing day with the keyword digest's topics."""

import json
import re
from dataclasses import replace
from datetime import date
from itertools import pairwise
from pathlib import Path

import feedparser
import numpy as np
import pytest

from semdigest import Home
from semdigest.indexes.sample import Calibration, shipped_reference
from semdigest.ranking.fusion import topic_texts, topic_vector
from semdigest.ranking.rank import score_topic
from semdigest.ranking.topics import find_topic
from semdigest.sources.snapshot import embedded_data

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED_PAGES = json.loads((FIXTURES / "seed-pages-2025-08-18.json").read_text())
DAY = "2025-08-18"


@pytest.fixture
def seeded(day_home, cli):
    assert cli("topics", "import", embedded_data("seed-topics.json")).exit_code == 0
    return day_home


def _digest(cli, *args):
    result = cli("digest", "--json", *args)
    assert result.exit_code == 0, result.output
    return {topic["name"]: topic["papers"] for topic in json.loads(result.stdout)["topics"]}


def test_every_seed_page_is_kept_exactly_among_the_keyword_hits(seeded, cli):
    topics = _digest(cli, "--date", DAY)
    assert set(topics) == set(SEED_PAGES)
    for name, papers in topics.items():
        keyword = [paper["id"] for paper in papers if paper["keyword_hits"]]
        assert sorted(keyword) == sorted(SEED_PAGES[name]), name
        assert all(paper["score"] >= 0.99 for paper in papers if not paper["keyword_hits"])
        scores = [paper["relevance"] for paper in papers]
        assert scores == sorted(scores, reverse=True), f"{name} is not in rank order"
    assert len([p for p in topics["MLLM"] if p["keyword_hits"]]) == 49


def test_json_carries_evidence_and_reasons(seeded, cli):
    mllm = _digest(cli, "--date", DAY)["MLLM"]
    first = mllm[0]
    assert {"id", "title", "score", "keyword_hits", "reason"} <= set(first)
    hit = first["keyword_hits"][0]
    assert hit["keyword"] in {
        "VLM",
        "MLM",
        "MLLM",
        "Multi-Modal Language Model",
        "Multimodal Language Model",
        "Vision Language Model",
    } and hit["where"] in {"title", "abstract", "title+abstract"}
    assert first["reason"].startswith("keywords ") and "score" in first["reason"]


def test_markdown_pages_follow_the_reference_format_and_parse_back(seeded, cli, day_home):
    topics = _digest(cli, "--date", DAY)
    page = (day_home / "digests" / DAY / "MLLM.md").read_text()
    assert page.startswith(f"# 🔍 MLLM Papers · {DAY}\n")
    assert f"[![Total Papers](https://img.shields.io/badge/Papers-{len(topics['MLLM'])}-2688EB)]()" in page
    assert "## 🔑 Keywords and filters\n**Keywords**: `VLM` `MLM` `MLLM`" in page and "**Filter**: `None`" in page
    assert "## 📚 Paper List" in page
    # new papers first, then re-announced ones, each group in rank order; numbered 1..n down the page
    ids = [paper["id"] for paper in topics["MLLM"]]
    fresh = [paper["id"] for paper in topics["MLLM"] if paper["announcement"] in ("new", "cross")]
    assert re.findall(r"`arXiv:([^`]+)`", page) == fresh + [i for i in ids if i not in fresh]
    assert re.findall(r"^(\d+)\. ", page, flags=re.M) == [str(n) for n in range(1, len(ids) + 1)]
    assert page.count("<details open><summary>Abstract</summary>") == 5
    assert (
        '<a id="arxiv-2508.13073"></a>**[Large VLM-based Vision-Language-Action Models for Robotic Manipulation: A'
        " Survey](https://arxiv.org/abs/2508.13073)**  `arXiv:2508.13073`  `cs.RO`  " in page
    )
    assert "_Rui Shao, Wei Li, Lingsen Zhang, Renshan Zhang, Zhiyang Liu, Ran Chen, et al._" in page
    reconstruction = (day_home / "digests" / DAY / "3D_Reconstruction.md").read_text()
    assert "**Filter**: `2D`" in reconstruction


def test_index_archive_and_feeds(seeded, cli, day_home):
    topics = _digest(cli, "--date", DAY)
    index = (day_home / "digests" / DAY / "README.md").read_text()
    rows = re.findall(r"^\| (\d+) \| \[([^\]]+)\]\(([^)]+)\) \| (\d+) \|", index, flags=re.M)
    assert [int(count) for *_, count in rows] == sorted((len(p) for p in topics.values()), reverse=True)
    assert [int(number) for number, *_ in rows] == list(range(1, len(topics) + 1))
    assert all((day_home / "digests" / DAY / link).exists() for _, _, link, _ in rows)
    archive = (day_home / "digests" / "README.md").read_text()
    assert f"[{DAY}]({DAY}/README.md)" in archive
    feed = feedparser.parse((day_home / "digests" / "feeds" / "MLLM.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == len(topics["MLLM"])
    assert {entry.link for entry in feed.entries} == {f"https://arxiv.org/abs/{p['id']}" for p in topics["MLLM"]}


def test_a_paper_is_shown_once_per_topic(seeded, cli, tmp_path):
    _digest(cli, "--date", DAY)
    relisted = [
        json.loads(line)
        for line in embedded_data().read_text().splitlines()
        if json.loads(line)["id"] in SEED_PAGES["MLLM"][:3]
    ]
    (tmp_path / "next.jsonl").write_text(
        "".join(json.dumps({**p, "update_date": "2025-08-19"}) + "\n" for p in relisted)
    )
    assert cli("ingest", tmp_path / "next.jsonl").exit_code == 0
    assert _digest(cli, "--date", "2025-08-19")["MLLM"] == []
    marked = _digest(cli, "--date", "2025-08-19", "--show-seen")["MLLM"]
    assert sorted(p["id"] for p in marked) == sorted(SEED_PAGES["MLLM"][:3])
    assert all(p["seen_on"] == DAY and "seen 2025-08-18" in p["reason"] for p in marked)
    again = _digest(cli, "--date", DAY)["MLLM"]  # rerunning a day shows that day's papers again
    assert len([p for p in again if p["keyword_hits"]]) == 49


def test_semantic_matches_join_above_the_threshold(day_home, cli):
    cli(
        "topics",
        "add",
        "Robot manipulation",
        "--description",
        "robots that grasp and manipulate objects, vision-language-action policies",
        "--keyword",
        "no-such-keyword",
    )
    # Against the reference sample of arXiv (not the day itself) the day's manipulation papers score 0.985-0.989:
    # robot manipulation is more than 1% of arXiv, so 0.99 admits only its very best, none of them that day.
    cli("topics", "set", "Robot manipulation", "threshold", "0.98")
    joined = _digest(cli, "--date", DAY)["Robot manipulation"]
    assert joined and all(not p["keyword_hits"] and p["score"] >= 0.98 for p in joined)
    assert all("semantic match" in p["reason"] for p in joined)
    cli("topics", "set", "Robot manipulation", "threshold", "0.9")
    wider = _digest(cli, "--date", DAY)["Robot manipulation"]
    assert len(wider) > len(joined) and [p["id"] for p in wider[: len(joined)]] == [p["id"] for p in joined]
    everything = _digest(cli, "--date", DAY, "--all")["Robot manipulation"]
    assert len(everything) == 367


def test_first_day_calibration_admits_no_paper_dissimilar_to_the_topic(seeded, cli):
    """On a store holding one day, a score calibrated against that day was the paper's rank, so 0.99 admitted
    the day's top three whatever the topic: even "Protein structure prediction", which the day barely touches,
    got a foot-reconstruction paper. Against the shipped reference sample of arXiv, every join is closer to its
    topic than 90% of the reference papers are, and the top three are no longer admitted by right."""
    cli("topics", "add", "Protein structure prediction", "--keyword", "no-such-keyword")
    topics = _digest(cli, "--date", DAY)
    reference = shipped_reference()
    with Home.open(seeded) as home:
        for name, papers in topics.items():
            topic = topic_vector(*home.embed(topic_texts(name.replace("_", " "))))
            against = reference.vectors @ topic
            for paper_id in [paper["id"] for paper in papers if not paper["keyword_hits"]]:
                _, why = home.explain(name, paper_id, day=date.fromisoformat(DAY))
                assert why.calibrated_against == "a reference sample of arXiv"
                assert np.mean(against < why.cosine) >= 0.9, (name, paper_id, why.cosine)
    assert len(topics["Protein structure prediction"]) < 3
    assert "2502.20511" not in [paper["id"] for paper in topics["Protein structure prediction"]]


def test_calibration_never_moves_the_ranking(seeded):
    """The reference changes what a score means, not the order: relevance is fitted on the day's papers."""
    with Home.open(seeded) as home:
        pool = home.ranker([json.loads(line)["id"] for line in embedded_data().read_text().splitlines()]).pool
        topic = find_topic(home.topics().all(), "Embodied_AI")
        against_the_day = replace(
            pool, calibration=Calibration(pool.vectors, pool.lexical, pool.keys, None, "the store")
        )
        before, now = score_topic(topic, against_the_day), score_topic(topic, pool)
    assert [item.relevance for item in before] == [item.relevance for item in now]
    assert [item.score for item in before] != [item.score for item in now]
    assert all(a.score >= b.score for a, b in pairwise(now))  # scores fall down the ranking


def test_max_papers_never_drops_keyword_papers(seeded, cli):
    cli("topics", "set", "3D_Generation", "max_papers", "11")
    cli("topics", "set", "3D_Generation", "threshold", "0.5")
    papers = _digest(cli, "--date", DAY)["3D_Generation"]
    assert len(papers) == 11 and sum(1 for p in papers if p["keyword_hits"]) == 10
    cli("topics", "set", "3D_Generation", "max_papers", "3")
    assert len(_digest(cli, "--date", DAY)["3D_Generation"]) == 10


def test_liked_papers_pull_their_neighbours_up(day_home, cli):
    cli("topics", "add", "Agents", "--description", "large language model agents", "--keyword", "agent")
    before = [p["id"] for p in _digest(cli, "--date", DAY, "--all")["Agents"]]
    survey_neighbours = ["2508.11918", "2508.13103"]  # VLA robot papers, far from "LLM agents"
    assert cli("topics", "like", "Agents", "2508.13073").exit_code == 0
    after = _digest(cli, "--date", DAY, "--all")["Agents"]
    order = [p["id"] for p in after]
    for paper_id in survey_neighbours:
        assert order.index(paper_id) < before.index(paper_id)
    assert after[order.index("2508.11918")]["nearest_example"]["id"] == "2508.13073"


def test_unliked_papers_leave_the_topic(seeded, cli):
    assert cli("topics", "unlike", "MLLM", "2508.13073").exit_code == 0
    ids = [p["id"] for p in _digest(cli, "--date", DAY)["MLLM"]]
    assert "2508.13073" not in ids and len(ids) >= 48


def test_whole_word_keywords(seeded, cli):
    loose = {p["id"] for p in _digest(cli, "--date", DAY)["Test-Time-Scaling"] if p["keyword_hits"]}
    cli("topics", "set", "Test-Time-Scaling", "whole_words", "true")
    strict = {p["id"] for p in _digest(cli, "--date", DAY)["Test-Time-Scaling"] if p["keyword_hits"]}
    assert strict < loose  # r1 inside "PXR150" and the like no longer count


def test_an_empty_day_is_a_clear_error(seeded, cli):
    result = cli("digest", "--date", "2025-08-17")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: no stored papers were listed on 2025-08-17 (fetch them first: semdigest fetch --date 2025-08-17)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[topic]\nname = 'x'", "not valid TOML"),
        ("[[topic]]\nname = 'MLLM'\nkeywords = 'VLM'\n", "topic 'MLLM': field 'keywords' must be a list of keywords"),
        ("[[topic]]\nname = 'MLLM'\nthreshold = 'high'\n", "topic 'MLLM': field 'threshold' must be a number >= 0"),
        (
            "[[topic]]\nname = 'MLLM'\nexamples = ['2508.1307']\n",
            "topic 'MLLM': field 'examples' must be a list of arXiv ids",
        ),
        ("[[topic]]\nname = 'MLLM'\ncolour = 'red'\n", "topic 'MLLM': unknown field 'colour'"),
        ("[[topic]]\nkeywords = ['a']\n", "topic #1: field 'name' must be a non-empty string"),
    ],
)
def test_a_broken_topics_file_is_one_clear_line(day_home, cli, content, message):
    (day_home / "topics.toml").write_text(content)
    result = cli("digest")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "topics.toml" in lines[0]


def test_the_daily_run_fetches_indexes_and_writes_the_digest(home, cli, arxiv_server, tmp_path):
    from arxiv_server import RSS, Reply, fixture

    whole = fixture("rss2024_all-archives_2024-11-28_1504items.xml").decode()
    head, *items = whole.split("<item>")
    trimmed = head + "<item>" + "<item>".join(items[:40]).split("</channel>")[0] + "</channel>\n</rss>\n"
    arxiv_server.route("/rss/cs.AI+cs.LG", [Reply(200, trimmed.encode(), content_type=RSS)])
    cli("topics", "add", "Quantum", "--keyword", "quantum", "--description", "quantum physics and computing")
    result = cli("run", "-c", "cs.AI", "-c", "cs.LG", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "2024-11-28: 40 papers (40 new, 0 updated)" in result.stderr
    page = (tmp_path / "out" / "2024-11-28" / "Quantum.md").read_text()
    assert page.startswith("# 🔍 Quantum Papers · 2024-11-28") and "`arXiv:" in page
    arxiv_server.route("/rss/cs.AI+cs.LG", [Reply(200, fixture("rss2024_empty_category-test.xml"), content_type=RSS)])
    quiet = cli("run", "-c", "cs.AI", "-c", "cs.LG")
    assert quiet.exit_code == 0 and "no digest" in quiet.stdout


def test_a_digest_embeds_only_its_own_papers(seeded, cli, tmp_path):
    other = {
        "id": "2509.00001",
        "title": "An unrelated paper",
        "abstract": "Nothing to see.",
        "authors": "A",
        "categories": "cs.LG",
        "update_date": "2025-09-01",
    }
    (tmp_path / "other.jsonl").write_text(json.dumps(other) + "\n")
    cli("ingest", tmp_path / "other.jsonl")
    result = cli("digest", "--date", DAY)
    assert result.exit_code == 0 and "embedding 1 papers" not in result.stderr  # it waits for its own day
    assert "embedded 1 papers" in cli("index").stdout
