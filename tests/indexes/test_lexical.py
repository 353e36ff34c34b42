"""BM25 index: ranking sanity on real papers, persistence, subsets, incremental adds, edge cases."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from semdigest.errors import IndexProblem
from semdigest.indexes import lexical, lexical_merge
from semdigest.indexes.lexical import Bm25Index, tokenize, top_n

QUERIES = ["sparse attention for long context", "reward model", "the of and", "", "Dense Rewards > RL"]


@pytest.fixture(scope="module")
def day() -> tuple[list[int], list[str]]:
    """The 367 real papers of the embedded demo day, keyed by arbitrary, non-contiguous integers."""
    path = resources.files("semdigest") / "data" / "day-2025-08-18.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [1000 + 7 * i for i in range(len(rows))], [f"{r['title']} {r['abstract']}" for r in rows]


@pytest.fixture(scope="module")
def index(day: tuple[list[int], list[str]]) -> Bm25Index:
    return Bm25Index.build(*day)


def test_tokenize_lowercases_drops_stopwords_and_plurals() -> None:
    assert tokenize("The Models of LLMs are in Studies") == ["model", "llm", "study"]
    assert tokenize("a to the of") == []


def test_distinctive_words_rank_their_document_first() -> None:
    texts = [
        "graph neural networks for molecules",
        "zebrafish larvae tracking with video models",
        "language models for code",
        "reinforcement learning for robot grasping",
    ]
    idx = Bm25Index.build([5, 6, 7, 8], texts)
    s = idx.scores("zebrafish larvae")
    assert int(np.argmax(s)) == 1 and s[1] > 0
    assert np.all(s[[0, 2, 3]] == 0)


def test_each_real_paper_ranks_first_for_its_own_text(index: Bm25Index, day: tuple[list[int], list[str]]) -> None:
    keys, texts = day
    for key, text in list(zip(keys, texts))[:60]:
        s = index.scores(text)
        assert index.keys[int(np.argmax(s))] == key


def test_save_load_roundtrip_gives_identical_scores(index: Bm25Index, tmp_path: Path) -> None:
    index.save(tmp_path / "bm25")
    loaded = Bm25Index.load(tmp_path / "bm25")
    assert np.array_equal(loaded.keys, index.keys)
    for q in QUERIES:
        assert np.array_equal(loaded.scores(q), index.scores(q))
    # a loaded (memory-mapped) index can be updated like a built one
    grown, expected = loaded.add([5], ["zebrafish larvae"]), index.add([5], ["zebrafish larvae"])
    assert np.array_equal(grown.scores("zebrafish larvae"), expected.scores("zebrafish larvae"))


def test_save_replaces_the_live_generation_atomically(day: tuple[list[int], list[str]], tmp_path: Path) -> None:
    keys, texts = day
    root = tmp_path / "bm25"
    Bm25Index.build(keys[:10], texts[:10]).save(root)
    (root / "g0-crashed.tmp").mkdir()  # leftover of an interrupted save: must not be read
    Bm25Index.build(keys[:20], texts[:20]).save(root)
    assert len(Bm25Index.load(root).keys) == 20
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [(root / "CURRENT").read_text()]


def test_subset_scores_match_full_scores(index: Bm25Index, day: tuple[list[int], list[str]]) -> None:
    keys = day[0]
    subset = [keys[40], keys[3], keys[200], 999_999, keys[3 + 1]]  # any order, one unknown key
    for q in QUERIES:
        full = index.scores(q)
        row = {int(k): i for i, k in enumerate(index.keys)}
        want = [full[row[k]] if k in row else 0.0 for k in subset]
        assert np.array_equal(index.scores(q, subset), np.asarray(want, np.float32))


def test_statistics_come_from_the_whole_index_not_the_subset(
    index: Bm25Index, day: tuple[list[int], list[str]]
) -> None:
    small = Bm25Index.build(day[0][:5], day[1][:5])
    q = "large language models"
    assert not np.allclose(index.scores(q, day[0][:5]), small.scores(q))


@pytest.mark.parametrize("query", ["", "the of and to", "!!! ... ???", "x y z"])
def test_empty_or_stopword_only_query_gives_zeros(index: Bm25Index, query: str) -> None:
    s = index.scores(query)
    assert s.shape == (len(index.keys),) and not s.any()
    assert not index.scores(query, index.keys[:3]).any()


def test_empty_index_scores_nothing(tmp_path: Path) -> None:
    empty = Bm25Index.build([], [])
    assert empty.scores("reward model").shape == (0,)
    assert np.array_equal(empty.scores("reward model", [1, 2]), np.zeros(2, np.float32))
    empty.save(tmp_path / "e")
    assert Bm25Index.load(tmp_path / "e").scores("x").shape == (0,)


def test_incremental_add_equals_a_full_rebuild(day: tuple[list[int], list[str]]) -> None:
    keys, texts = day
    revised = "A revised abstract about sparse attention kernels for long context inference."
    step = Bm25Index.build(keys[:200], texts[:200]).add([keys[5], *keys[200:]], [revised, *texts[200:]])
    full_texts = [revised if k == keys[5] else t for k, t in zip(keys, texts)]
    full = Bm25Index.build(keys[::-1], full_texts[::-1])  # insertion order must not matter
    assert np.array_equal(step.keys, full.keys)
    for q in QUERIES + [revised]:
        assert np.allclose(step.scores(q), full.scores(q), rtol=1e-6, atol=1e-6)


def test_remove_equals_a_build_without_the_removed_papers(day: tuple[list[int], list[str]]) -> None:
    keys, texts = day
    gone = set(keys[10:50]) | {123_456}  # an unknown key is ignored
    kept = [(k, t) for k, t in zip(keys, texts) if k not in gone]
    smaller = Bm25Index.build(keys, texts).remove(sorted(gone))
    rebuilt = Bm25Index.build([k for k, _ in kept], [t for _, t in kept])
    assert np.array_equal(smaller.keys, rebuilt.keys)
    for q in QUERIES:
        assert np.allclose(smaller.scores(q), rebuilt.scores(q), rtol=1e-6, atol=1e-6)


def test_index_built_with_another_tokenizer_is_refused(
    index: Bm25Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.save(tmp_path / "bm25")
    monkeypatch.setattr(lexical, "TOKENIZER", "something-else/2")
    with pytest.raises(IndexProblem, match="built with tokenizer"):
        Bm25Index.load(tmp_path / "bm25")


def test_add_rejects_duplicate_or_mismatched_keys(index: Bm25Index) -> None:
    with pytest.raises(ValueError):
        index.add([1, 1], ["a b", "c d"])
    with pytest.raises(ValueError):
        index.add([1, 2], ["only one text"])


def test_scores_equal_bm25s_lucene(day: tuple[list[int], list[str]]) -> None:
    import bm25s

    keys, texts = day
    ours = Bm25Index.build(keys, texts)
    ref = bm25s.BM25(k1=lexical.K1, b=lexical.B, method="lucene")
    ref.index([tokenize(t) for t in texts], show_progress=False)
    for q in QUERIES[:2] + [texts[10]]:
        assert np.allclose(ours.scores(q), ref.get_scores(tokenize(q)), rtol=1e-4, atol=1e-5)


POOL_TEXTS = [
    "reinforcement learning for reasoning models",
    "reinforcement learning with critic-free updates",
    "reinforcement learning for robot control",
    "long context attention kernels",
    "critic-free policy gradient",
]


def test_idf_from_all_documents_is_the_usual_bm25() -> None:
    index = Bm25Index.build(list(range(len(POOL_TEXTS))), POOL_TEXTS)
    assert np.allclose(
        index.scores("reinforcement critic-free", idf_keys=list(range(len(POOL_TEXTS)))),
        index.scores("reinforcement critic-free"),
    )


def test_idf_from_the_pool_discounts_what_the_pool_shares() -> None:
    index = Bm25Index.build(list(range(len(POOL_TEXTS))), POOL_TEXTS)
    pool = [0, 1, 2]  # all about reinforcement learning: the word no longer tells them apart
    pooled = index.scores("reinforcement", idf_keys=pool)
    assert pooled[0] < index.scores("reinforcement")[0]
    assert index.scores("critic", idf_keys=pool)[1] > pooled[1]
    assert index.scores("reinforcement", keys=[9], idf_keys=pool + [9]).tolist() == [0.0]  # unknown key


def test_a_build_by_segments_equals_the_build_in_memory(
    day: tuple[list[int], list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "SEGMENT", 50)  # 8 segments, merged 2,000 postings at a time
    monkeypatch.setattr(lexical_merge, "BLOCK", 2000)
    keys, texts = day
    text_of = dict(zip(keys, texts))
    Bm25Index.build_into(tmp_path, np.array(keys), lambda wanted: [text_of[key] for key in wanted])
    built, expected = Bm25Index.load(tmp_path), Bm25Index.build(keys, texts)
    for name in lexical._ARRAYS:
        assert np.array_equal(getattr(built, name), getattr(expected, name)), name
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith("segments-")] == []


def test_an_update_by_segments_scores_like_remove_then_add(
    day: tuple[list[int], list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "SEGMENT", 40)
    monkeypatch.setattr(lexical_merge, "BLOCK", 1500)
    keys, texts = day
    text_of = dict(zip(keys[:300], texts[:300]))
    Bm25Index.build_into(tmp_path, np.array(keys[:300]), lambda wanted: [text_of[key] for key in wanted])
    removed, revised = keys[10:20], keys[50:60]
    added = revised + keys[300:]  # revised abstracts and new papers, one of them between old keys
    text_of.update({key: f"a revised abstract about zebrafish {key}" for key in revised})
    text_of.update(zip(keys[300:], texts[300:]))
    Bm25Index.load(tmp_path).update_into(tmp_path, removed, added, lambda wanted: [text_of[key] for key in wanted])
    updated = Bm25Index.load(tmp_path)
    expected = Bm25Index.build(keys[:300], texts[:300]).remove(removed).add(added, [text_of[k] for k in added])
    for name in lexical._ARRAYS:  # the revised papers' postings too are in row order within their terms
        assert np.array_equal(getattr(updated, name), getattr(expected, name)), name
    candidates = [keys[55], keys[3], keys[320], 999_999]
    for query in [*QUERIES, "zebrafish", texts[5], texts[320]]:
        assert np.array_equal(updated.scores(query), expected.scores(query))
        assert np.array_equal(updated.scores(query, candidates), updated.pick(expected.scores(query), candidates))


def test_best_is_the_exact_top_when_every_term_fits_the_budget(index: Bm25Index, day) -> None:
    keys, texts = day
    allowed = np.array(keys[::3])
    for query in [*QUERIES, texts[7], texts[100]]:
        scores = index.scores(query)
        top = top_n(scores, 25)
        assert np.array_equal(index.best(tokenize(query), 25), index.keys[top[scores[top] > 0]])
        masked = np.where(np.isin(index.keys, allowed), scores, 0)
        top = top_n(masked, 25)
        assert np.array_equal(index.best(tokenize(query), 25, allowed), index.keys[top[masked[top] > 0]])


def test_best_reads_the_rarest_terms_first_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"language models for task {i}" for i in range(40)] + ["zebrafish larvae", "larvae of insects"]
    idx = Bm25Index.build(range(len(texts)), texts)
    reads: list[int] = []
    checked = lexical._check_postings
    monkeypatch.setattr(lexical, "_check_postings", lambda rows, df, n: reads.append(len(rows)) or checked(rows, df, n))
    monkeypatch.setattr(lexical, "CANDIDATE_POSTINGS", 3)  # room for "zebrafish" (1) and "larvae" (2) only
    assert idx.best(tokenize("zebrafish larvae language models"), 5).tolist() == [40, 41]
    assert reads == [3]
    monkeypatch.setattr(lexical, "CANDIDATE_POSTINGS", 0)  # always at least the rarest term
    assert idx.best(tokenize("zebrafish larvae language models"), 5).tolist() == [40]


@pytest.mark.parametrize("n", [1, 5, 50, 299, 1000])
def test_top_n_equals_the_stable_full_sort_with_ties(n):
    rng = np.random.default_rng(n)
    scores = rng.integers(0, 20, size=5000).astype(np.float32)  # many ties, also at the cut
    assert np.array_equal(top_n(scores, n), np.argsort(-scores, kind="stable")[:n])
    assert np.array_equal(top_n(scores[:10], n), np.argsort(-scores[:10], kind="stable")[:n])
