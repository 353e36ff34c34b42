"""Speed benchmarks (not tests): prints one Markdown report, the machine first.

    .venv/bin/python bench/speed.py                                  # every section (~8 min)
    .venv/bin/python bench/speed.py --only embedding --papers 1000 --rounds 5
    .venv/bin/python bench/speed.py --only similar,ann --home /tmp/home --ann-size 100000

Sections: embedding (fp32 vs the int8 ONNX path), similar (the library call, the CLI as a fresh process, --text),
index (FAISS and BM25 builds, sizes, adding a day), ann (IVF recall@10 against exact search at 1M real-shaped
vectors, nprobe sweep), digest (the 2025-08-18 day for the seed topics: cold store, cached rerun, big home).

Data: --home (default bench/.cache/corpus) holds /work/shared/corpus/papers.jsonl.gz ingested and indexed; it is
built through the CLI when it has no index (~30 min, once). Sections that write do it in copies or fresh homes
under bench/.cache/scratch, removed when the section ends.

Timings on shared 2-core machines drift 2x from minute to minute, so variants run interleaved (one round of
each, then the next round) and the tables report medians. Each embedding variant runs in its own process, so that its
peak RSS is its own and the fast path's process never imports torch; semdigest is imported inside functions for
the same reason (spawned workers re-import this module). Budgets are printed beside the numbers, never asserted.
Shared helpers (timing, Markdown, homes, the CLI as a process) are in bench/speedkit.py.

The whole program and the user-level operations (similar, a text's embedding, a day's digest) are timed through
the application API (`semdigest.Home`) or the CLI over it; rows that profile one component on its own (an
embedder, FAISS open and crc32, BM25, hubness, index builds, the ANN sweep) call that stage's module directly.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from speedkit import (
    CACHE,
    CORPUS,
    DAY,
    DAY_FILE,
    NO_BYTECODE,
    SEED_TOPICS,
    Times,
    cli,
    copy_home,
    corpus_home,
    day_ids,
    fast_artefact,
    index_dir,
    load_average,
    machine,
    median,
    mib,
    model_of,
    new_home,
    p90,
    peak_rss,
    python,
    scratch,
    table,
    timed_cli,
    timing,
    timing_table,
)

if TYPE_CHECKING:
    from semdigest import Home, Paper
    from semdigest.indexes.directory import Generation, IndexDir, Indexes
    from semdigest.indexes.lexical import Bm25Index
    from semdigest.indexes.vectors import VectorIndex
    from semdigest.store import Store

TEXT_QUERIES = (
    "graph neural networks for molecular property prediction",
    "dark matter halo",
    "test-time scaling of reasoning in large language models",
    "safe reinforcement learning for robots",
    "diffusion models for 3D scene generation",
)
HEAVY = ("torch", "onnxruntime", "transformers", "sentence_transformers")  # `similar ID` must import none
# Per-dimension sd of the noise that turns a real vector into a "new paper": a unit 384-d copy keeps a cosine of
# ~1 / sqrt(1 + 384 * 0.02^2) = 0.93 to its source (the ann section prints the measured one).
NOISE = 0.02
NPROBES = (8, 16, 32, 64, 128)


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
    from semdigest.embedding.registry import load_embedder  # one embedder on its own, not a Home's

    start = time.perf_counter()
    embedder = load_embedder(cache_dir=CACHE, fast=fast)
    conn.send((embedder.model_id, time.perf_counter() - start))
    while conn.recv() == "encode":
        start = time.perf_counter()
        vectors = embedder.encode(texts, batch_size=batch_size)
        seconds = time.perf_counter() - start
        conn.send((seconds, vectors, peak_rss()))


def bench_embedding(args: argparse.Namespace) -> str:
    texts = sample_texts(args.papers)
    variants = {"sentence-transformers fp32 (baseline)": False, "fast path (onnxruntime int8)": True}
    spawn = multiprocessing.get_context("spawn")
    fast_artefact()
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
    rows = [
        (
            "| variant | model_id | papers/s (median) | runs | load s | cosine mean | cosine min | top-10 agreement"
            " | peak RSS |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (_, model_id, load) in workers.items():
        cosine = (reference * vectors[name]).sum(axis=1)
        runs = " ".join(f"{r:.1f}" for r in rates[name])
        rows.append(
            f"| {name} | {model_id} | {statistics.median(rates[name]):.1f} | {runs} | {load:.1f} "
            f"| {cosine.mean():.4f} | {cosine.min():.4f} | {top_k_agreement(reference, vectors[name]):.3f} "
            f"| {peak[name] / 2**30:.2f} GB |"
        )
    return (
        f"### embedding: {len(texts)} papers from {CORPUS.name}, batch {args.batch_size}, "
        f"{args.rounds} interleaved rounds, {os.cpu_count()} CPUs, load average before "
        f"{args.load_before}\n\n" + "\n".join(rows)
    )


# --- similar ----------------------------------------------------------------------------------------------------

# Run by a fresh interpreter (python -c), so that its imports are as cold as the CLI's: `semdigest similar ID`
# stage by stage, without click and printing. Prints the stages' seconds as JSON.
_SIMILAR_STAGES = """
import json, sys, time
start = time.perf_counter()
import semdigest.cli  # what the console script imports
from semdigest import Home
marks = [time.perf_counter()]
home = Home.open(sys.argv[1])
home.indexed([])  # opens the store and the indexes, which home.similar would open first
marks.append(time.perf_counter())
home.similar([sys.argv[2]])
marks.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip([start] + marks, marks)]))
"""


def bench_similar(args: argparse.Namespace) -> str:
    from semdigest import Home

    path = corpus_home(args.home)
    with Home.open(path) as home:
        indexes = home.indexes.open()  # the same files the Home opens, for timing its steps on their own
        keys = random.Random(0).sample(sorted(indexes.vectors.state), args.queries)
        by_key = home.store.papers_by_key(keys)
        papers = [by_key[key] for key in keys]
        library = _similar_library(home, indexes, papers) | _index_opens(home.indexes, args.rounds)
        stages = _similar_cli(path, [paper.id for paper in papers[: args.cli_runs]])
        imports, heavy = _import_profile(path, papers[0].id)
        titles = [paper.title for paper in papers if paper.abstract][:20]
        text = _similar_text(path, home, titles, max(args.cli_runs // 2, 1))
    stats = [[name, median(t, "ms"), p90(t), median(max(t), "ms")] for name, t in library.items()]
    return "\n\n".join(
        [
            (
                f"### similar: {len(indexes.vectors)} papers ({indexes.vectors.kind} index) in {path}; load average "
                f"before {args.load_before}"
            ),
            (
                f"(a) The library: a Home opened once, then home.similar([id]) for {len(papers)} random indexed "
                "papers. The indented rows are its steps timed again on their own, to show their share."
            ),
            table(["what", "median", "p90", "max"], stats),
            (
                f"(b) `semdigest --home H similar ID` as a fresh process, "
                f"{len(stages['CLI: semdigest similar ID'])} papers; the stages come from a fresh interpreter doing "
                "what the command does, interleaved with it."
            ),
            timing_table(stages, "ms", {"CLI: semdigest similar ID": "<= 300 ms"}),
            (
                f"Imports of the command (`python -X importtime`, self times summed per top-level package): {imports}. "
                f"torch, onnxruntime, transformers, sentence_transformers imported: {', '.join(heavy) or 'none'}."
            ),
            "(c) `similar --text`:",
            timing_table(text, "ms"),
        ]
    )


def _similar_library(home: Home, indexes: Indexes, papers: list[Paper]) -> Times:
    from semdigest.ranking.fusion import hubness
    from semdigest.ranking.search import POOL

    times: Times = {}
    sample = len(indexes.sample.keys)
    for paper in papers:
        with timing(times, "home.similar([id]): look-up + vector_of + similar"):
            home.similar([paper.id])
        (vector,) = home.vectors([paper.id])
        with timing(times, f"  dense top-{POOL + 1} (FAISS)"):
            dense = indexes.vectors.search(vector[None], POOL + 1)[1][0]
        with timing(times, "  BM25 over every paper"):
            indexes.lexical.scores(paper.text)
        with timing(times, f"  store.vectors of the {POOL + 1} dense candidates"):
            pool = home.store.vectors(indexes.model, dense.tolist())
        with timing(times, f"  hubness of the {POOL + 1} dense candidates against the {sample}-paper sample"):
            hubness(pool, indexes.sample.vectors)
    return times


def _index_opens(directory: IndexDir, rounds: int) -> Times:
    """What a Home's first search costs every command: verifying and opening both indexes and the sample."""
    import faiss

    from semdigest.files import crc32_of
    from semdigest.indexes import manifest
    from semdigest.indexes.lexical import Bm25Index
    from semdigest.indexes.sample import Sample
    from semdigest.indexes.vectors import INDEX_FILE, VectorIndex

    times: Times = {}
    generation = directory.live()
    assert generation is not None, "no index"
    faiss_file = generation.vectors_dir / INDEX_FILE
    for _ in range(max(rounds, 3)):
        with timing(times, "open: IndexDir.open (the checks and the three below)"):
            directory.open()
        with timing(times, "open: the manifest's quick check (small files whole, large ones by stamp and blocks)"):
            manifest.problems(generation.path, manifest.read(generation.path), full=False)
        with timing(times, f"  crc32 of {INDEX_FILE} (what the quick check skips; `check` and `index` do it)"):
            crc32_of(faiss_file)
        with timing(times, "open: VectorIndex.open"):
            VectorIndex.open(generation.vectors_dir)
        with timing(times, f"  its faiss.read_index of {INDEX_FILE} (memory-mapped; the rest is the state file)"):
            faiss.read_index(str(faiss_file), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        with timing(times, f"open: Sample.load of {generation.sample_path.name} (verified whole)"):
            Sample.load(generation.sample_path)
        with timing(times, "open: Bm25Index.load"):
            Bm25Index.load(generation.lexical_dir)
    return times


def _similar_cli(home: Path, paper_ids: list[str]) -> Times:
    names = (
        "interpreter start: `python -c pass`",
        "stage: imports (semdigest.cli)",
        "stage: Home.open + its store and indexes",
        "stage: home.similar([id])",
        "floor: `python -c 'import semdigest.cli'`",
        "floor, ending with os._exit(0): no interpreter teardown",
        "CLI: semdigest similar ID",
        "CLI without a bytecode cache (as this sandbox runs it)",
    )
    times: Times = {name: [] for name in names}
    cli(home, "similar", paper_ids[0])  # untimed: fills the bytecode cache and the page cache
    for paper_id in paper_ids:
        with timing(times, names[0]):
            python("-c", "pass")
        for name, seconds in zip(names[1:4], json.loads(python("-c", _SIMILAR_STAGES, str(home), paper_id).stdout)):
            times[name].append(seconds)
        with timing(times, names[4]):
            python("-c", "import semdigest.cli")
        with timing(times, names[5]):
            python("-c", "import os, semdigest.cli; os._exit(0)")
        timed_cli(times, names[6], home, "similar", paper_id)
        with timing(times, names[7]):
            cli(home, "similar", paper_id, env=NO_BYTECODE)
    return times


def _import_profile(home: Path, paper_id: str) -> tuple[str, list[str]]:
    """The command's imports by package (self times summed: a package's cumulative time would also count
    whatever it happened to import first), and the heavy packages it loaded."""
    own: dict[str, float] = defaultdict(float)
    modules = set()
    for line in cli(home, "similar", paper_id, flags=("-X", "importtime")).stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(fields) == 3 and fields[0].strip().isdigit():
            modules.add(fields[2].strip())
            own[fields[2].strip().split(".")[0]] += int(fields[0]) / 1e6
    top = sorted(own.items(), key=lambda item: -item[1])[:8]
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    return f"total {median(sum(own.values()), 'ms')}: " + ", ".join(f"{n} {median(t, 'ms')}" for n, t in top), heavy


def _similar_text(path: Path, home: Home, titles: list[str], rounds: int) -> Times:
    from semdigest import Home
    from semdigest.paper import content_hash

    names = (
        "CLI, a new text: model load + encode + search",
        "CLI, the same text again: its vector is cached",
        "library: load the model, in process (a fresh Home's first home.embed of a new text)",
        f"library: home.similar(text=...), model loaded: encode + similar ({len(titles)} titles)",
    )
    times: Times = {name: [] for name in names}
    model = home.indexes.model()

    def forget(texts: Sequence[str]) -> None:
        """The bench's own query texts (and titles of papers with an abstract, whose own hash differs): dropping
        their cached vector makes the next embedding of them encode, and a fresh process load the model."""
        rows = [(model, content_hash(text, "")) for text in texts]
        home.store.db.executemany("DELETE FROM embeddings WHERE model = ? AND hash = ?", rows)

    for round_ in range(rounds):
        text = TEXT_QUERIES[round_ % len(TEXT_QUERIES)]
        forget([text])
        timed_cli(times, names[0], path, "similar", "--text", text)
        timed_cli(times, names[1], path, "similar", "--text", text)
    forget([TEXT_QUERIES[0], *titles])
    with Home.open(path) as fresh:  # its model is not loaded yet
        fresh.indexed([])  # the indexes open outside the timing, as a loaded process has them
        with timing(times, names[2]):
            fresh.embed([TEXT_QUERIES[0]])
        for title in titles:
            with timing(times, names[3]):
                fresh.similar(text=title)
    return times


# --- index ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Papers:
    """What the library builds indexes from, read from a store once."""

    model: str
    keys: list[int]
    hashes: list[str]
    vectors: np.ndarray
    texts: list[str]

    @classmethod
    def read(cls, store: Store, model: str, keys: Sequence[int] | None = None) -> _Papers:
        hashes = store.embedded(model)
        keys = sorted(hashes) if keys is None else list(keys)
        return cls(model, keys, [hashes[key] for key in keys], store.vectors(model, keys), store.texts(keys))


def bench_index(args: argparse.Namespace) -> str:
    from semdigest.layout import Layout
    from semdigest.store import Store

    times: Times = {}
    with scratch("index") as root:
        home = copy_home(corpus_home(args.home), root / "home")
        layout = Layout(home)
        _drop_papers(layout.db, day_ids())  # the day arrives afterwards, as on a real day
        with Store(layout.db) as store:
            with timing(times, "library: read keys, hashes, vectors and texts from the store"):
                corpus = _Papers.read(store, model_of(home))
            lexical = _index_builds(home, store, corpus, Generation(root / "library"), args.rounds, times)
            indexes = index_dir(home).live()
            assert indexes is not None
            sizes = (
                f"FAISS {mib(indexes.vectors_dir)}, BM25 {mib(indexes.lexical_dir)}, "
                f"calibration sample {mib(indexes.sample_path)}"
            )
            for _ in range(args.rounds):
                timed_cli(times, "CLI `semdigest index`, nothing new", home, "index")
            cli(home, "ingest", str(DAY_FILE))
            said = timed_cli(times, "CLI `semdigest index` after ingesting the day", home, "index").stdout.strip()
            day = _Papers.read(store, corpus.model, sorted(store.keys(day_ids()).values()))
            _index_day(store, corpus, lexical, day, Generation(root / "library"), args.rounds, times)
    return (
        f"### index: {len(corpus.keys)} papers (the corpus without the day), then the day's {len(day.keys)}; "
        f"{args.rounds} interleaved rounds; load average before {args.load_before}\n\n"
        + timing_table(times)
        + f"\n\nAfter ingesting the day, `semdigest index` said: `{said}`. On disk at {len(corpus.keys)} papers: "
        f"{sizes}."
    )


def _drop_papers(db_path: Path, paper_ids: list[str]) -> None:
    """Delete papers from a copied store (their cached vectors stay: the cache is keyed by text)."""
    with closing(sqlite3.connect(db_path)) as db, db:
        db.executemany("DELETE FROM listings WHERE paper_id = ?", ((i,) for i in paper_ids))
        db.executemany("DELETE FROM papers WHERE id = ?", ((i,) for i in paper_ids))


def _index_builds(
    home: Path, store: Store, corpus: _Papers, directory: Generation, rounds: int, times: Times
) -> Bm25Index:
    """The CLI's rebuild and the library's builds, interleaved; returns the last BM25 index built."""
    from semdigest.indexes.lexical import Bm25Index
    from semdigest.indexes.vectors import VectorIndex

    for _ in range(rounds):
        timed_cli(times, "CLI `semdigest index --rebuild`", home, "index", "--rebuild")
        with timing(times, "library: Store.embedded (every index refresh starts with it)"):
            store.embedded(corpus.model)
        with timing(times, "library: VectorIndex.build"):
            index = VectorIndex.build(corpus.model, corpus.keys, corpus.hashes, corpus.vectors)
        with timing(times, "library: VectorIndex.save + Sample.choose + save"):
            index.save(directory.vectors_dir)
            _resample(store, corpus.model, index, directory)
        with timing(times, "library: Bm25Index.build"):
            lexical = Bm25Index.build(corpus.keys, corpus.texts)
        with timing(times, "library: Bm25Index.save"):
            lexical.save(directory.lexical_dir)
    return lexical


def _resample(store: Store, model: str, index: VectorIndex, directory: Generation) -> None:
    """The calibration sample drawn again from the index's papers and saved, as IndexDir.refresh does."""
    from semdigest.indexes.sample import Sample

    Sample.choose(model, index.state, lambda keys: store.vectors(model, keys), index.dim).save(directory.sample_path)


def _index_day(
    store: Store, corpus: _Papers, lexical: Bm25Index, day: _Papers, directory: Generation, rounds: int, times: Times
) -> None:
    """The library's incremental path: the day's papers onto indexes of everything else, saved."""
    from semdigest.indexes.vectors import VectorIndex

    for _ in range(rounds):
        index = VectorIndex.build(corpus.model, corpus.keys, corpus.hashes, corpus.vectors)  # update changes it
        with timing(times, f"library: VectorIndex.update ({len(day.keys)} papers) + save + Sample.choose + save"):
            index.update(day.keys, day.hashes, day.vectors)
            index.save(directory.vectors_dir)
            _resample(store, corpus.model, index, directory)
        with timing(times, f"library: Bm25Index.add ({len(day.keys)} papers) + save"):
            lexical.add(day.keys, day.texts).save(directory.lexical_dir)


# --- ann --------------------------------------------------------------------------------------------------------

# A fresh interpreter doing one step of what opening a saved index costs every `semdigest similar`: prints its
# seconds and the process's peak RSS in kB ("nothing": the imports' own; VmHWM as in speedkit.peak_rss).
_OPEN_PROBE = """
import re, sys, time
from pathlib import Path
import faiss
from semdigest.files import crc32_of
from semdigest.indexes.vectors import INDEX_FILE, VectorIndex
path, step = Path(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
if step == "VectorIndex.open":
    VectorIndex.open(path)
elif step == "crc32 of papers.faiss":
    crc32_of(path / INDEX_FILE)
elif step == "faiss.read_index (mmap flags)":
    faiss.read_index(str(path / INDEX_FILE), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
status = Path("/proc/self/status").read_text()
print(time.perf_counter() - start, re.search(r"VmHWM:\\s+(\\d+) kB", status)[1])
"""
OPEN_STEPS = ("VectorIndex.open", "crc32 of papers.faiss", "faiss.read_index (mmap flags)", "nothing")


def bench_ann(args: argparse.Namespace) -> str:
    import faiss

    from semdigest.indexes.vectors import EXACT_LIMIT, NPROBE, VectorIndex
    from semdigest.ranking.search import POOL

    real = _real_vectors(corpus_home(args.home))
    rng = np.random.default_rng(0)
    held = rng.choice(len(real), args.ann_queries, replace=False)
    queries = real[held]  # real papers whose vector has no copy in the base
    base, cosine = _noisy_copies(np.delete(real, held, axis=0), args.ann_size, rng)
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    limit = min(EXACT_LIMIT, len(base) - 1)  # IVF as the product builds past EXACT_LIMIT, also at a small --ann-size
    start = time.perf_counter()
    index = VectorIndex.build("ann", np.arange(len(base)), [""] * len(base), base, exact_limit=limit)
    build = time.perf_counter() - start
    del base
    rows = _ann_sweep(exact, index, queries, POOL + 1)
    with scratch("ann") as directory:
        index.save(directory)
        sizes = ", ".join(f"{path.name} {mib(path)}" for path in sorted(directory.iterdir()))
        opens = _open_steps(directory)
    enough = [nprobe for nprobe, row in zip(NPROBES, rows[1:]) if float(str(row[1])) >= 0.95]
    verdict = (
        f"the smallest nprobe with recall@10 >= 0.95 is {enough[0]}"
        if enough
        else f"no nprobe up to {NPROBES[-1]} reaches recall@10 >= 0.95"
    )
    return (
        f"### ann: {len(index):,} vectors, noisy copies of {len(real) - len(held):,} real ones (noise sd {NOISE} "
        f"per dimension; cosine of a copy to its source: mean {cosine.mean():.3f}, min {cosine.min():.3f}, max "
        f"{cosine.max():.3f}); {len(queries)} held-out real vectors as queries, one at a time with k = {POOL + 1} "
        f"as `similar` asks; load average before {args.load_before}\n\n"
        f"VectorIndex.build(exact_limit={limit}) built {index.kind} with "
        f"{faiss.extract_index_ivf(index.faiss).nlist} lists in {build:.0f} s. Recall@10 is against exact search "
        f"(IndexFlatIP); the product's NPROBE is {NPROBE}; {verdict}.\n\n"
        + table(["search", "recall@10", "latency median", "p90"], rows)
        + f"\n\nOn disk: {sizes}. Opening it in a fresh process, step by step (median of 3 processes each):\n\n"
        + opens
    )


def _open_steps(directory: Path) -> str:
    """The probe's steps interleaved over 3 rounds: seconds and peak RSS of each."""
    seconds: Times = {step: [] for step in OPEN_STEPS}
    peak: dict[str, list[int]] = {step: [] for step in OPEN_STEPS}
    for _ in range(3):
        for step in OPEN_STEPS:
            took, rss = python("-c", _OPEN_PROBE, str(directory), step).stdout.split()
            seconds[step].append(float(took))
            peak[step].append(int(rss))
    rows = [[step, median(seconds[step]), f"{statistics.median(peak[step]) / 2**20:.2f} GiB"] for step in OPEN_STEPS]
    return table(["step", "seconds", "peak RSS"], rows)


def _real_vectors(home: Path) -> np.ndarray:
    from semdigest.layout import Layout
    from semdigest.store import Store

    with Store(Layout(home).db) as store:
        model = model_of(home)
        return np.ascontiguousarray(store.vectors(model, sorted(store.embedded(model))), dtype=np.float32)


def _noisy_copies(sources: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` unit vectors, each a randomly chosen source plus Gaussian noise; and each one's cosine to its source."""
    out = np.empty((count, sources.shape[1]), np.float32)
    cosine = np.empty(count, np.float32)
    picks = rng.integers(len(sources), size=count)
    for start in range(0, count, 100_000):  # in chunks: noise for all rows at once would double the peak memory
        chosen = sources[picks[start : start + 100_000]]
        noisy = chosen + NOISE * rng.standard_normal(chosen.shape, dtype=np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        out[start : start + len(noisy)], cosine[start : start + len(noisy)] = noisy, (noisy * chosen).sum(axis=1)
    return out, cosine


def _ann_sweep(exact: object, index: VectorIndex, queries: np.ndarray, k: int) -> list[list[object]]:
    """Every variant for a query before the next query; recall@10 from the first 10 of the k results."""
    from semdigest.indexes.vectors import NPROBE

    variants = {"exact (IndexFlatIP)": None, **{f"IVF nprobe {p}": p for p in NPROBES}}
    found: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    times: Times = {}
    for query in queries[:, None, :]:
        for name, nprobe in variants.items():
            index.nprobe = nprobe or NPROBE
            with timing(times, name):
                _, ids = exact.search(query, k) if nprobe is None else index.search(query, k)  # type: ignore[attr-defined]
            found[name].append(ids[0, :10])
    index.nprobe = NPROBE
    truth = found["exact (IndexFlatIP)"]
    recall = {name: np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found[name])]) for name in variants}
    return [[name, f"{recall[name]:.3f}", median(times[name], "ms"), p90(times[name])] for name in variants]


# --- digest -----------------------------------------------------------------------------------------------------


def bench_digest(args: argparse.Namespace) -> str:
    artefact, source = fast_artefact(), corpus_home(args.home)
    names = (
        "(a) cold store: `digest` (model load, embed, build both indexes, rank)",
        "(a) cold store: ingest + topics import + digest",
        "(a) the same, building the fast artefact too (1 run: the build imports torch)",
        "(b) rerun, embeddings cached",
        "(c) big home: first run",
        "(c) big home: rerun",
    )
    times: Times = {name: [] for name in names}
    with scratch("digest") as root:
        big = copy_home(source, root / "big")
        setup, said = _cold_digest(big)  # the day into a copy of the big home; what changed gets embedded
        times[names[4]].append(setup[2])
        for round_ in range(args.rounds):
            home = new_home(root / f"cold-{round_}", artefact)
            steps, _ = _cold_digest(home)
            times[names[0]].append(steps[2])
            times[names[1]].append(sum(steps))
            timed_cli(times, names[3], home, "digest", "--date", DAY)
            timed_cli(times, names[5], big, "digest", "--date", DAY)
        times[names[2]].append(sum(_cold_digest(new_home(root / "build", None))[0]))
    targets = dict.fromkeys(names[:3], "<= 30 s") | {names[3]: "<= 2 s"}
    topics = len(json.loads(SEED_TOPICS.read_text(encoding="utf-8"))["topics"])
    embedded = re.search(r"embedding (\d+) papers", said)
    return (
        f"### digest: {DAY} ({len(day_ids())} papers, {topics} seed topics), {args.rounds} interleaved rounds; "
        f"big home = a copy of {source}; load average before {args.load_before}\n\n"
        + timing_table(times, "s", targets)
        + f"\n\nBig home: ingesting the day took {setup[0]:.1f} s, importing "
        f"the topics {setup[1]:.1f} s; the first digest then embedded {embedded[1] if embedded else 0} papers "
        "(the day's abstracts that differ from the corpus's) and the topics' texts."
    )


def _cold_digest(home: Path) -> tuple[list[float], str]:
    """Seconds of ingesting the day, importing the seed topics and the day's digest; and the digest's stderr."""
    times: Times = {}
    for command in (("ingest", str(DAY_FILE)), ("topics", "import", str(SEED_TOPICS))):
        timed_cli(times, command[0], home, *command)
    said = timed_cli(times, "digest", home, "digest", "--date", DAY).stderr
    return [seconds for (seconds,) in times.values()], said


# --- the report -------------------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[argparse.Namespace], str]] = {
    "embedding": bench_embedding,
    "similar": bench_similar,
    "index": bench_index,
    "ann": bench_ann,
    "digest": bench_digest,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--home", type=Path, default=CACHE / "corpus", help="a home with the whole corpus indexed")
    parser.add_argument("--papers", type=int, default=1000, help="embedding: papers encoded per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--queries", type=int, default=50, help="similar: papers queried through the library")
    parser.add_argument("--cli-runs", type=int, default=10, help="similar: fresh CLI processes")
    parser.add_argument("--ann-size", type=int, default=1_000_000, help="ann: vectors in the index")
    parser.add_argument("--ann-queries", type=int, default=500)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    start = time.perf_counter()
    print(machine() + "\n", flush=True)
    for section in chosen:
        args.load_before = load_average()
        print(SECTIONS[section](args) + "\n", flush=True)
    print(
        f"_Sections {', '.join(chosen)}: {time.perf_counter() - start:.0f} s in all; load average at the end "
        f"{load_average()}._"
    )


if __name__ == "__main__":
    main()
