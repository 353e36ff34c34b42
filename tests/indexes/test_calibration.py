"""What scores are calibrated against: the store sample once it is full, else the reference shipped with the package."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from semdigest.embedding.registry import DEFAULT_MODEL, load_embedder
from semdigest.indexes.lexical import Bm25Index
from semdigest.indexes.sample import SAMPLE_SIZE, Calibration, Reference, Sample, shipped_reference


@pytest.fixture(scope="module")
def day_texts() -> list[str]:
    path = resources.files("semdigest") / "data" / "day-2025-08-18.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [f"{row['title']} {row['abstract']}" for row in rows]


def _sample(size: int, model: str = DEFAULT_MODEL) -> Sample:
    return Sample(model, np.arange(1, size + 1, dtype=np.int64), np.zeros((size, 4), np.float32))


def _no_embedding(texts: object) -> np.ndarray:
    raise AssertionError("the shipped vectors should have been used")


def test_the_shipped_reference_holds_the_default_models_vectors_of_its_texts(fast_cache: Path) -> None:
    reference = shipped_reference()
    assert len(reference.ids) == len(reference.texts) == len(reference.vectors) >= 1000
    assert len(set(reference.ids)) == len(reference.ids)
    assert reference.model.startswith(DEFAULT_MODEL)
    embedder = load_embedder(cache_dir=fast_cache)
    chosen = [0, len(reference.texts) // 2, len(reference.texts) - 1]
    fresh = embedder.encode([reference.texts[i] for i in chosen])
    assert (np.sum(fresh * reference.vectors[chosen], axis=1) > 0.99).all()


def test_a_small_store_is_calibrated_against_the_reference_a_full_one_against_its_sample() -> None:
    store = Bm25Index.build([1, 2], ["robot grasping", "language models"])
    reference = Reference(["2501.00001"], ["robot arms grasp objects"], DEFAULT_MODEL, np.ones((1, 4), np.float32))
    small = Calibration.of(_sample(SAMPLE_SIZE - 1), store, _no_embedding, lambda: reference)
    assert small.against == "a reference sample of arXiv" and np.array_equal(small.vectors, reference.vectors)
    full = Calibration.of(_sample(SAMPLE_SIZE), store, _no_embedding, lambda: reference)
    assert full.against == "the store" and len(full.vectors) == SAMPLE_SIZE


def test_reference_papers_score_bm25_as_if_they_were_stored(day_texts: list[str]) -> None:
    """A reference holding exactly the stored texts scores each of them as the store scores it: IDF comes from
    the stored papers only, and the average length is the same."""
    keys = list(range(10, 10 + len(day_texts)))
    store = Bm25Index.build(keys, day_texts)
    reference = Reference([str(k) for k in keys], day_texts, DEFAULT_MODEL, np.zeros((len(keys), 4), np.float32))
    calibration = Calibration.of(_sample(len(keys)), store, _no_embedding, lambda: reference)
    for query in ["embodied robot manipulation", "3D Gaussian splatting reconstruction"]:
        stored = store.scores(query)
        assert np.allclose(calibration.bm25(query, None, stored), stored, rtol=1e-5)
        pool = np.array(keys[:50])
        assert np.allclose(
            calibration.bm25(query, pool, store.scores(query, idf_keys=pool)),
            store.scores(query, idf_keys=pool),
            rtol=1e-5,
        )


def test_another_models_reference_vectors_are_embedded_from_the_texts() -> None:
    reference = Reference(["a", "b"], ["first text", "second text"], DEFAULT_MODEL, np.ones((2, 4), np.float32))
    asked: list[list[str]] = []

    def embed(texts: object) -> np.ndarray:
        asked.append(list(texts))  # type: ignore[call-overload]
        return np.zeros((2, 8), np.float32)

    assert reference.vectors_for(DEFAULT_MODEL + "+onnx-int8", _no_embedding).shape == (2, 4)
    assert reference.vectors_for("all-mpnet-base-v2", embed).shape == (2, 8)
    assert asked == [["first text", "second text"]]


def test_a_reference_survives_saving(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    saved = Reference(["2501.00001", "2501.00002", "2501.00003"], ["é ü", "b\nc", "d"], "m", vectors)
    saved.save(tmp_path / "r.npz")
    loaded = Reference.load(tmp_path / "r.npz")
    assert (loaded.ids, loaded.texts, loaded.model) == (saved.ids, saved.texts, saved.model)
    assert np.allclose(loaded.vectors, vectors, atol=1e-3)
