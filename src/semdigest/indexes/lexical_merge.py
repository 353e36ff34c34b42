"""Merging BM25 indexes on disk: the live index and the day's segments (an update), or a build's segments, written
as one new generation's arrays a block of terms at a time, in memory bounded whatever the size."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

if TYPE_CHECKING:
    from .lexical import Bm25Index

BLOCK = 8_000_000  # postings merged at a time (~0.3 GB of temporary arrays)


def _term_blocks(indptr: np.ndarray) -> Iterator[tuple[int, int]]:
    """Ranges of terms holding about BLOCK postings each (a single term may hold more)."""
    first, terms = 0, len(indptr) - 1
    while first < terms:
        last = int(np.searchsorted(indptr, indptr[first] + BLOCK, side="right")) - 1
        last = min(max(last, first + 1), terms)
        yield first, last
        first = last


def _kept_postings(part: Bm25Index, keep: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """The terms (ids) and posting positions of terms first..last-1 whose documents are kept."""
    start, end = int(part.indptr[first]), int(part.indptr[last])
    term = np.repeat(np.arange(first, last), np.diff(part.indptr[first : last + 1]))
    kept = keep[part.doc[start:end]]
    return term[kept], np.flatnonzero(kept) + start


def merge_parts(parts: list[tuple[Bm25Index, np.ndarray]], folder: Path) -> None:
    """Write the union of the parts' kept documents (keys disjoint) as one index's arrays into `folder`, a block
    of the merged vocabulary at a time: each block's postings gathered from every part, sorted by (term, row)
    and appended to the files. Written, not memory-mapped, and each part's pages released after each block:
    a mapped output stayed resident (the 2.7M-paper build peaked at 4.9 GB RSS, 1.6 GB of it the output)."""
    keys = np.sort(np.concatenate([part.keys[keep] for part, keep in parts]))
    doc_len = np.zeros(len(keys), np.float32)
    row_maps, counts = [], []
    for part, keep in parts:
        row_map = np.full(len(part.keys), -1, np.int64)
        row_map[keep] = np.searchsorted(keys, part.keys[keep])
        doc_len[row_map[keep]] = part.doc_len[keep]
        count = np.zeros(len(part.term_hash), np.int64)
        for first, last in _term_blocks(part.indptr):
            term, _ = _kept_postings(part, keep, first, last)
            count[first:last] = np.bincount(term - first, minlength=last - first)
            _release(part.doc, part.tf)
        row_maps.append(row_map)
        counts.append(count)
    vocab = np.unique(np.concatenate([part.term_hash[count > 0] for (part, _), count in zip(parts, counts)]))
    total = np.zeros(len(vocab), np.int64)
    for (part, _), count in zip(parts, counts):
        total[np.searchsorted(vocab, part.term_hash[count > 0])] += count[count > 0]
    indptr = np.zeros(len(vocab) + 1, np.int64)
    np.cumsum(total, out=indptr[1:])
    with open(folder / "doc.npy", "wb") as doc, open(folder / "tf.npy", "wb") as tf:
        for handle, dtype in ((doc, np.int32), (tf, np.uint16)):
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False}
            np.lib.format.write_array_header_1_0(handle, {**header, "shape": (int(indptr[-1]),)})
        for first, last in _term_blocks(indptr):
            terms, rows, tfs = [], [], []
            for (part, keep), row_map in zip(parts, row_maps):
                start = int(np.searchsorted(part.term_hash, vocab[first]))
                end = int(np.searchsorted(part.term_hash, vocab[last - 1], side="right"))
                if start < end:
                    term, position = _kept_postings(part, keep, start, end)
                    terms.append(np.searchsorted(vocab, part.term_hash[start:end])[term - start])
                    rows.append(row_map[part.doc[position]])
                    tfs.append(part.tf[position])
                    _release(part.doc, part.tf)
            row, term = np.concatenate(rows), np.concatenate(terms)
            order = np.lexsort((row, term))
            row[order].astype(np.int32).tofile(doc)
            np.concatenate(tfs)[order].tofile(tf)
        for handle in (doc, tf):
            handle.flush()
            os.fsync(handle.fileno())
    for name, small in (("keys", keys), ("doc_len", doc_len), ("term_hash", vocab), ("indptr", indptr)):
        durable(folder / f"{name}.npy", saver(small))


def _release(*arrays: np.ndarray) -> None:
    """Drop the pages of memory-mapped arrays from this process's memory (they stay in the page cache): a merge
    reads every part once, and mapped pages it touched would otherwise count in its RSS to the end."""
    for array in arrays:
        base: object = array
        while base is not None and not isinstance(base, mmap.mmap):
            base = getattr(base, "_mmap", None) or getattr(base, "base", None)
        if isinstance(base, mmap.mmap):
            base.madvise(mmap.MADV_DONTNEED)


def saver(array: np.ndarray) -> Callable[[BinaryIO], None]:
    return lambda handle: np.save(handle, array)


def durable(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file and fsync it, so that the rename that publishes it cannot outrun its data."""
    with open(path, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
