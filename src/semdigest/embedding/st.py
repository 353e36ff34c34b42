"""The reference embedder: sentence-transformers' own fp32 encode, loaded fully offline."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def go_offline() -> None:
    # The model is always local: never let huggingface_hub or transformers try the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # transformers' "Loading weights" bars would interleave with semdigest's own progress line
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def dimension_of(model: Any) -> int:
    # sentence-transformers 6 renamed the method (the old name warns); 5.x has only the old one.
    return int(getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)())


class SentenceTransformerEmbedder:
    """sentence-transformers fp32 on the CPU (or `device`, e.g. "cuda" on a Ray worker with a GPU).

    `half`: fp16 weights and activations (a GPU's tensor cores). The vectors keep the fp32 model_id: fp16 stays
    within cosine 0.9999 of fp32 (tests/embedding/test_distributed.py measures it on the CPU), far closer than
    the int8 path's 0.99 that gets an id of its own.
    """

    def __init__(self, folder: Path, model_id: str, *, device: str = "cpu", half: bool = False) -> None:
        go_offline()
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device=device)
        if half:
            self._model.half()
        self.folder, self.model_id, self._half = folder, model_id, half
        self.dim = dimension_of(self._model)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        # Longest first, as sentence-transformers orders one big call: batches of similar length pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._model.encode(
                [texts[i] for i in rows], batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            if progress:
                progress(len(rows))
        if self._half:  # normalised in fp16: off unit length by up to ~1e-3, which the store reads as damage
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
