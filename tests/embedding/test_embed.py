"""Embedding: the real all-MiniLM-L6-v2, fp32 (sentence-transformers) and the fast int8 ONNX path, on real papers.

The fast artefact is built once for the session (conftest.fast_cache); one test rebuilds it from a corrupted copy.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semdigest.embedding import build as fastpath
from semdigest.embedding import registry as embed
from semdigest.embedding.onnx import OnnxEmbedder
from semdigest.embedding.registry import DEFAULT_MODEL
from semdigest.embedding.st import SentenceTransformerEmbedder
from semdigest.errors import SemdigestError, UnknownModelError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "papers-small.jsonl"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """60 real papers (title + abstract) of 2025-08-18, none of them in the build's probe set."""
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    return [f"{r['title']} {r['abstract']}" for r in rows]


@pytest.fixture(scope="module")
def cache_dir(fast_cache: Path) -> Path:
    return fast_cache


@pytest.fixture(scope="module")
def fast(cache_dir: Path) -> embed.Embedder:
    return embed.load_embedder(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def fp32(cache_dir: Path) -> embed.Embedder:
    return embed.load_embedder(cache_dir=cache_dir, fast=False)


@pytest.fixture(scope="module")
def fp32_vectors(fp32: embed.Embedder, texts: list[str]) -> np.ndarray:
    return fp32.encode(texts)


@pytest.fixture(scope="module")
def fast_vectors(fast: embed.Embedder, texts: list[str]) -> np.ndarray:
    return fast.encode(texts)


def test_import_loads_no_heavy_module() -> None:
    code = (
        "import sys, semdigest.embedding.registry; "
        "heavy = ('torch', 'sentence_transformers', 'transformers', 'onnxruntime', 'faiss', 'ray'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_resolve_model_default_folder_name_and_path(tmp_path: Path) -> None:
    default = embed.resolve_model(DEFAULT_MODEL)
    assert (default / "modules.json").is_file() and (default / "tokenizer.json").is_file()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "modules.json").write_text("[]")
    assert embed.resolve_model("mine", models_dir=tmp_path) == (tmp_path / "mine").resolve()
    assert embed.resolve_model(str(tmp_path / "mine")) == (tmp_path / "mine").resolve()


def test_unknown_model_is_a_one_line_user_error(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text("{}")
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(UnknownModelError) as caught:
        embed.load_embedder("all-mpnet-base-v2", models_dir=tmp_path, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert isinstance(caught.value, SemdigestError) and "\n" not in message
    assert "all-mpnet-base-v2" in message and DEFAULT_MODEL in message and "mine" in message
    assert "not-a-model" not in message


def test_both_paths_give_unit_float32_rows_of_384(
    fp32: embed.Embedder, fast: embed.Embedder, texts: list[str], fp32_vectors: np.ndarray, fast_vectors: np.ndarray
) -> None:
    assert isinstance(fp32, SentenceTransformerEmbedder) and isinstance(fast, OnnxEmbedder)
    for embedder, vectors in ((fp32, fp32_vectors), (fast, fast_vectors)):
        assert embedder.dim == 384
        assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert embedder.encode([]).shape == (0, 384)


def test_model_ids_differ_because_the_vectors_differ(fp32: embed.Embedder, fast: embed.Embedder) -> None:
    assert fp32.model_id == DEFAULT_MODEL
    assert fast.model_id == DEFAULT_MODEL + "+onnx-int8"


def test_fast_vectors_match_fp32(fp32_vectors: np.ndarray, fast_vectors: np.ndarray) -> None:
    cosine = (fp32_vectors * fast_vectors).sum(axis=1)
    assert cosine.min() >= 0.99
    assert cosine.mean() >= 0.995


def test_fp32_path_equals_sentence_transformers_encode(
    fp32: SentenceTransformerEmbedder, texts: list[str], fp32_vectors: np.ndarray
) -> None:
    reference = fp32._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(fp32_vectors, reference, atol=1e-5)


@pytest.mark.parametrize("path", ["fp32", "fast"])
def test_each_paper_is_its_own_nearest_neighbour(path: str, request: pytest.FixtureRequest, texts: list[str]) -> None:
    embedder: embed.Embedder = request.getfixturevalue(path)
    corpus = request.getfixturevalue(f"{path}_vectors")
    queries = embedder.encode(texts[::-1], batch_size=7)[::-1]  # other batches, other order: same answer
    assert (np.argmax(queries @ corpus.T, axis=1) == np.arange(len(texts))).all()


def test_fast_vector_does_not_depend_on_its_batch(
    fast: embed.Embedder, texts: list[str], fast_vectors: np.ndarray
) -> None:
    alone = fast.encode([texts[5]], batch_size=1)
    np.testing.assert_array_equal(alone[0], fast_vectors[5])


@pytest.mark.parametrize("path", ["fp32", "fast"])
def test_progress_reports_each_batch(path: str, request: pytest.FixtureRequest, texts: list[str]) -> None:
    done: list[int] = []
    request.getfixturevalue(path).encode(texts[:20], batch_size=8, progress=done.append)
    assert done == [8, 8, 4]


def test_artefact_is_reused_without_rebuilding(
    fast: embed.Embedder, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, texts: list[str], fast_vectors: np.ndarray
) -> None:
    def no_build(*args: object) -> None:
        raise AssertionError("rebuilt a valid artefact")

    monkeypatch.setattr(fastpath, "build", no_build)
    again = embed.load_embedder(cache_dir=cache_dir)
    assert isinstance(again, OnnxEmbedder)
    np.testing.assert_array_equal(again.encode(texts[:3]), fast_vectors[:3])


def test_corrupted_artefact_is_rebuilt(
    fast: embed.Embedder,
    cache_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    texts: list[str],
    fast_vectors: np.ndarray,
) -> None:
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    (model,) = copy.glob("*/model.onnx")
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="semdigest.embedding"):
        rebuilt = embed.load_embedder(cache_dir=copy)
    assert "corrupted" in caplog.text
    assert isinstance(rebuilt, OnnxEmbedder)
    assert json.loads((model.parent / "meta.json").read_text())["ok"]
    np.testing.assert_allclose(rebuilt.encode(texts[:3]), fast_vectors[:3], atol=1e-6)


def test_failed_verification_falls_back_to_fp32(
    cache_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, fast: embed.Embedder
) -> None:
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    (meta,) = copy.glob("*/meta.json")
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "ok": False, "min_cosine": 0.93}))
    with caplog.at_level(logging.WARNING, logger="semdigest.embedding"):
        embedder = embed.load_embedder(cache_dir=copy)
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.model_id == DEFAULT_MODEL
    assert "0.9300 < 0.99" in caplog.text


def test_a_model_the_fast_path_cannot_convert_uses_fp32(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "minilm-cls"
    shutil.copytree(embed.resolve_model(DEFAULT_MODEL), folder)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    with caplog.at_level(logging.WARNING, logger="semdigest.embedding"):
        embedder = embed.load_embedder(str(folder), cache_dir=tmp_path / "cache")
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.model_id == "minilm-cls"
    assert "only Transformer + mean Pooling" in caplog.text
    vectors = embedder.encode(["graph neural networks", "dark matter halo"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_fast_false_is_plain_fp32(tmp_path: Path) -> None:
    embedder = embed.load_embedder(cache_dir=tmp_path, fast=False)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert list(tmp_path.iterdir()) == []  # nothing built
