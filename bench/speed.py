"""Speed benchmarks (not tests): prints Markdown tables.

    PYTHONPATH=src .venv/bin/python bench/speed.py                  # every section
    PYTHONPATH=src .venv/bin/python bench/speed.py --only embedding --papers 1000 --rounds 5

Timings on shared 2-core machines drift 2x from minute to minute, so variants run interleaved (one round of
each, then the next round) and the table reports medians. Each variant runs in its own process, so that its
peak RSS is its own and the fast path's process never imports torch.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

CORPUS = Path("/work/shared/corpus/papers.jsonl.gz")
CACHE = Path(__file__).parent / ".cache"


def sample_texts(n: int, seed: int = 0) -> list[str]:
    """n real papers' embedded texts (title + abstract, as Paper.text), the same n for a given seed."""
    from semdigest.paper import Paper

    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    chosen = random.Random(seed).sample(rows, n)
    return [Paper(id=r["id"], title=r["title"], abstract=r["abstract"]).text for r in chosen]


def top_k_agreement(reference: np.ndarray, other: np.ndarray, k: int = 10) -> float:
    """Mean share of each paper's k nearest neighbours (itself excluded) that both vector sets agree on."""
    def neighbours(vectors: np.ndarray) -> np.ndarray:
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        return np.argpartition(-similarity, k, axis=1)[:, :k]

    pairs = zip(neighbours(reference), neighbours(other))
    return float(np.mean([len(set(a) & set(b)) / k for a, b in pairs]))


# --- embedding --------------------------------------------------------------------------------------------------


def _embedding_worker(conn: Connection, fast: bool, texts: list[str], batch_size: int) -> None:
    """Loads one embedder, then encodes all texts each time it is asked; replies (seconds, vectors, peak RSS)."""
    from semdigest.embed import load_embedder

    start = time.perf_counter()
    embedder = load_embedder(cache_dir=CACHE, fast=fast)
    conn.send((embedder.model_id, time.perf_counter() - start))
    while conn.recv() == "encode":
        start = time.perf_counter()
        vectors = embedder.encode(texts, batch_size=batch_size)
        seconds = time.perf_counter() - start
        conn.send((seconds, vectors, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def _build_fast() -> None:
    from semdigest.embed import load_embedder

    load_embedder(cache_dir=CACHE)


def bench_embedding(args: argparse.Namespace) -> str:
    texts = sample_texts(args.papers)
    variants = {"sentence-transformers fp32 (baseline)": False, "fast path (onnxruntime int8)": True}
    spawn = multiprocessing.get_context("spawn")
    builder = spawn.Process(target=_build_fast)  # apart: building imports torch, which would inflate peak RSS
    builder.start()
    builder.join()
    workers, processes = {}, []
    for name, fast in variants.items():
        mine, theirs = spawn.Pipe()
        processes.append(spawn.Process(target=_embedding_worker, args=(theirs, fast, texts, args.batch_size)))
        processes[-1].start()
        workers[name] = (mine, *mine.recv())
    rates: dict[str, list[float]] = {name: [] for name in variants}
    vectors: dict[str, np.ndarray] = {}
    peak: dict[str, int] = {}
    for round_ in range(args.rounds):
        for name, (conn, *_) in workers.items():
            conn.send("encode")
            seconds, vectors[name], peak[name] = conn.recv()
            rates[name].append(len(texts) / seconds)
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {r[-1]:.1f}/s" for n, r in rates.items()), file=sys.stderr)
    for conn, *_ in workers.values():
        conn.send("stop")
    for process in processes:
        process.join()
    reference = vectors[next(iter(variants))]
    rows = ["| variant | model_id | papers/s (median) | runs | load s | cosine mean | cosine min | top-10 agreement"
            " | peak RSS |", "|---|---|---|---|---|---|---|---|---|"]
    for name, (_, model_id, load) in workers.items():
        cosine = (reference * vectors[name]).sum(axis=1)
        runs = " ".join(f"{r:.1f}" for r in rates[name])
        rows.append(f"| {name} | {model_id} | {statistics.median(rates[name]):.1f} | {runs} | {load:.1f} "
                    f"| {cosine.mean():.4f} | {cosine.min():.4f} | {top_k_agreement(reference, vectors[name]):.3f} "
                    f"| {peak[name] / 2**30:.2f} GB |")
    return (f"### embedding: {len(texts)} papers from {CORPUS.name}, batch {args.batch_size}, "
            f"{args.rounds} interleaved rounds, {os.cpu_count()} CPUs, load average before "
            f"{args.load_before}\n\n" + "\n".join(rows))


SECTIONS: dict[str, Callable[[argparse.Namespace], str]] = {"embedding": bench_embedding}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    for section in chosen:
        args.load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(SECTIONS[section](args) + "\n")


if __name__ == "__main__":
    main()
