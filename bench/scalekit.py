"""The synthetic corpus of bench/scale.py: papers recombined from the real corpus's sentences, and vectors made as
noisy copies of the real vectors the model computed for their source papers.

Uniform random vectors defeat every ANN index (no cluster structure), and random words defeat BM25's statistics
(no Zipf law); so each synthetic paper has a real *source* paper: its title, two thirds of its sentences (the rest
drawn from other papers), metadata in the public snapshot's full form, and as vector a copy of the source's real
vector plus Gaussian noise (sd 0.02 per dimension: cosine ~0.93 to the source, as bench/speed.py's ann section).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CORPUS = Path("/work/shared/corpus/papers.jsonl.gz")
NOISE = 0.02
PER_MONTH = 30_000  # synthetic ids: 30,000 a month from 1501 (arXiv's ~24,000 a month today)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def real_papers() -> list[dict]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def synthetic_id(number: int) -> str:
    """The number-th synthetic id, new style (YYMM.NNNNN), from 1501.00001 onwards."""
    month, serial = divmod(number, PER_MONTH)
    return f"{15 + month // 12:02d}{1 + month % 12:02d}.{serial + 1:05d}"


def sources(count: int, papers: int, start: int = 0) -> np.ndarray:
    """The source paper of synthetic papers start..start+count: a fixed shuffle of the real corpus, cycled."""
    order = np.random.default_rng(0).permutation(papers)
    return order[np.arange(start, start + count) % papers]


def records(real: list[dict], count: int, start: int = 0) -> Iterator[dict]:
    """`count` synthetic snapshot records (numbers start..start+count-1): each its source's title, two thirds
    of its sentences and a third from other papers, shuffled; the public snapshot's fields."""
    sentences = [_SENTENCE.split(paper["abstract"]) for paper in real]
    pool = [sentence for paper in sentences for sentence in paper]
    rng = np.random.default_rng(start + 1)
    for number, source in zip(range(start, start + count), sources(count, len(real), start).tolist()):
        paper, own = real[source], sentences[source]
        keep = max(1, (2 * len(own) + 2) // 3)
        chosen = [own[i] for i in sorted(rng.choice(len(own), keep, replace=False).tolist())]
        chosen += [pool[i] for i in rng.integers(len(pool), size=len(own) - keep).tolist()]
        rng.shuffle(chosen[1:])  # keep the opening sentence first, as abstracts do
        month = number // PER_MONTH
        year, day = 2015 + month // 12, 1 + number % 28
        created = f"{_DAYS[number % 7]}, {day} {_MONTHS[month % 12]} {year} 12:{number % 60:02d}:00 GMT"
        authors = paper["authors"]
        yield {
            "id": synthetic_id(number),
            "submitter": authors.split(",")[0],
            "authors": authors,
            "title": paper["title"],
            "comments": f"{8 + number % 20} pages, {1 + number % 9} figures" if number % 3 else None,
            "journal-ref": None,
            "doi": None,
            "report-no": None,
            "categories": paper["categories"],
            "license": "http://creativecommons.org/licenses/by/4.0/",
            "abstract": "  " + " ".join(chosen).replace(". ", ".\n", 1) + "\n",  # the snapshot's hard wraps
            "versions": [{"version": "v1", "created": created}]
            + ([{"version": "v2", "created": created}] if number % 4 == 0 else []),
            "update_date": f"{year}-{1 + month % 12:02d}-{day:02d}",
            "authors_parsed": [[name.split()[-1], " ".join(name.split()[:-1]), ""] for name in authors.split(", ")],
        }


def write_snapshot(path: Path, real: list[dict], count: int, start: int = 0) -> None:
    """A snapshot file of `count` synthetic papers (plain JSONL: the public snapshot is not compressed)."""
    temp = path.with_suffix(".part")
    with open(temp, "w", encoding="utf-8") as f:
        for record in records(real, count, start):
            f.write(json.dumps(record) + "\n")
    temp.replace(path)


def noisy_vectors(real: np.ndarray, chosen: np.ndarray, seed: int) -> np.ndarray:
    """Unit vectors: each chosen source's real vector plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    vectors = real[chosen] + NOISE * rng.standard_normal((len(chosen), real.shape[1]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors
