"""The fast embedding path at run time: an int8 ONNX model (built by build.py) run by onnxruntime and
tokenizers, no torch; and the layout of its artefact in the cache directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FAST_SUFFIX = "+onnx-int8"  # appended to model_id: int8 vectors differ from fp32 ones, so they are cached apart
MIN_COSINE = 0.99  # worst probe text's cosine to fp32 below which the fast artefact is not used
RECIPE = 1  # bump whenever the build changes, so that artefacts built the old way are rebuilt


class FastPathUnavailable(Exception):
    """The folder cannot be converted, or its int8 vectors are too far from the fp32 ones."""


class OnnxEmbedder:
    """The fast path: onnxruntime + tokenizers, no torch. One text per run, one thread per run, runs in parallel.

    Measured on 2 cores: one unpadded text per run beats padded batches of 4-64 (attention scores stay in cache,
    no padding), and a worker per core with intra_op_num_threads=1 beats one run on 2 threads (96 vs 80 papers/s
    on a quiet machine, 45 vs 34 on a busy one, where spinning intra-op threads lose most). It also makes a text's
    vector independent of its batch mates: dynamic quantisation scales activations per run, so a Ray worker's
    vectors equal this process's. Each worker thread tokenises its own text and every text is queued at once:
    tokenising a batch in the calling thread between runs left both cores idle for ~10% of the time (1.6-2.6 ms
    a text against ~20 ms a run) and the batch barrier idled one core at each batch's tail.
    `providers`: onnxruntime's execution providers in order of preference (a Ray worker with a GPU puts CUDA's
    first; the int8 operators CUDA lacks then run on the CPU provider).
    """

    def __init__(
        self,
        artefact: Path,
        meta: dict[str, Any],
        model_id: str,
        *,
        workers: int | None = None,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(artefact / "model.onnx"), options, providers=list(providers))
        self._tokenizer = Tokenizer.from_file(str(artefact / "tokenizer.json"))  # truncation baked in
        self._lower = bool(meta["lower"])
        self._workers = workers or cpu_count()
        self.artefact, self.meta, self.base_model_id = artefact, meta, model_id
        self.model_id = model_id + FAST_SUFFIX
        self.dim = int(meta["dim"])

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """batch_size only paces `progress`: every text is its own run."""
        out = np.empty((len(texts), self.dim), np.float32)
        with ThreadPoolExecutor(self._workers) as pool:
            for row, vector in enumerate(pool.map(self._embed, texts)):
                out[row] = vector
                if progress and ((row + 1) % batch_size == 0 or row + 1 == len(texts)):
                    progress((row % batch_size) + 1)
        return out

    def _embed(self, text: str) -> np.ndarray:
        # sentence-transformers strips (and lowercases if its config says so) before tokenising.
        ids = self._tokenizer.encode(text.strip().lower() if self._lower else text.strip()).ids
        input_ids = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}
        return self._session.run(None, feed)[0][0]


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- the artefact in the cache directory ---------------------------------------------------------------------


def artefact_dir(cache_dir: Path, model_id: str, folder: Path) -> Path:
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


def read_meta(artefact: Path) -> dict[str, Any] | None:
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
