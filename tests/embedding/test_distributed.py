"""Bulk embedding on Ray (embedding/distributed.py): a local Ray on real papers gives the single-process vectors;
without Ray, `--engine ray` is one line; the GPU choice, which no test machine has, as a decision table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from semdigest import Home
from semdigest.embedding.cache import embed_missing
from semdigest.embedding.distributed import (
    CPU_ONLY,
    INSTALL_HINT,
    Device,
    WorkerSpec,
    choose_device,
    load_worker_embedder,
)
from semdigest.embedding.onnx import OnnxEmbedder
from semdigest.embedding.registry import DEFAULT_MODEL, load_embedder, resolve_model
from semdigest.embedding.st import SentenceTransformerEmbedder
from semdigest.errors import ClusterUnreachable, UsageError

PAPERS = Path(__file__).parents[1] / "fixtures" / "papers-small.jsonl"  # 60 real papers of 2025-08-18


def _home(root: Path, fast_cache: Path) -> Path:
    shutil.copytree(fast_cache, root / "cache")
    with Home.open(root) as home:
        home.ingest(PAPERS)
    return root


def _vectors(root: Path) -> tuple[str, dict[str, np.ndarray]]:
    with Home.open(root) as home:
        model = home.store.embedded(home._model.model_id)
        keys = sorted(model)
        vectors = home.store.vectors(home._model.model_id, keys)
        return home._model.model_id, {model[key]: vector for key, vector in zip(keys, vectors)}


def test_ray_vectors_equal_the_single_process_ones(tmp_path: Path, fast_cache: Path) -> None:
    """One local Ray (2 CPUs, 2 actors), resuming a run that had embedded a third of the papers."""
    local, ray = _home(tmp_path / "local", fast_cache), _home(tmp_path / "ray", fast_cache)
    with Home.open(local) as home:
        assert home.index().embedded == 60
    with Home.open(ray) as home:
        assert embed_missing(home.store, home._model, paper_ids=_ids()[:20]) == 20  # an interrupted earlier run
        result = home.index(engine="ray", workers=2)
    assert result.embedded == 40 and result.report.total == 60
    (model, expected), (ray_model, got) = _vectors(local), _vectors(ray)
    assert model == ray_model == DEFAULT_MODEL + "+onnx-int8"
    assert got.keys() == expected.keys() and len(got) == 60
    for digest, vector in expected.items():
        np.testing.assert_array_equal(got[digest], vector)
    import ray as ray_module

    assert not ray_module.is_initialized()  # the Ray it started is shut down
    with Home.open(ray) as home:  # everything cached: the next run starts no cluster
        assert home.index(engine="ray").embedded == 0


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in PAPERS.read_text().splitlines()]


def _ids() -> list[str]:
    return [row["id"] for row in _rows()]


def _texts(count: int) -> list[str]:
    return [f"{row['title']} {row['abstract']}" for row in _rows()[:count]]


def test_without_ray_the_engine_is_one_line_saying_how_to_install_it(tmp_path: Path, fast_cache: Path) -> None:
    root = _home(tmp_path / "home", fast_cache)
    probe = (
        "import sys; sys.modules['ray'] = None  # what `import ray` meets without the extra\n"
        "from semdigest.cli import main\n"
        f"main(['--home', {str(root)!r}, 'index', '--engine', 'ray'])"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"error: {INSTALL_HINT}\n"
    assert "pip install 'semdigest[cluster]'" in INSTALL_HINT


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1", "127.0.0.1:port"])
def test_a_cluster_that_does_not_answer_is_one_line(tmp_path: Path, fast_cache: Path, address: str) -> None:
    with Home.open(_home(tmp_path / "home", fast_cache)) as home, pytest.raises(ClusterUnreachable) as caught:
        home.index(engine="ray", address=address)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Ray cluster at {address}: ") and "\n" not in message


def test_importing_the_driver_imports_no_ray() -> None:
    code = "import sys, semdigest.embedding.distributed, semdigest.app.home; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("engine", "address", "workers", "message"),
    [
        ("spark", None, None, "unknown engine 'spark'"),
        ("local", "head:6379", None, "go with --engine ray"),
        ("local", None, 2, "go with --engine ray"),
        ("ray", None, 0, "--workers must be at least 1"),
    ],
)
def test_engine_options_that_do_not_fit(
    tmp_path: Path, engine: str, address: str | None, workers: int | None, message: str
) -> None:
    with Home.open(tmp_path / "home") as home, pytest.raises(UsageError, match=message):
        home.index(engine=engine, address=address, workers=workers)


ONNX = WorkerSpec("m", artefact="/cache/m-1234", meta={"dim": 384, "lower": True})
FP32 = WorkerSpec("m", folder="/models/m")


@pytest.mark.parametrize(
    ("spec", "gpu", "providers", "device"),
    [
        (ONNX, False, ["CUDAExecutionProvider", *CPU_ONLY], Device()),
        (ONNX, True, ["CUDAExecutionProvider", *CPU_ONLY], Device(providers=("CUDAExecutionProvider", *CPU_ONLY))),
        (ONNX, True, list(CPU_ONLY), Device()),  # onnxruntime without CUDA: the CPU, and a warning
        (FP32, False, [], Device()),
        (FP32, True, [], Device(torch_device="cuda", half=True)),
    ],
)
def test_a_worker_uses_its_gpu_when_it_has_one(spec: WorkerSpec, gpu: bool, providers: list, device: Device) -> None:
    assert choose_device(spec, gpu=gpu, onnx_providers=providers) == device


def test_worker_spec_loads_the_drivers_model(fast_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the driver's machine from its cache; on a node without that folder, from the files shipped with it."""
    fast = load_embedder(cache_dir=fast_cache)
    assert isinstance(fast, OnnxEmbedder)
    spec = WorkerSpec.of(fast)
    elsewhere = replace(spec, artefact=str(tmp_path / "absent" / fast.artefact.name))
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "node-tmp"))
    texts = _texts(3)
    shipped = tmp_path / "node-tmp" / "semdigest-artefacts" / fast.artefact.name
    for where, folder in ((spec, fast.artefact), (elsewhere, shipped)):
        worker = load_worker_embedder(where, choose_device(where, gpu=False, onnx_providers=[]))
        assert isinstance(worker, OnnxEmbedder) and worker.model_id == fast.model_id and worker.artefact == folder
        np.testing.assert_array_equal(worker.encode(texts), fast.encode(texts))


def test_fp16_stays_within_the_fp32_model_id(fast_cache: Path) -> None:
    """A GPU worker runs an fp32 model in fp16 and caches it as fp32: fp16 on the CPU stands in for the GPU's
    numerics (not measured on a GPU), on real papers."""
    texts = _texts(12)
    folder = resolve_model(DEFAULT_MODEL)
    fp32 = SentenceTransformerEmbedder(folder, DEFAULT_MODEL)
    spec = WorkerSpec.of(fp32)
    half = load_worker_embedder(spec, Device(torch_device="cpu", half=True))
    assert half.model_id == fp32.model_id == DEFAULT_MODEL
    exact, approximate = fp32.encode(texts), half.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(approximate, axis=1), 1.0, atol=1e-5)
    assert (exact * approximate).sum(axis=1).min() >= 0.9999


def test_unembedded_page_streams_the_store_in_key_order(tmp_path: Path, fast_cache: Path) -> None:
    root = _home(tmp_path / "home", fast_cache)
    with Home.open(root) as home:
        store, model = home.store, "some-model"
        first = store.unembedded_page(model, -1, 25)
        second = store.unembedded_page(model, first[-1][0], 50)
        assert len(first) == 25 and len(second) == 35 and store.unembedded_page(model, second[-1][0], 50) == []
        keys = [key for key, _, _ in first + second]
        assert keys == sorted(keys) and len(set(keys)) == 60
        assert dict((h, t) for _, h, t in first + second) == dict(store.unembedded(model))
        store.put_vectors(model, [first[0][1]], np.ones((1, 4), np.float32) / 2)
        assert store.unembedded_page(model, -1, 1)[0] == first[1]  # a cached text is not read again
