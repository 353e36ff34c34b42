"""Makes src/semdigest/data/reference-sample.npz, the papers scores are calibrated against while a store is small.

    .venv/bin/python bench/make_reference_sample.py                    # the shipped file
    .venv/bin/python bench/make_reference_sample.py --size 1000 --out /tmp/reference-1000.npz

The papers are the `size` papers of /work/shared/corpus/papers.jsonl.gz (78,665 papers of cs.AI, CL, CV, LG, MA
and RO listed from 2025-03 to 2026-08) whose arXiv ids have the smallest blake2b hashes: a uniform draw that the
same corpus always gives again. Their texts are read as `semdigest ingest` reads them and embedded by the default
model as a default data directory embeds (the int8 ONNX path, built under bench/.cache once), stored float16.
bench/calibration.py measures what the size costs in calibration error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

CORPUS = Path("/work/shared/corpus/papers.jsonl.gz")
CACHE = Path(__file__).parent / ".cache"
OUT = Path(__file__).parents[1] / "src" / "semdigest" / "data" / "reference-sample.npz"
SIZE = 2000


def draw(ids: list[str], size: int) -> list[str]:
    """The `size` ids of smallest hash, in that order (a smaller draw is a prefix of a larger one)."""
    return sorted(ids, key=lambda arxiv_id: hashlib.blake2b(arxiv_id.encode(), digest_size=8).digest())[:size]


def corpus_texts(path: Path = CORPUS) -> dict[str, str]:
    """Every paper's embedded text (`title + " " + abstract`, as stored), by arXiv id."""
    import gzip

    from semdigest.sources.snapshot import snapshot_paper

    with gzip.open(path, "rt", encoding="utf-8") as lines:
        papers = (snapshot_paper(json.loads(line)) for line in lines if line.strip())
        return {paper.id: paper.text for paper in papers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    from semdigest.embedding.registry import load_embedder
    from semdigest.indexes.sample import Reference

    texts = corpus_texts()
    ids = draw(sorted(texts), args.size)
    embedder = load_embedder(cache_dir=CACHE)
    vectors = embedder.encode([texts[i] for i in ids])
    Reference(ids, [texts[i] for i in ids], embedder.model_id, vectors).save(args.out)
    size = args.out.stat().st_size / 2**20
    print(f"{args.out}: {len(ids)} papers, {embedder.model_id}, {size:.2f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
