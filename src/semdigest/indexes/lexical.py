"""The lexical half of the hybrid score: BM25 over `title + " " + abstract`, numpy only.

Why not bm25s at run time: `import bm25s` pulls scipy and tqdm (0.12 s here) and its load parses a
JSON vocabulary (0.05 s at 78k papers), so `semdigest similar <id>` would take 0.33 s against a
0.3 s budget (this module: 0.18 s, two thirds of it numpy's import). bm25s also bakes IDF into every
posting, so adding a day's papers means recomputing them all. This index keeps raw term counts in a
term-major (CSC-like) layout and applies IDF and length normalisation at query time: statistics
always describe the whole store, an incremental update only tokenizes the new papers, and a load
memory-maps six arrays (no vocabulary to parse: terms are sorted 64-bit hashes). Scores equal bm25s'
"lucene" variant for the same tokens (checked in tests/test_lexical.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexDamaged, IndexProblem
from .lexical_merge import durable, merge_parts, saver

# Lucene's English stop list (as bm25s uses): short on purpose; IDF already discounts what is
# frequent, and a longer list (sklearn's 318 words) measured no better.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then"
    " there these they this to was will with".split()
)
_WORD = re.compile(r"\w\w+")  # tokens of two or more word characters, like bm25s and sklearn
K1, B = 1.2, 0.75  # the usual defaults; k1 0.9-2.0 and b 0.5-0.9 moved fused results < 0.01
_ARRAYS = ("keys", "doc_len", "term_hash", "indptr", "doc", "tf")
_POINTER = "CURRENT"  # names the live generation inside an index directory
# Saved with each index and checked on load: change it whenever tokenize() changes, so that an old
# index is rebuilt instead of silently matching nothing.
# /2: the same tokens, postings now sorted by row within each term (lookups binary-search them; an index of
# /1 may hold a replaced paper's postings out of order, so it is rebuilt).
TOKENIZER = "w2+lucene33+sstem/2"
SEGMENT = 50_000  # texts tokenized into one segment in memory before it goes to disk
# Peak RSS of a whole build: 0.96 GB at 78k papers (one segment), 1.04 GB at 250k (5 segments), 0.89 GB at 2.7M
# (55 segments, merged by lexical_merge a block at a time).
CANDIDATE_POSTINGS = 4_000_000  # postings `best` reads at most (~40 ms): every term's below ~200,000 papers


def _stem(word: str) -> str:
    """Harman's S-stemmer (plurals only): "models" must match "model". Snowball (PyStemmer, a
    compiled dependency) measured within 0.01 of it once fused with the dense score."""
    if len(word) > 3 and word.endswith("ies") and word[-4] not in "ae":
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and word[-3] not in "aeo":
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and word[-2] not in "us":
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase, split on non-word characters, drop stop words and single characters, stem."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def term_hash(term: str) -> int:
    """Stable 64-bit id of a term (Python's hash() changes per process); collisions among a few
    million terms have probability ~1e-7."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")


class Bm25Index:
    """Postings of the term with hash term_hash[t] are rows doc[indptr[t]:indptr[t+1]] with counts
    tf[...]; rows are sorted by key so that looking up candidates is a binary search."""

    def __init__(
        self,
        keys: np.ndarray,
        doc_len: np.ndarray,
        term_hash: np.ndarray,
        indptr: np.ndarray,
        doc: np.ndarray,
        tf: np.ndarray,
    ) -> None:
        self.keys, self.doc_len, self.term_hash = keys, doc_len, term_hash  # int64, f32, uint64
        self.indptr, self.doc, self.tf = indptr, doc, tf  # int64, int32, uint16
        self._norm: np.ndarray | None = None  # per-document length normalisation, computed lazily

    @classmethod
    def build(cls, keys: Sequence[int] | np.ndarray, texts: Sequence[str]) -> Bm25Index:
        """An index of `texts` (title + " " + abstract) under unique integer `keys`."""
        return cls.empty().add(keys, texts)

    @classmethod
    def empty(cls) -> Bm25Index:
        empty = np.zeros(0, np.int64)
        return cls(
            empty,
            np.zeros(0, np.float32),
            np.zeros(0, np.uint64),
            np.zeros(1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.uint16),
        )

    def add(self, keys: Sequence[int] | np.ndarray, texts: Sequence[str]) -> Bm25Index:
        """A new index with `texts` added; a key already present is replaced (a revised abstract).
        Only the new texts are tokenized: old postings are re-sorted, not recomputed."""
        new_keys = np.asarray(keys, dtype=np.int64)
        if len(new_keys) != len(texts) or len(np.unique(new_keys)) != len(new_keys):
            raise ValueError("keys must be unique and match texts one to one")
        return self._merge(np.isin(self.keys, new_keys), new_keys, texts)

    def remove(self, keys: Sequence[int]) -> Bm25Index:
        """A new index without `keys` (unknown keys are ignored)."""
        return self._merge(np.isin(self.keys, np.asarray(keys, np.int64)), np.zeros(0, np.int64), [])

    def _merge(self, drop: np.ndarray, new_keys: np.ndarray, texts: Sequence[str]) -> Bm25Index:
        """Old postings minus the `drop`ped rows, plus the new texts' postings, re-sorted by term;
        rows are renumbered so that they stay in key order."""
        keep = ~drop
        all_keys = np.concatenate([self.keys[keep], new_keys])
        order = np.argsort(all_keys, kind="stable")
        row_of = np.empty(len(order), np.int64)
        row_of[order] = np.arange(len(order))  # position in all_keys -> final row
        alive = keep[self.doc]
        posting_term = np.repeat(np.arange(len(self.term_hash)), np.diff(self.indptr))
        hashes = [self.term_hash[posting_term[alive]]]
        rows = [row_of[(np.cumsum(keep) - 1)[self.doc[alive]]]]
        counts = [self.tf[alive].astype(np.int64)]
        lens: list[int] = []
        seen: dict[str, int] = {}
        for pos, text in enumerate(texts, start=int(keep.sum())):
            tokens = tokenize(text)
            lens.append(len(tokens))
            h = np.fromiter(
                (seen[t] if t in seen else seen.setdefault(t, term_hash(t)) for t in tokens), np.uint64, len(tokens)
            )
            uniq, cnt = np.unique(h, return_counts=True)
            hashes.append(uniq)
            rows.append(np.full(len(uniq), row_of[pos], np.int64))
            counts.append(cnt)
        vocab, term = np.unique(np.concatenate(hashes), return_inverse=True)
        row, tf = np.concatenate(rows), np.concatenate(counts)
        by_term = np.lexsort((row, term))
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(np.bincount(term, minlength=len(vocab)), out=indptr[1:])
        doc_len = np.concatenate([self.doc_len[keep], np.asarray(lens, np.float32)])
        return Bm25Index(
            all_keys[order],
            doc_len[order],
            vocab,
            indptr,
            row[by_term].astype(np.int32),
            np.minimum(tf[by_term], 65535).astype(np.uint16),
        )

    def scores(
        self,
        query: str,
        keys: Sequence[int] | np.ndarray | None = None,
        idf_keys: Sequence[int] | np.ndarray | None = None,
    ) -> np.ndarray:
        """BM25 of `query` for every document (in key order) or for `keys` (in that order; a key
        not in the index scores 0). IDF and average length come from the whole index, so a paper's
        score does not depend on which candidates it is ranked among; `idf_keys` takes the IDF from
        those documents instead (the pool being ranked: terms that all of it shares weigh little)."""
        return self.term_scores(tokenize(query), keys, idf_keys)

    def term_scores(
        self,
        terms: Sequence[str],
        keys: Sequence[int] | np.ndarray | None = None,
        idf_keys: Sequence[int] | np.ndarray | None = None,
    ) -> np.ndarray:
        """`scores` for an already tokenized query; a repeated term counts once per occurrence,
        as in Lucene and bm25s. For `keys` alone, only their postings are looked up (`_scores_of`)."""
        t, qtf = self._terms(terms)
        if keys is not None and idf_keys is None:
            return self._scores_of(t, qtf, keys)
        out = self._every_score(t, qtf, idf_keys)
        return out if keys is None else self.pick(out, keys)

    def best(self, terms: Sequence[str], k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Keys of the k papers (of the `allowed` keys) that score highest for the tokenized query over its rarest
        terms, best first, those scoring 0 left out: the query's terms by ascending document frequency, as many as
        hold CANDIDATE_POSTINGS postings. At 2.7M papers a paper-length query touches ~40M postings, 85% of them
        of its terms found in over a tenth of all papers, whose low IDF moves a ranking least: scoring every
        posting took ~1 s, the whole budget of `similar` being 0.3 s. Below ~200,000 papers every term fits: the
        exact top k of `scores`, the same order (ties by key)."""
        n = len(self.keys)
        t, qtf = self._terms(terms)
        if not len(t) or not n:
            return np.zeros(0, np.int64)
        df = self.indptr[t + 1] - self.indptr[t]
        by_rarity = np.argsort(df, kind="stable")
        fits = int(np.searchsorted(np.cumsum(df[by_rarity]), CANDIDATE_POSTINGS, side="right"))
        chosen = np.sort(by_rarity[: max(fits, 1)])  # back in term order: sums as `scores` adds them
        scores = self._every_score(t[chosen], qtf[chosen])
        if allowed is not None:
            row, found = self._locate(allowed)
            mask = np.zeros(n, bool)
            mask[row[found]] = True
            scores[~mask] = 0
        top = top_n(scores, k)
        return self.keys[top[scores[top] > 0]]

    def _every_score(
        self, t: np.ndarray, qtf: np.ndarray, idf_keys: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """BM25 of the terms `t` (counted `qtf` times) for every document, in key order, from their postings."""
        n = len(self.keys)
        if not len(t) or not n:
            return np.zeros(n, np.float32)
        df = self.indptr[t + 1] - self.indptr[t]
        rows = np.concatenate([self.doc[self.indptr[i] : self.indptr[i + 1]] for i in t])
        _check_postings(rows, df, n)
        if idf_keys is None:
            weight = self._idf_weights(t, qtf)
        else:  # document frequencies among the idf_keys documents only
            member = np.zeros(n, bool)
            row, found = self._locate(idf_keys)
            member[row[found]] = True
            in_pool = np.bincount(np.repeat(np.arange(len(t)), df), weights=member[rows], minlength=len(t))
            m = int(member.sum())
            weight = (qtf * np.log1p((m - in_pool + 0.5) / (in_pool + 0.5))).astype(np.float32)
        tf = np.concatenate([self.tf[self.indptr[i] : self.indptr[i + 1]] for i in t]).astype(np.float32)
        part = np.repeat(weight, df) * tf / (tf + self._length_norm()[rows])
        return np.bincount(rows, weights=part, minlength=n).astype(np.float32)

    def _terms(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The query's terms that the index holds (term ids, ascending) and how often the query has each."""
        h = np.fromiter((term_hash(t) for t in terms), np.uint64, len(terms))
        t = np.searchsorted(self.term_hash, h).clip(0, max(len(self.term_hash) - 1, 0))
        t = t[self.term_hash[t] == h] if len(self.term_hash) else t[:0]
        if not len(t):
            return t.astype(np.int64), np.zeros(0, np.int64)
        found, qtf = np.unique(t, return_counts=True)
        return found, qtf

    def _idf_weights(self, t: np.ndarray, qtf: np.ndarray) -> np.ndarray:
        n, df = len(self.keys), self.indptr[t + 1] - self.indptr[t]
        return (qtf * np.log1p((n - df + 0.5) / (df + 0.5))).astype(np.float32)

    def _scores_of(self, t: np.ndarray, qtf: np.ndarray, keys: Sequence[int] | np.ndarray) -> np.ndarray:
        """BM25 of these keys only, each term's postings binary-searched for their rows (postings are sorted by
        row within a term): ~1 ms for `similar`'s 600 candidates at 2.7M papers, where scoring all papers
        reads every posting of the query's terms. The same operations in the same order as `term_scores`:
        the same floats."""
        row, found = self._locate(keys)
        total = np.zeros(len(row), np.float64)
        if len(t) and found.any():
            norm = self._length_norm()[row]
            for term, weight in zip(t.tolist(), self._idf_weights(t, qtf)):
                start, end = int(self.indptr[term]), int(self.indptr[term + 1])
                if end <= start:
                    continue
                postings = self.doc[start:end]
                at = np.searchsorted(postings, row).clip(0, end - start - 1)
                tf = np.where(postings[at] == row, self.tf[start:end][at], 0).astype(np.float32)
                total += weight * tf / (tf + norm)
        return np.where(found, total, 0.0).astype(np.float32)

    def _locate(self, keys: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each key, its row (clipped into range) and whether that row really holds the key."""
        n = len(self.keys)
        want = np.asarray(keys, np.int64)
        row = np.searchsorted(self.keys, want).clip(0, max(n - 1, 0))
        return row, (self.keys[row] == want if n else np.zeros(len(want), bool))

    def pick(self, scores: np.ndarray, keys: Sequence[int] | np.ndarray) -> np.ndarray:
        """From all documents' scores (in key order), those of `keys`, in that order (0 for a key not
        in the index): one scoring pass serves several candidate sets."""
        row, found = self._locate(keys)
        return np.where(found, scores[row] if len(self.keys) else 0.0, 0.0).astype(np.float32)

    def _length_norm(self) -> np.ndarray:
        """k1 * (1 - b + b * len / avg_len) per document, computed once per loaded index."""
        if self._norm is None:
            ratio = self.doc_len / max(float(np.mean(self.doc_len)), 1e-9)
            self._norm = (K1 * (1 - B + B * ratio)).astype(np.float32)
        return self._norm

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write a new generation beside the live one, then switch the CURRENT pointer with
        os.replace: a reader sees the old index or the new one, never half of one. One writer at a
        time (the caller holds semdigest.lock.writer_lock)."""

        def write(generation: Path) -> None:
            for name in _ARRAYS:
                durable(generation / f"{name}.npy", saver(np.ascontiguousarray(getattr(self, name))))

        _publish(Path(directory), write)

    @classmethod
    def build_into(
        cls, directory: str | os.PathLike[str], keys: np.ndarray, texts_of: Callable[[list[int]], list[str]]
    ) -> None:
        """`build(keys, texts_of(keys))` saved in `directory`, in memory bounded by a segment whatever the size."""
        cls.empty().update_into(directory, [], keys, texts_of)

    def update_into(
        self,
        directory: str | os.PathLike[str],
        removed: Sequence[int] | np.ndarray,
        added: Sequence[int] | np.ndarray,
        texts_of: Callable[[list[int]], list[str]],
    ) -> None:
        """Save in `directory`, as its new generation, this index without `removed` and with `added` (a key
        here already is replaced: a revised abstract); `texts_of(keys)` reads their texts.

        Memory stays bounded at any size (2.3 GB at 78k papers when everything was built in memory): the added
        texts are tokenized SEGMENT at a time into segments written to disk, then this index's postings and the
        segments' are merged term by term into the new generation's files, a block of postings at a time.
        Scores and arrays equal `remove(removed).add(added, texts)`'s."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        added = np.asarray(added, np.int64)
        drop = np.isin(self.keys, np.concatenate([np.asarray(removed, np.int64), added]))
        with tempfile.TemporaryDirectory(dir=root, prefix="segments-", ignore_cleanup_errors=True) as scratch:
            parts: list[tuple[Bm25Index, np.ndarray]] = [(self, ~drop)]
            for start in range(0, len(added), SEGMENT):
                chunk = added[start : start + SEGMENT]
                segment = Path(scratch) / f"s{start}"
                segment.mkdir()
                Bm25Index.empty().add(chunk, texts_of(chunk.tolist()))._write_arrays(segment)
                parts.append((Bm25Index(*_mapped(segment)), np.ones(len(chunk), bool)))
            _publish(root, lambda generation: merge_parts(parts, generation))

    def _write_arrays(self, folder: Path) -> None:
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(self, name)))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Bm25Index:
        """Memory-map the arrays: a query reads only its own terms' postings. Re-reads CURRENT if a
        writer replaced the generation between reading the pointer and opening its files."""
        root = Path(directory)
        for attempt in range(3):
            try:
                gen = root / (root / _POINTER).read_text(encoding="utf-8").strip()
                built_with = (gen / "tokenizer.txt").read_text(encoding="utf-8")
                # plain ndarray views of the maps: slicing an np.memmap costs ~20 us of Python each time
                arrays = [np.load(gen / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in _ARRAYS]
            except FileNotFoundError as error:
                if attempt == 2:
                    raise IndexProblem(f"BM25 index in {root} is missing a file ({error.filename})") from None
                continue
            except (OSError, ValueError) as error:
                raise IndexProblem(f"BM25 index in {root} is damaged ({error})") from None
            if built_with != TOKENIZER:
                raise IndexProblem(f"BM25 index in {gen} was built with tokenizer {built_with!r}, not {TOKENIZER!r}")
            if not _consistent(*arrays):
                raise IndexProblem(f"BM25 index in {root} is damaged (its arrays disagree)")
            return cls(*arrays)
        raise AssertionError("unreachable")


def _consistent(
    keys: np.ndarray, doc_len: np.ndarray, term_hash: np.ndarray, indptr: np.ndarray, doc: np.ndarray, tf: np.ndarray
) -> bool:
    postings = int(indptr[-1]) if len(indptr) else 0
    return len(keys) == len(doc_len) and len(indptr) == len(term_hash) + 1 and len(doc) == len(tf) == postings


def _check_postings(rows: np.ndarray, df: np.ndarray, n: int) -> None:
    """The postings a query read must be rows of the index, as many as the offsets say: damaged offsets or
    rows would crash the scoring (IndexError, ValueError) or score the wrong papers."""
    if (df < 0).any() or len(rows) != int(df.sum()) or (len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n)):
        raise IndexDamaged("the BM25 index holds postings that point nowhere: its files are damaged")


def _publish(root: Path, write: Callable[[Path], None]) -> None:
    """A new generation written by `write(folder)` beside the live one, then the CURRENT pointer switched
    (os.replace); earlier generations and leftovers of interrupted writes are removed."""
    root.mkdir(parents=True, exist_ok=True)
    gen = f"g{time.time_ns()}-{os.getpid()}"
    tmp = root / (gen + ".tmp")
    tmp.mkdir()
    write(tmp)
    durable(tmp / "tokenizer.txt", lambda f: f.write(TOKENIZER.encode()))
    os.replace(tmp, root / gen)
    durable(root / "CURRENT.tmp", lambda f: f.write(gen.encode()))
    os.replace(root / "CURRENT.tmp", root / _POINTER)
    for old in root.iterdir():
        if old.is_dir() and old.name != gen:
            shutil.rmtree(old, ignore_errors=True)


def _mapped(folder: Path) -> list[np.ndarray]:
    # plain ndarray views of the maps: slicing an np.memmap costs ~20 us of Python each time
    return [np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in _ARRAYS]


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """`np.argsort(-scores, kind="stable")[:n]` without sorting everything: at 2.7M papers the full sort took
    0.25 s of `similar`'s 0.3 s. The n-th best score is found by partition; ties with it are kept in index order."""
    if len(scores) <= n:
        return np.argsort(-scores, kind="stable")
    cut = scores[np.argpartition(-scores, n - 1)[:n]].min()
    above = np.flatnonzero(scores > cut)
    chosen = np.concatenate([above, np.flatnonzero(scores == cut)[: n - len(above)]])
    return chosen[np.argsort(-scores[chosen], kind="stable")]
