"""The topics file and `semdigest topics ...`: editing, importing, explaining and previewing."""

import json
from pathlib import Path

import pytest

from arxiv_server import Reply, fixture
from semdigest.errors import TopicsError
from semdigest.ranking.topics import Topic, import_topics, load_topics, save_topics, with_setting
from semdigest.sources.snapshot import embedded_data, snapshot_paper

FIXTURES = Path(__file__).parents[1] / "fixtures"
DAY_PAPERS = [snapshot_paper(json.loads(line)) for line in embedded_data().read_text().splitlines()]


def test_the_yaml_config_and_the_json_form_import_the_same_topics():
    from_yaml = import_topics(FIXTURES / "seed-config.yml")
    assert from_yaml == import_topics(embedded_data("seed-topics.json"))
    tts = next(topic for topic in from_yaml if topic.name == "Test-Time-Scaling")
    assert tts.keywords[:3] == (("LLM", "Reasoning"), ("VLM", "Reasoning"), ("System 2", "Thinking"))
    assert next(t for t in from_yaml if t.name == "3D_Reconstruction").filters == (("2D",),)


def test_seed_rules_reproduce_the_published_pages():
    pages = json.loads((FIXTURES / "seed-pages-2025-08-18.json").read_text())
    for topic in import_topics(embedded_data("seed-topics.json")):
        assert [p.id for p in DAY_PAPERS if topic.seed_selects(p)] == [
            p.id for p in DAY_PAPERS if p.id in pages[topic.name]
        ]


def test_topics_roundtrip_through_toml(tmp_path):
    topic = Topic(
        name="Agents",
        description="LLM agents",
        keywords=(("agent",), ("tool", "use")),
        filters=(("survey",),),
        categories=("cs.AI",),
        examples=("2508.13073",),
        negatives=("2508.11918",),
        weight=2.0,
        threshold=0.95,
        max_papers=30,
        whole_words=True,
    )
    save_topics(tmp_path / "topics.toml", [topic])
    assert load_topics(tmp_path / "topics.toml") == [topic]
    assert (
        'keywords = [\n    "agent",\n    [\n        "tool",\n        "use",\n    ],\n]'
        in (tmp_path / "topics.toml").read_text()
    )


def test_keyword_hits_say_where_they_matched():
    paper = next(p for p in DAY_PAPERS if p.id == "2508.13073")
    topic = Topic(name="t", keywords=(("VLM",), ("taxonomy", "robotic"), ("absent",)))
    assert [(hit.label, hit.where) for hit in topic.keyword_hits(paper)] == [
        ("VLM", "title"),
        ("taxonomy+robotic", "abstract"),
    ]


def test_a_keyword_hit_shows_the_match_in_context_so_a_false_hit_is_seen():
    topic = Topic(name="Test-Time-Scaling", keywords=(("r1",), ("TTS",)))
    quasi_newton = next(p for p in DAY_PAPERS if p.id == "2508.12270")
    (hit,) = topic.keyword_hits(quasi_newton)
    before, match, after = hit.context
    assert match == "R1" and before.endswith("L-S") and len(before) <= 51 and len(after) <= 51
    speech = next(p for p in DAY_PAPERS if p.id == "2501.19258")
    tts = next(hit for hit in topic.keyword_hits(speech) if hit.label == "TTS")
    assert "speech" in "".join(tts.context).lower()


def test_settings_are_validated_like_the_file():
    topic = Topic(name="t")
    assert with_setting(topic, "keywords", "VLM, LLM+vision").keywords == (("VLM",), ("LLM", "vision"))
    assert with_setting(topic, "max_papers", "none").max_papers is None
    with pytest.raises(TopicsError, match="threshold"):
        with_setting(topic, "threshold", "-1")
    with pytest.raises(TopicsError, match="cannot set 'examples'"):
        with_setting(topic, "examples", "2508.13073")


def test_topics_commands(home, cli):
    assert (
        cli("topics", "add", "Agents", "-d", "LLM agents that use tools", "-k", "agent", "-k", "tool+use").exit_code
        == 0
    )
    duplicate = cli("topics", "add", "Agents")
    assert duplicate.exit_code == 2 and "exists already" in duplicate.stderr
    assert cli("topics", "set", "Agents", "threshold", "0.95").exit_code == 0
    shown = json.loads(cli("topics", "show", "Agents", "--json").stdout)
    assert shown["keywords"] == ["agent", "tool+use"] and shown["threshold"] == 0.95
    assert "Agents" in cli("topics", "list").stdout
    assert "imported 8 topics" in cli("topics", "import", FIXTURES / "seed-config.yml").stdout
    assert len(json.loads(cli("topics", "list", "--json").stdout)) == 9
    assert cli("topics", "remove", "Agents").exit_code == 0
    missing = cli("topics", "show", "Agents")
    assert missing.exit_code == 2 and "no topic named 'Agents'" in missing.stderr


def test_liking_an_unknown_paper_fetches_it_and_an_unknown_one_fails(home, cli, arxiv_server):
    cli("topics", "add", "Physics")
    arxiv_server.route("/api/query", [Reply(200, fixture("api2026_idlist_1605.08386_unversioned.xml"))])
    assert cli("topics", "like", "Physics", "1605.08386").exit_code == 0
    assert json.loads(cli("topics", "show", "Physics", "--json").stdout)["examples"] == ["1605.08386"]
    arxiv_server.route("/api/query", [Reply(200, fixture("api2026_empty_totalResults0_id-0000.0000.xml"))])
    failed = cli("topics", "like", "Physics", "2501.99999")
    assert failed.exit_code == 2 and "arXiv does not know 2501.99999" in failed.stderr
    assert json.loads(cli("topics", "show", "Physics", "--json").stdout)["examples"] == ["1605.08386"]


def test_explain_says_why(day_home, cli):
    cli("topics", "import", embedded_data("seed-topics.json"))
    shown = cli("topics", "explain", "MLLM", "2508.13073")
    assert shown.exit_code == 0, shown.output
    assert "shown: its keywords select it" in shown.stdout and "VLM (title)" in shown.stdout
    assert "rank " in shown.stdout and "cosine to the topic" in shown.stdout
    assert "of a reference sample of arXiv), rank" in shown.stdout  # a one-day store: its own sample is the day
    filtered = cli("topics", "explain", "3D_Reconstruction", "2508.12603")
    assert filtered.exit_code == 0
    left_out = cli("topics", "explain", "Embodied_AI", "2508.12079")
    assert "left out: no keyword hit and its score" in left_out.stdout


def test_preview_shows_entering_and_leaving_papers_without_saving(day_home, cli):
    cli("topics", "import", embedded_data("seed-topics.json"))
    result = cli("topics", "preview", "MLLM", "--add-keyword", "Vision-Language-Action", "--unlike", "2508.12687")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("MLLM on 2025-08-18: 49 -> ")
    assert any(line.split()[-1:] and "- 2508.12687" in line for line in lines)  # it leaves
    assert any(" + " in line for line in lines)  # VLA papers enter
    assert json.loads(cli("topics", "show", "MLLM", "--json").stdout)["negatives"] == []  # nothing saved
    saved = cli("topics", "preview", "MLLM", "--set", "threshold", "0.999", "--save")
    assert (
        "saved MLLM" in saved.stdout
        and json.loads(cli("topics", "show", "MLLM", "--json").stdout)["threshold"] == 0.999
    )
