"""The calibration sample: a fixed sample of the store's vectors, kept apart from FAISS's state.

It calibrates scores (how a paper compares with the whole store) and measures "hubness" (papers close to
everything) without a per-paper statistic to maintain. Small (8,000 x 384 floats, 12 MB), so it is
verified whole on every open.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexProblem
from ..files import atomic_write

SAMPLE_SIZE = 8000


@dataclass(frozen=True)
class Sample:
    model: str
    keys: np.ndarray  # int64, sorted
    vectors: np.ndarray  # float32 (len(keys), dim), the keys' cached vectors

    @classmethod
    def choose(
        cls,
        model: str,
        keys: Iterable[int],
        vectors_of: Callable[[list[int]], np.ndarray],
        dim: int,
        size: int = SAMPLE_SIZE,
    ) -> Sample:
        """The `size` keys of smallest (mixed) hash, so the sample changes little as the store grows."""
        every = np.fromiter(keys, dtype=np.int64)
        mixed = (every.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(1)
        chosen = np.sort(every[np.argsort(mixed, kind="stable")[:size]])
        vectors = (
            np.ascontiguousarray(vectors_of(chosen.tolist()), dtype=np.float32)
            if len(chosen)
            else np.zeros((0, dim), np.float32)
        )
        return cls(model, chosen, vectors)

    def save(self, path: Path) -> None:
        def write(temp: Path) -> None:
            with open(temp, "wb") as handle:
                np.savez(
                    handle,
                    model=np.array(self.model),
                    keys=self.keys,
                    vectors=self.vectors,
                    crc=np.array(_crc(self.keys, self.vectors), dtype=np.uint32),
                )

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> Sample:
        if not path.exists():
            raise IndexProblem(f"no calibration sample at {path} yet")
        try:
            with np.load(path) as saved:
                sample = cls(str(saved["model"]), saved["keys"], saved["vectors"])
                crc = int(saved["crc"])
        except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile) as error:
            raise IndexProblem(f"{path} is damaged ({str(error).splitlines()[0][:100]})") from None
        if crc != _crc(sample.keys, sample.vectors) or len(sample.keys) != len(sample.vectors):
            raise IndexProblem(f"{path} is damaged (checksum mismatch)")
        return sample


def _crc(keys: np.ndarray, vectors: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(vectors).tobytes(), zlib.crc32(np.ascontiguousarray(keys).tobytes()))
