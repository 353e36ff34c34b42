"""Helpers of bench/speed.py: timing and Markdown, the benchmark homes, and the CLI run as a fresh process.

semdigest is imported inside functions: speed.py's spawned embedding workers import this module too, and their
peak RSS must stay their model's.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from semdigest.indexes.directory import IndexDir

CORPUS = Path("/work/shared/corpus/papers.jsonl.gz")
CACHE = Path(__file__).parent / ".cache"
SCRATCH = CACHE / "scratch"
SEMDIGEST = Path(sys.executable).with_name("semdigest")  # the console script, run as a user runs it
DATA = Path(__file__).parents[1] / "src" / "semdigest" / "data"
DAY, DAY_FILE, SEED_TOPICS = "2025-08-18", DATA / "day-2025-08-18.jsonl", DATA / "seed-topics.json"
Times = dict[str, list[float]]
# This sandbox exports PYTHONDONTWRITEBYTECODE=1, so every command would recompile semdigest's own modules, which an
# installed semdigest never does: child processes get a bytecode cache under CACHE instead. NO_BYTECODE: as here.
BYTECODE = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": str(CACHE / "pycache"),
}
NO_BYTECODE = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


@contextmanager
def timing(times: Times, name: str) -> Iterator[None]:
    """Appends the block's wall seconds to times[name]."""
    start = time.perf_counter()
    yield
    times.setdefault(name, []).append(time.perf_counter() - start)


def median(seconds: Sequence[float] | float, unit: str = "s") -> str:
    value = seconds if isinstance(seconds, float) else statistics.median(seconds)
    return f"{1000 * value:.1f} ms" if unit == "ms" else f"{value:.2f} s"


def p90(seconds: Sequence[float], unit: str = "ms") -> str:
    return median(float(np.percentile(seconds, 90)), unit)


def spread(seconds: Sequence[float], unit: str = "s") -> str:
    """The runs in order, up to 12 (a median alone hides drift)."""
    shown = " ".join(f"{1000 * s:.0f}" if unit == "ms" else f"{s:.2f}" for s in seconds[:12])
    return shown + (" ..." if len(seconds) > 12 else "")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def timing_table(times: Times, unit: str = "s", targets: dict[str, str] | None = None) -> str:
    """A row per timing: median and runs, and a target column if any are given."""
    extra = [] if targets is None else ["target"]
    rows = [
        [name, median(t, unit), spread(t, unit)] + ([targets.get(name, "")] if extra else [])
        for name, t in times.items()
    ]
    return table(["what", "median", f"runs ({unit})", *extra], rows)


def mib(path: Path) -> str:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return f"{sum(p.stat().st_size for p in files) / 2**20:.1f} MiB"


def python(*args: str, env: dict[str, str] = BYTECODE) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter run with these arguments; a failure raises with its stderr."""
    done = subprocess.run([sys.executable, *args], check=False, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"python {' '.join(args)[:300]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def cli(
    home: Path, *args: str, flags: Sequence[str] = (), env: dict[str, str] = BYTECODE
) -> subprocess.CompletedProcess[str]:
    """`semdigest --home HOME ARGS` as a fresh process, with python `flags`."""
    return python(*flags, str(SEMDIGEST), "--home", str(home), *args, env=env)


def timed_cli(times: Times, name: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with timing(times, name):
        return cli(home, *args)


def index_dir(home: Path) -> IndexDir:
    """The home's index folder (which file lives where: layout.py, then indexes.directory)."""
    from semdigest.indexes.directory import IndexDir
    from semdigest.layout import Layout

    return IndexDir(Layout(home).index)


def corpus_home(home: Path) -> Path:
    """The benchmark home with the whole corpus indexed, built through the CLI if it has no index yet."""
    if index_dir(home).live() is None:  # CURRENT, written once a generation is whole
        print(f"{home}: no index yet; ingesting and indexing {CORPUS.name} (~30 min, once) ...", file=sys.stderr)
        cli(home, "ingest", str(CORPUS))
        cli(home, "index")
    return home


def model_of(home: Path) -> str:
    """The model whose vectors the home's FAISS index holds (IndexProblem if it has none)."""
    from semdigest.errors import IndexProblem

    model = index_dir(home).model()
    if model is None:
        raise IndexProblem(f"no readable index in {home}")
    return model


def day_ids() -> list[str]:
    return [json.loads(line)["id"] for line in DAY_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


@contextmanager
def scratch(name: str) -> Iterator[Path]:
    """An empty directory under SCRATCH, removed afterwards (a copy of the big home is ~0.5 GB)."""
    path = SCRATCH / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def new_home(home: Path, artefact: Path | None) -> Path:
    """A fresh home, with the fast artefact already in its cache when one is given (else the first command
    that embeds builds it, importing torch)."""
    from semdigest.layout import Layout

    shutil.rmtree(home, ignore_errors=True)
    cache = Layout(home).cache
    cache.mkdir(parents=True)
    if artefact is not None:
        shutil.copytree(artefact, cache / artefact.name)
    return home


def copy_home(source: Path, home: Path) -> Path:
    """A private copy of a home (store, indexes, fast artefact) that a section may change."""
    from semdigest.layout import Layout

    src, dst = Layout(source), Layout(new_home(home, None))
    with closing(sqlite3.connect(src.db)) as old, closing(sqlite3.connect(dst.db)) as new:
        old.backup(new)  # consistent even while another process uses the source
    for directory in ("index", "cache"):
        shutil.copytree(getattr(src, directory), getattr(dst, directory), dirs_exist_ok=True)
    return home


def _build_fast() -> None:
    from semdigest.embedding.registry import load_embedder

    load_embedder(cache_dir=CACHE)


def fast_artefact() -> Path:
    """The int8 ONNX artefact under CACHE, built in a process apart if missing: building imports torch, which
    would inflate this process's peak RSS."""
    from semdigest.embedding.onnx import artefact_dir
    from semdigest.embedding.registry import DEFAULT_MODEL, resolve_model

    folder = artefact_dir(CACHE, DEFAULT_MODEL, resolve_model(DEFAULT_MODEL))  # where load_embedder puts it
    if not (folder / "meta.json").exists():
        builder = multiprocessing.get_context("spawn").Process(target=_build_fast)
        builder.start()
        builder.join()
    return folder


def machine() -> str:
    """The report's first lines: when, on what, under which load."""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.machine())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("faiss-cpu", "numpy", "onnxruntime"))
    return (
        f"## semdigest speed, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM; load average {load_average()} "
        f"(1, 5, 15 min) at the start. Python {platform.python_version()}, {versions}."
    )


def peak_rss() -> int:
    """This process's peak RSS in bytes. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent
    through fork and exec, so a worker started by a big process would report the parent's peak."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
