"""Bulk embedding throughput (not a test): `semdigest index` in one process against `--engine ray` on a local Ray
with 1 and 2 workers, on the same real papers; prints one Markdown report.

    .venv/bin/python bench/cluster.py                        # 1,000 papers, 3 interleaved rounds
    .venv/bin/python bench/cluster.py --papers 2000 --rounds 5

Each run is Home.index on a fresh copy of one home holding the papers without vectors (the int8 artefact already
in its cache), timed end to end as a user meets it: the Ray rows include starting the local Ray and its actor pool
(printed apart as "Ray start"). Variants run interleaved (one round of each, then the next) because timings on
shared 2-core machines drift 2x minute to minute: compare the ratios, not the papers/s. The vectors of every
variant are checked equal to the single process's. Budgets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gzip
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine() + "\n", flush=True)
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
    print(
        f"### bulk embedding: {args.papers} papers from {CORPUS.name}, `Home.index` end to end, {args.rounds} "
        f"interleaved rounds, load average at the end {load_average()}\n\n"
        + table(["variant", "papers/s (median)", "runs", "ratio to single", "vectors equal"], rows)
        + f"\n\nRay start + shutdown alone (median): {statistics.median(starts):.1f} s."
    )


if __name__ == "__main__":
    main()
