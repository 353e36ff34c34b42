"""Scaling benchmark (not a test): semdigest at 78k, 1M and 2.7M papers on this machine, one Markdown table.

    .venv/bin/python bench/scale.py run --papers 2700000        # every phase of one size (resumes where it stopped)
    .venv/bin/python bench/scale.py table                        # the table of every size measured so far

Each size lives in bench/.cache/scale/<papers>/ (a home, its snapshot file and results.json; several GB at 2.7M:
`clean` removes a size's files but its results). The corpus is synthetic with real statistics (scalekit.py):
papers recombined from the real corpus's sentences, vectors as noisy copies of real vectors the model computed,
put straight into the store's embedding cache (`Store.put_vectors`): embedding 2.7M papers takes ~10 h here.
Everything else runs the product's commands as fresh processes under /usr/bin/time -v (wall seconds and peak
RSS): `semdigest ingest`, `semdigest index --rebuild`, `semdigest index` and `semdigest similar`. Below the
application API only the vectors phase (which puts the synthetic vectors) and the recall phase (which measures the
FAISS index itself against exact search) reach into the store and the index, in a child process each.

Phases: generate, ingest, vectors, build (`semdigest index --rebuild`: both indexes from the cached vectors),
index (the `semdigest index` a user runs next: it finds both indexes current), similar (whole-command latency,
the median of fresh processes), recall (recall@10 of the approximate index against exact search over all the
store's vectors, streamed), day (a day of 1,000 new papers: ingest, their vectors, `semdigest index`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import scalekit

CACHE = Path(__file__).parent / ".cache" / "scale"
# real vectors, read only: quality.py's and speed.py's home of the whole corpus, unless named
SHARED_HOME = Path(os.environ.get("SCALE_VECTORS_HOME", Path(__file__).parent / ".cache" / "corpus"))
SEMDIGEST = [sys.executable, "-m", "semdigest"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
MODEL = "all-MiniLM-L6-v2+onnx-int8"  # the default model's id: `semdigest index` finds every vector cached
DAY_PAPERS = 1000  # arXiv announces ~1,000 new papers a day across all categories
PHASES = ("generate", "ingest", "vectors", "build", "index", "similar", "recall", "day")


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def timed(command: list[str], env: dict[str, str] = ENV) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of a command run under /usr/bin/time -v."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)[:200]} failed:\n{done.stderr[-3000:]}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1]) * 1024
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr)[1]
    seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(clock.split(":"))))
    return seconds, peak, done.stdout


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


class Run:
    def __init__(self, papers: int) -> None:
        self.papers, self.dir = papers, CACHE / str(papers)
        self.home, self.snapshot, self.day = self.dir / "home", self.dir / "snapshot.jsonl", self.dir / "day.jsonl"
        self.results_path = self.dir / "results.json"
        self.results: dict = json.loads(self.results_path.read_text()) if self.results_path.exists() else {}

    def save(self) -> None:
        """Merged into what is on disk: two runs of one size (different phases) may save in turn."""
        self.dir.mkdir(parents=True, exist_ok=True)
        on_disk = json.loads(self.results_path.read_text()) if self.results_path.exists() else {}
        self.results = {**on_disk, **self.results}
        self.results_path.write_text(json.dumps(self.results, indent=1) + "\n")

    def cli(self, *args: str) -> tuple[float, int, str]:
        return timed([*SEMDIGEST, "--home", str(self.home), *args])

    def child(self, phase: str) -> dict:
        """A phase run in a fresh process (bench/scale.py child PHASE): its result and its own peak RSS."""
        seconds, peak, out = timed([sys.executable, __file__, "child", phase, "--papers", str(self.papers)])
        return {**json.loads(out.strip().splitlines()[-1]), "peak_rss": peak, "process_seconds": seconds}

    # phases ---------------------------------------------------------------------------------------------

    def generate(self) -> dict:
        real = scalekit.real_papers()
        self.dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        scalekit.write_snapshot(self.snapshot, real, self.papers)
        scalekit.write_snapshot(self.day, real, DAY_PAPERS, start=self.papers)
        return {"seconds": time.perf_counter() - start, "bytes": self.snapshot.stat().st_size}

    def ingest(self) -> dict:
        shutil.rmtree(self.home, ignore_errors=True)
        seconds, peak, out = self.cli("ingest", str(self.snapshot))
        return {"seconds": seconds, "peak_rss": peak, "papers_per_s": self.papers / seconds, "report": out.strip()}

    def vectors(self) -> dict:
        return self.child("vectors")

    def build(self) -> dict:
        """`semdigest index --rebuild`: both indexes built from the cached vectors (FAISS, then BM25), as the
        first `index` after a bulk load builds them; the sizes of the generation it published."""
        self.copy_model()
        seconds, peak, out = self.cli("index", "--rebuild")
        index = self.home / "index"
        generation = index / (index / "CURRENT").read_text().strip()
        return {
            "seconds": seconds,
            "peak_rss": peak,
            "report": out.strip(),
            "faiss_bytes": size_of(generation / "vectors"),
            "bm25_bytes": size_of(generation / "lexical"),
        }

    def index(self) -> dict:
        self.copy_model()
        seconds, peak, out = self.cli("index")
        return {"seconds": seconds, "peak_rss": peak, "report": out.strip()}

    def copy_model(self) -> None:
        """The int8 model the home of real vectors built (`index` builds it on first use, ~1 min): the phases
        measure a user's daily commands, not the one-off build."""
        built = SHARED_HOME / "cache"
        if built.is_dir() and not (self.home / "cache").exists():
            shutil.copytree(built, self.home / "cache")

    def similar(self, runs: int = 9) -> dict:
        # synthetic papers (all indexed) drawn at random: their ids follow from their numbers
        ids = [scalekit.synthetic_id(number) for number in random.Random(0).sample(range(self.papers), runs)]
        self.cli("similar", ids[0])  # warm the page cache once, as a daily user's machine has it
        times = [self.cli("similar", paper_id)[0] for paper_id in ids]
        peaks = [self.cli("similar", paper_id)[1] for paper_id in ids[:3]]
        return {"median": statistics.median(times), "runs": times, "peak_rss": max(peaks)}

    def recall(self) -> dict:
        return self.child("recall")

    def day_phase(self) -> dict:
        ingest, ingest_peak, _ = self.cli("ingest", str(self.day))
        vectors = self.child("vectors")
        index, index_peak, out = self.cli("index")
        return {
            "ingest": ingest,
            "vectors": vectors["seconds"],
            "index": index,
            "peak_rss": max(ingest_peak, index_peak),
            "report": out.strip(),
        }

    def run(self, phases: list[str]) -> None:
        for phase in phases:
            if phase in self.results:
                continue
            log(f"{self.papers:,} papers: {phase} ...")
            method = self.day_phase if phase == "day" else getattr(self, phase)
            self.results[phase] = method()
            self.save()
            log(f"{self.papers:,} papers: {phase}: {json.dumps(self.results[phase])[:300]}")


# children: one phase in a fresh process -------------------------------------------------------------------


def real_vectors() -> np.ndarray:
    """The real vectors the model computed for the real corpus (as many as the shared home holds)."""
    import sqlite3

    uri = f"file:{SHARED_HOME / 'semdigest.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        blobs = [blob for (blob,) in db.execute("SELECT vector FROM embeddings WHERE model = ?", (MODEL,))]
    return np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), -1)


def child_vectors(run: Run) -> dict:
    """Every unembedded text of the store gets a noisy copy of a real vector (chosen by its hash)."""
    from semdigest.layout import Layout
    from semdigest.store import Store

    real = real_vectors()
    start = time.perf_counter()
    with Store(Layout(run.home).db) as store:
        # in hash order, the cache's key order: appending to its B-tree, where random order took hours at 2.7M
        missing = sorted(store.unembedded_hashes(MODEL))
        for first in range(0, len(missing), 20_000):
            hashes = missing[first : first + 20_000]
            chosen = np.array([int(digest[:12], 16) % len(real) for digest in hashes])
            store.put_vectors(MODEL, hashes, scalekit.noisy_vectors(real, chosen, first))
    return {"seconds": time.perf_counter() - start, "vectors": len(missing), "real_sources": len(real)}


SWEEP = ((16, 100), (32, 100), (64, 100), (16, 300), (32, 300), (64, 300))  # (nprobe, candidates re-ranked)


def child_recall(run: Run, queries: int = 100) -> dict:
    """Recall@10 of VectorIndex.search (the approximate index's candidates re-ranked by their exact vectors, read
    from the store) against exact search over every stored vector, streamed 100,000 at a time: as saved, then
    for each (nprobe, candidates) of SWEEP. `similar` asks for 300 candidates (ranking.search.POOL)."""
    from semdigest.indexes.directory import IndexDir
    from semdigest.layout import Layout
    from semdigest.store import Store

    index = IndexDir(Layout(run.home).index).open().vectors
    with Store(Layout(run.home).db) as store:
        vectors_of = lambda keys: store.vectors(MODEL, keys)
        truth = exact_neighbours(index.state.sorted_keys, vectors_of)
        recall, query_ms = measure_recall(index, truth, vectors_of)
        sweep = {}
        if index.kind != "flat":
            saved = index.nprobe
            for nprobe, candidates in SWEEP:
                index.nprobe = nprobe
                sweep[f"{nprobe}/{candidates}"] = measure_recall(index, truth, vectors_of, candidates)
            index.nprobe = saved
    return {"recall_at_10": recall, "query_ms": query_ms, "kind": index.kind, "nprobe": index.nprobe, "sweep": sweep}


def exact_neighbours(keys: np.ndarray, vectors_of: Callable[[Sequence[int]], np.ndarray]) -> dict[int, list[int]]:
    """The 10 nearest papers of 100 of the papers (themselves left out) by exact search over every key's vector,
    read 100,000 at a time."""
    query_keys = random.Random(1).sample(keys.tolist(), 100)
    query = vectors_of(query_keys)
    best = np.full((len(query), 11), -np.inf, np.float32), np.full((len(query), 11), -1, np.int64)
    for first in range(0, len(keys), 100_000):
        chunk = keys[first : first + 100_000]
        scores = np.concatenate([best[0], query @ vectors_of(chunk.tolist()).T], axis=1)
        merged = np.concatenate([best[1], np.broadcast_to(chunk, (len(query), len(chunk)))], axis=1)
        top = np.argsort(-scores, axis=1)[:, :11]
        best = np.take_along_axis(scores, top, 1), np.take_along_axis(merged, top, 1)
    return {key: [k for k in row.tolist() if k != key][:10] for key, row in zip(query_keys, best[1])}


def measure_recall(
    index: Any, truth: dict[int, list[int]], vectors_of: Callable[[Sequence[int]], np.ndarray], candidates: int = 11
) -> tuple[float, float]:
    """(recall@10, median ms a query) of `index.search` asked for `candidates` results, its best 10 (the query
    paper left out) against `truth`."""
    query = vectors_of(list(truth))
    found, seconds = [], []
    for key, vector in zip(truth, query):
        began = time.perf_counter()
        _, got = index.search(vector[None], candidates, exact=vectors_of)
        seconds.append(time.perf_counter() - began)
        found.append([k for k in got[0].tolist() if k != key][:10])
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth.values(), found)]))
    return recall, 1000 * statistics.median(seconds)


CHILDREN = {
    "vectors": child_vectors,
    "recall": child_recall,
}


# the table ------------------------------------------------------------------------------------------------


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def cell(results: dict, phase: str, render) -> str:
    try:
        return render(results[phase])
    except KeyError:
        return "not measured"


def sweep(results: dict, candidates: int) -> str:
    found = [results["sweep"].get(f"{nprobe}/{candidates}") for nprobe in (16, 32, 64)]
    if not all(found):
        return "exact index"
    return " / ".join(f"{recall:.3f}, {ms:.1f}" for recall, ms in found)


def table() -> str:
    runs = sorted((Run(int(p.name)) for p in CACHE.iterdir() if p.name.isdigit()), key=lambda run: run.papers)
    rows = {
        "ingest: papers/s": ("ingest", lambda r: f"{r['papers_per_s']:,.0f}"),
        "ingest: peak RSS": ("ingest", lambda r: gib(r["peak_rss"])),
        "both indexes built (`semdigest index --rebuild`)": (
            "build",
            lambda r: f"{r['seconds']:.0f} s, {gib(r['peak_rss'])}",
        ),
        "size on disk: FAISS, BM25": ("build", lambda r: f"{gib(r['faiss_bytes'])}, {gib(r['bm25_bytes'])}"),
        "`semdigest index` with both current": ("index", lambda r: f"{r['seconds']:.0f} s, {gib(r['peak_rss'])}"),
        "`similar <id>`: whole command, median": ("similar", lambda r: f"{r['median']:.2f} s"),
        "`similar <id>`: peak RSS": ("similar", lambda r: gib(r["peak_rss"])),
        "recall@10 against exact search": ("recall", lambda r: f"{r['recall_at_10']:.3f}"),
        "vector search, median a query": ("recall", lambda r: f"{r['query_ms']:.1f} ms"),
        "recall@10, ms: nprobe 16/32/64, 100 candidates re-ranked": ("recall", lambda r: sweep(r, 100)),
        "recall@10, ms: nprobe 16/32/64, 300 candidates (as `similar`)": ("recall", lambda r: sweep(r, 300)),
        "add one day (1,000 papers): ingest + index": (
            "day",
            lambda r: f"{r['ingest']:.1f} s + {r['index']:.1f} s, {gib(r['peak_rss'])}",
        ),
    }
    header = ["", *(f"{run.papers:,} papers" for run in runs)]
    lines = [header, ["---"] * len(header)]
    lines += [[name, *(cell(run.results, phase, render) for run in runs)] for name, (phase, render) in rows.items()]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "table", "clean", "child"])
    parser.add_argument("phase", nargs="?", help="child: the phase to run")
    parser.add_argument("--papers", type=int, default=78_665)
    parser.add_argument("--only", default=",".join(PHASES), help="phases to run, comma-separated")
    args = parser.parse_args()
    run = Run(args.papers)
    if args.action == "child":
        print(json.dumps(CHILDREN[args.phase](run)))
    elif args.action == "run":
        run.run(args.only.split(","))
        print(table())
    elif args.action == "clean":
        for path in (run.home, run.snapshot, run.day):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    else:
        print(table())


if __name__ == "__main__":
    main()
