"""Bulk embedding throughput (not a test): `semdigest index` in one process against `--engine ray` on a local Ray
with 1 and 2 workers, on the same real papers; prints one Markdown report.

    .venv/bin/python bench/cluster.py                        # 1,000 papers, 3 interleaved rounds
    .venv/bin/python bench/cluster.py --papers 2000 --rounds 5
    .venv/bin/python bench/cluster.py --only pipeline        # the single process's pipeline, before and now

Each run is Home.index on a fresh copy of one home holding the papers without vectors (the int8 artefact already
in its cache), timed end to end as a user meets it: the Ray rows include starting the local Ray and its actor pool
(printed apart as "Ray start"). Variants run interleaved (one round of each, then the next) because timings on
shared 2-core machines drift 2x minute to minute: compare the ratios, not the papers/s. The vectors of every
variant are checked equal to the single process's. Budgets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from speedkit import CORPUS, fast_artefact, load_average, machine, scratch, table

VARIANTS = {  # name: Home.index keyword arguments
    "single process (2 threads)": {},
    "Ray local, 1 worker": {"engine": "ray", "workers": 1},
    "Ray local, 2 workers": {"engine": "ray", "workers": 2},
}


def sample_file(path: Path, count: int, seed: int = 0) -> Path:
    """`count` real papers of the corpus, in the snapshot format `ingest` reads."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        rows = random.Random(seed).sample(f.readlines(), count)
    path.write_text("".join(rows), encoding="utf-8")
    return path


def base_home(root: Path, papers: Path) -> Path:
    from semdigest import Home
    from semdigest.layout import Layout

    artefact = fast_artefact()
    shutil.copytree(artefact, Layout(root).cache / artefact.name)
    with Home.open(root) as home:
        home.ingest(papers)
    return root


def run(base: Path, work: Path, options: dict) -> tuple[float, int, dict[str, np.ndarray]]:
    """Seconds of one Home.index on a fresh copy of `base`, texts embedded, and the vectors by content hash."""
    from semdigest import Home

    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    with Home.open(work) as home:
        start = time.perf_counter()
        result = home.index(**options)
        seconds = time.perf_counter() - start
        model = home.indexes.open().model
        hashes = home.store.embedded(model)
        keys = sorted(hashes)
        vectors = dict(zip((hashes[k] for k in keys), home.store.vectors(model, keys)))
    return seconds, result.embedded, vectors


def ray_start_seconds() -> float:
    """A local Ray's start and shutdown alone (what a small run pays on top of the embedding)."""
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.shutdown()
    return time.perf_counter() - start


def bench_pipeline(args: argparse.Namespace) -> str:
    """OnnxEmbedder.encode now (every text queued at once, tokenised in the worker threads) against the pipeline
    before it (a batch of 32 tokenised in the calling thread, then run, then the next): papers/s, CPU ms a paper,
    and session.run's own CPU a paper, the floor. CPU time is what a loaded machine distorts least."""
    from concurrent.futures import ThreadPoolExecutor

    from semdigest.embedding.onnx import OnnxEmbedder, read_meta

    artefact = fast_artefact()
    embedder = OnnxEmbedder(artefact, read_meta(artefact) or {}, "bench")
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        texts = [
            f"{r['title']} {r['abstract']}"
            for r in map(json.loads, random.Random(0).sample(f.readlines(), args.papers))
        ]
    run_cpu = [0.0]

    def run(ids: list[int]) -> np.ndarray:
        start = time.thread_time()
        input_ids = np.asarray([ids], dtype=np.int64)
        vector = embedder._session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})[0][0]
        run_cpu[0] += time.thread_time() - start  # float += under the GIL: two threads lose nothing measurable
        return vector

    def before() -> np.ndarray:
        out = np.empty((len(texts), embedder.dim), np.float32)
        with ThreadPoolExecutor(2) as pool:
            for start in range(0, len(texts), 32):
                chunk = [text.strip().lower() for text in texts[start : start + 32]]
                ids = [encoding.ids for encoding in embedder._tokenizer.encode_batch(chunk)]
                out[start : start + len(chunk)] = list(pool.map(run, ids))
        return out

    variants = {
        "before: batches of 32, tokenised by the caller": before,
        "now: all queued, tokenised by the workers": lambda: embedder.encode(texts),
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    reference = before()
    run_cpu[0] = 0.0
    for _ in range(args.rounds):
        for name, encode in variants.items():
            cpu_start, start = sum(os.times()[:2]), time.perf_counter()
            vectors = encode()
            rates[name].append(len(texts) / (time.perf_counter() - start))
            cpu[name].append(1000 * (sum(os.times()[:2]) - cpu_start) / len(texts))
            assert np.array_equal(vectors, reference), name
    floor = 1000 * run_cpu[0] / (len(texts) * args.rounds)  # session.run alone, inside `before`'s runs
    rows = [
        [
            name,
            f"{statistics.median(rates[name]):.1f}",
            " ".join(f"{r:.1f}" for r in rates[name]),
            f"{statistics.median(cpu[name]):.2f}",
        ]
        for name in variants
    ]
    ratios = [now / old for old, now in zip(*rates.values())]
    return (
        f"### single-process pipeline: {len(texts)} papers, {args.rounds} interleaved rounds, load average at the "
        f"end {load_average()}\n\n"
        + table(["pipeline", "papers/s (median)", "runs", "CPU ms a paper"], rows)
        + f"\n\nnow / before, round by round: {' '.join(f'{r:.2f}' for r in ratios)}. session.run alone: "
        f"{floor:.2f} CPU ms a paper: {2000 / floor:.0f} papers/s on 2 cores doing nothing else (floor, at this load)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["ray", "pipeline"], help="one section (default: both)")
    args = parser.parse_args(argv)
    print(machine() + "\n", flush=True)
    if args.only != "ray":
        print(bench_pipeline(args) + "\n", flush=True)
    if args.only != "pipeline":
        print(bench_ray(args), flush=True)


def bench_ray(args: argparse.Namespace) -> str:
    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    mismatched: set[str] = set()
    with scratch("cluster") as folder:
        base = base_home(folder / "base", sample_file(folder / "papers.jsonl", args.papers))
        reference: dict[str, np.ndarray] = {}
        starts = []
        for round_ in range(args.rounds):
            starts.append(ray_start_seconds())
            for name, options in VARIANTS.items():
                seconds, embedded, vectors = run(base, folder / "work", options)
                assert embedded == len(vectors), (name, embedded, len(vectors))
                rates[name].append(embedded / seconds)
                reference = reference or vectors
                if vectors.keys() != reference.keys() or any(
                    not np.array_equal(vectors[h], reference[h]) for h in reference
                ):
                    mismatched.add(name)
            print(f"round {round_ + 1}: " + ", ".join(f"{n} {r[-1]:.1f}/s" for n, r in rates.items()), file=sys.stderr)
    single = statistics.median(rates[next(iter(VARIANTS))])
    rows = [
        [
            name,
            f"{statistics.median(runs):.1f}",
            " ".join(f"{r:.1f}" for r in runs),
            f"{statistics.median(runs) / single:.2f}",
            "no" if name in mismatched else "yes",
        ]
        for name, runs in rates.items()
    ]
    return (
        f"### bulk embedding: {args.papers} papers from {CORPUS.name}, `Home.index` end to end, {args.rounds} "
        f"interleaved rounds, load average at the end {load_average()}\n\n"
        + table(["variant", "papers/s (median)", "runs", "ratio to single", "vectors equal"], rows)
        + f"\n\nRay start + shutdown alone (median): {statistics.median(starts):.1f} s."
    )


if __name__ == "__main__":
    main()
