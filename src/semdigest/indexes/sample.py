"""What scores are calibrated against: a fixed sample of the store, or while the store is small, the reference
sample shipped with the package.

The store sample (8,000 x 384 floats, 12 MB, kept apart from FAISS's state, verified whole on every open)
also measures "hubness" (papers close to everything) without a per-paper statistic to maintain. In a store
of one day it is that day: a percentile against it is only the paper's rank (the top three of 367 papers
score 0.997, 0.995, 0.992 whatever they are about), so until the store holds SAMPLE_SIZE papers scores are
calibrated against REFERENCE, papers drawn once from 78,665 arXiv papers of the six categories the digests
read (bench/make_reference_sample.py). Both are samples of arXiv, so 0.99 means the same on the first day
and the hundredth: on 2025-08-18, the 8 seed topics' scores in a one-day store and in a store with the whole
corpus's BM25 statistics, calibrated against a 4,000-paper sample of it, differ by 0.010 on average (papers
scoring >= 0.9), and all 7 semantic joins of the big store join in the one-day store, which adds 3
(bench/calibration.py).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..embedding.onnx import FAST_SUFFIX
from ..errors import IndexProblem
from ..files import atomic_write
from .lexical import Bm25Index, tokenize

SAMPLE_SIZE = 8000
# In the package's data/: 2,000 papers, 2.3 MiB. Against a 4,000-paper sample of the corpus their scores differ
# by 0.0061 on average (papers scoring >= 0.9; sampling sd at 0.99: 0.0027); 500 papers: 0.0093, 1,000: 0.0096.
REFERENCE = "reference-sample.npz"


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


@dataclass(frozen=True)
class Reference:
    """Papers drawn once from arXiv (their `title + " " + abstract`), with their vectors for one model."""

    ids: list[str]
    texts: list[str]
    model: str
    vectors: np.ndarray  # (len(texts), dim), stored float16: 1e-4 of cosine, far below the sampling error

    def save(self, path: Path) -> None:
        """Compressed; texts as one JSON document (a numpy string array would pad every abstract to the longest)."""
        text = json.dumps({"ids": self.ids, "texts": self.texts}, ensure_ascii=False).encode()

        def write(temp: Path) -> None:
            with open(temp, "wb") as handle:
                np.savez_compressed(
                    handle,
                    model=np.array(self.model),
                    papers=np.frombuffer(text, np.uint8),
                    vectors=np.asarray(self.vectors, np.float16),
                )

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> Reference:
        with np.load(path) as saved:
            papers = json.loads(saved["papers"].tobytes())
            return cls(papers["ids"], papers["texts"], str(saved["model"]), saved["vectors"].astype(np.float32))

    def vectors_for(self, model: str, embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        """The shipped vectors when they are `model`'s (or its int8 variant's: min cosine 0.999 to fp32,
        embedding/build.py), else the texts embedded by `embed` (which caches them in the store)."""
        if model.removesuffix(FAST_SUFFIX) == self.model.removesuffix(FAST_SUFFIX):
            return self.vectors
        return np.asarray(embed(self.texts), np.float32)

    @cached_property
    def lexical(self) -> Bm25Index:
        """The texts' term counts (keys: their positions). Tokenizing 2,000 texts takes 0.4 s of CPU, once per
        process and only while a store is small; shipping the counts would tie the data file to lexical.py's
        internal layout."""
        return Bm25Index.build(range(len(self.texts)), self.texts)


@cache
def shipped_reference() -> Reference:
    return Reference.load(Path(str(files("semdigest") / "data" / REFERENCE)))


@dataclass(frozen=True)
class Calibration:
    """The papers a score is calibrated against: their vectors, and their BM25 on the store's statistics."""

    vectors: np.ndarray
    store: Bm25Index  # the store's BM25 index
    sample_keys: np.ndarray  # the store sample's keys in it (none when the papers are `reference`'s)
    reference: Reference | None
    against: str  # what a score of 0.99 is "more relevant than 99% of"

    @classmethod
    def of(
        cls,
        sample: Sample,
        store: Bm25Index,
        embed: Callable[[Sequence[str]], np.ndarray],
        reference: Callable[[], Reference] = shipped_reference,
    ) -> Calibration:
        """The store sample once it is full (the store holds SAMPLE_SIZE indexed papers), else `reference`."""
        if len(sample.keys) >= SAMPLE_SIZE:
            return cls(sample.vectors, store, sample.keys, None, "the store")
        papers = reference()
        vectors = papers.vectors_for(sample.model, embed)
        return cls(vectors, store, sample.keys[:0], papers, "a reference sample of arXiv")

    def bm25(self, query: str, idf_keys: np.ndarray | None, store_scores: np.ndarray) -> np.ndarray:
        """BM25 of `query` for the calibration papers, with IDF from the stored papers `idf_keys` (None: all);
        `store_scores`: every stored paper's score for the same query, which a store sample picks from."""
        if self.reference is None:
            return self.store.pick(store_scores, self.sample_keys)
        return _bm25_as_if_stored(self.store, self.reference.lexical, query, idf_keys)


def _bm25_as_if_stored(store: Bm25Index, papers: Bm25Index, query: str, idf_keys: np.ndarray | None) -> np.ndarray:
    """BM25 of `query` for `papers` (not stored) as if they were stored: each query term weighs its IDF among the
    stored papers (`idf_keys`, else all), times its frequency part in each paper, taken from `papers`' own
    BM25 by dividing out their IDF. Their lengths are normalised by their own average length (arXiv abstracts
    either way). A term no stored paper has gets the IDF of a term in none of them: the papers ranked do not
    have it, and the reference papers that do ("protein" against a day without biology) stand out, as they
    would in a store holding them."""
    total = np.zeros(len(papers.keys), np.float64)
    for term, count in Counter(tokenize(query)).items():
        stored = store.term_scores([term])
        among = stored if idf_keys is None else store.pick(stored, idf_keys)
        own = papers.term_scores([term]).astype(np.float64)
        total += count * own * _idf(len(among), int((among > 0).sum())) / _idf(len(own), int((own > 0).sum()))
    return total.astype(np.float32)


def _idf(documents: int, containing: int) -> float:
    """BM25's (Lucene's) IDF, as lexical.py weighs a term."""
    return float(np.log1p((documents - containing + 0.5) / (containing + 0.5)))
