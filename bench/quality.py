"""Ranking quality on curated topic lists, measured through semdigest's own code; prints Markdown tables.

    .venv/bin/python bench/quality.py                                  # dev labels, whole corpus
    .venv/bin/python bench/quality.py --labels held-out.jsonl --no-tfidf --quick

Labels: `{list, section, id}` JSON lines (/work/shared/eval/labels-dev.jsonl format). The protocol of
/work/shared/README.md, as the research implemented it (/tmp/research/quality.py), per list of the file:
  similar   every labelled paper with >= 1 relevant candidate is a query; candidates: the list's other
            papers; relevant: shares a section with it. MAP@10 (AP@10 / min(10, #relevant)) and P@10.
  topic     every section with >= 2 papers; topic text: the section's name; candidates: the list's
            papers; AP over the whole ranking.
  few-shot  every section with >= 5 papers, 10 draws of 3 example papers (random.Random(0), lists and
            sections sorted); candidates: the list minus the examples; relevant: the section's other
            papers; AP.
  few-shot, partitions: the same, but every section with >= 4 papers is cut into disjoint groups of 3, so
            each paper is an example once (sections weigh by their size), averaged over 5 shuffles
            (random.Random(0..4) of the sorted ids). Unlike the draws above, this reproduces the
            published few-shot baselines (tf-idf 0.50, cosine 0.49) within about 0.01.
"pooled" = mean over all queries, "macro" = mean of the per-list means. Ties keep candidate order (ids
sorted). Where a row is picked among variants (LR's C, the few-shot ablation), the pick is also shown
leave-one-list-out (LOLO): chosen on the other lists, scored on the held-out one.

"semdigest" rows go through the application API: Home.similar restricted to the list (Filters(ids=...))
and Home.ranker(the list's papers).rank(topic). Baselines use the same cached vectors and BM25 index,
read through Home.vectors and Home.lexical_scores. The
benchmark home (--home) holds the whole corpus, embedded and indexed: built on first use (~20 min),
after which a run takes about 5 minutes (the first tf-idf fit ~1 min more; --no-tfidf skips it).
"""

from __future__ import annotations

import argparse
import collections
import json
import pickle
import random
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np

from semdigest import Filters, Home, ListRanker, Paper, SemdigestError, Topic
from semdigest.ranking import rank, search
from semdigest.ranking.fusion import LEXICAL_WEIGHT, topic_query

SHARED = Path(__file__).resolve().parents[2] / "shared"  # ../shared beside the checkout, as CI has it
CORPUS = SHARED / "corpus" / "papers.jsonl.gz"
DEV_LABELS = SHARED / "eval" / "labels-dev.jsonl"
HOME = Path(__file__).parent / ".cache" / "corpus"
PARTITIONS = "few-shot AP, partitions"
TARGETS = {"similar MAP@10": 0.50, "topic AP": 0.42, "few-shot AP": 0.60, PARTITIONS: 0.60}
PUBLISHED = {  # /work/shared/README.md, measured on the dev split
    "similar MAP@10": "tf-idf 0.40, all-MiniLM-L6-v2 cosine 0.44",
    "topic AP": "tf-idf 0.34, all-MiniLM-L6-v2 cosine 0.35",
    "few-shot AP": "tf-idf 0.50, all-MiniLM-L6-v2 cosine 0.49",
    PARTITIONS: "tf-idf 0.50, all-MiniLM-L6-v2 cosine 0.49",
}
OURS = "**semdigest**"
ABLATED = "semdigest, ablation: "  # the library with one choice changed, patched in for that row only
SIMILAR_ABLATION = ABLATED + "similar with the topics' fusion weight 0.4 (library: 0.3)"
FEWSHOT_ABLATION = ABLATED + "few-shot BM25 of the examples only (research recipe)"
LR_C = (0.1, 1.0, 10.0)

Labels = dict[str, dict[str, list[str]]]  # list -> section -> sorted paper ids
Results = dict[str, dict[str, dict[str, np.ndarray]]]  # metric -> method -> list -> per-query values


@dataclass(frozen=True)
class Query:
    list: str
    name: str  # the query paper's id (similar) or the section (topic, few-shot)
    candidates: list[str]
    relevant: frozenset[str]
    examples: tuple[str, ...] = ()


Ranker = Callable[[Query], list[str]]  # candidate ids, best first


# ---------------------------------------------------------------- data and protocol


def ensure_home(path: Path) -> None:
    """Build the benchmark home through the CLI if it has no usable index (ingesting the corpus first
    when its store is empty)."""
    with Home.open(path) as home:
        try:
            home.indexed([])
            return
        except SemdigestError:
            empty = home.stats().papers == 0
    print(
        f"{path}: no usable index yet; ingesting, embedding and indexing {CORPUS.name} (~20 min, once) ...",
        file=sys.stderr,
    )
    for command in [["ingest", str(CORPUS)]] * empty + [["index"]]:
        subprocess.run([sys.executable, "-m", "semdigest", "--home", str(path), *command], check=True)


def load_labels(path: Path) -> Labels:
    sections: dict = collections.defaultdict(lambda: collections.defaultdict(set))
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            sections[row["list"]][row["section"]].add(row["id"])
    return {name: {s: sorted(ids) for s, ids in secs.items()} for name, secs in sorted(sections.items())}


def members(sections: dict[str, list[str]]) -> list[str]:
    return sorted(set().union(*map(set, sections.values())))


def similar_queries(labels: Labels) -> list[Query]:
    queries = []
    for name, sections in labels.items():
        papers = members(sections)
        where = {p: {section for section, ids in sections.items() if p in ids} for p in papers}
        for q in papers:
            relevant = frozenset(p for p in papers if p != q and where[p] & where[q])
            if relevant:
                queries.append(Query(name, q, [p for p in papers if p != q], relevant))
    return queries


def topic_queries(labels: Labels) -> list[Query]:
    return [
        Query(name, section, members(sections), frozenset(ids))
        for name, sections in labels.items()
        for section, ids in sections.items()
        if len(ids) >= 2
    ]


def fewshot_queries(labels: Labels, draws: int) -> list[Query]:
    rng, queries = random.Random(0), []  # one generator across lists and sections: the research's draws
    for name, sections in labels.items():
        for section in sorted(sections):
            ids = sections[section]
            if len(ids) < 5:
                continue
            for _ in range(draws):
                examples = tuple(sorted(rng.sample(ids, 3)))
                queries.append(
                    Query(
                        name,
                        section,
                        [p for p in members(sections) if p not in examples],
                        frozenset(ids) - set(examples),
                        examples,
                    )
                )
    return queries


def fewshot_partitions(labels: Labels, shuffles: int) -> list[Query]:
    queries = []
    for seed in range(shuffles):
        rng = random.Random(seed)
        for name, sections in labels.items():
            for section in sorted(sections):
                ids = list(sections[section])
                if len(ids) < 4:
                    continue
                rng.shuffle(ids)
                for start in range(0, len(ids) - 2, 3):
                    examples = tuple(sorted(ids[start : start + 3]))
                    queries.append(
                        Query(
                            name,
                            section,
                            [p for p in members(sections) if p not in examples],
                            frozenset(ids) - set(examples),
                            examples,
                        )
                    )
    return queries


# ---------------------------------------------------------------- the application, opened once


@dataclass
class Bench:
    home: Home
    papers: dict[str, Paper]  # the labelled papers
    vectors: dict[str, np.ndarray]  # their cached vectors, for the baselines
    rankers: dict[str, ListRanker]  # list -> its papers, ready to rank for any topic
    members: dict[str, tuple[str, ...]]  # list -> its papers: the candidates of `similar`

    def V(self, ids: Sequence[str]) -> np.ndarray:
        return np.stack([self.vectors[i] for i in ids]).astype(np.float64)

    def bm25(self, text: str, ids: Sequence[str]) -> np.ndarray:
        return self.home.lexical_scores(text, ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.home.embed(texts)


def open_bench(path: Path, labels: Labels) -> tuple[Bench, Labels]:
    """The benchmark home, opened once; labels keep only papers that are stored and indexed."""
    home = Home.open(path)
    wanted = sorted({p for sections in labels.values() for p in members(sections)})
    known = home.indexed(wanted)
    if len(known) < len(wanted):
        print(f"{len(wanted) - len(known)} labelled papers are not indexed in {path}: left out", file=sys.stderr)
    kept = set(known)
    labels = {name: {s: [p for p in ids if p in kept] for s, ids in secs.items()} for name, secs in labels.items()}
    papers = home.papers(known)
    vectors = dict(zip(known, home.vectors(known)))
    lists = {name: tuple(members(sections)) for name, sections in labels.items()}
    # ids sorted: the ranking's stable sort then breaks ties by id, as the protocol does
    rankers = {name: home.ranker(ids) for name, ids in lists.items()}
    return Bench(home, papers, vectors, rankers, lists), labels


class Tfidf:
    """The research's tf-idf baseline: 1-2 grams, 20k features, fitted on every stored paper (cached)."""

    def __init__(self, bench: Bench, cache: Path) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        count = bench.home.stats().papers
        fitted = pickle.loads(cache.read_bytes()) if cache.exists() else (None, None)
        if fitted[0] != count:  # the cache belongs to one state of the home
            print(f"fitting tf-idf on {count} papers (~1 min, cached in {cache}) ...", file=sys.stderr)
            texts = list(bench.home.texts())
            fitted = (count, TfidfVectorizer(ngram_range=(1, 2), max_features=20000).fit(texts))
            cache.write_bytes(pickle.dumps(fitted))
        self.vectorizer = fitted[1]
        self.rows = {paper_id: row for row, paper_id in enumerate(bench.papers)}
        self.matrix = self.vectorizer.transform([paper.text for paper in bench.papers.values()])

    def of(self, ids: Sequence[str]):
        return self.matrix[[self.rows[i] for i in ids]]

    def scores(self, ids: Sequence[str], query: np.ndarray) -> np.ndarray:
        """Cosine: rows are unit length, and so is every query but the centroid (a constant factor)."""
        return np.asarray(self.of(ids) @ np.asarray(query).ravel()).ravel()

    def rankers(self) -> dict[str, dict[str, Ranker]]:
        def ranker(query_vector: Callable[[Query], np.ndarray]) -> Ranker:
            return lambda q: by_score(q, self.scores(q.candidates, query_vector(q)))

        return {
            "similar": {"tf-idf cosine": ranker(lambda q: self.of([q.name]).toarray())},
            "topic": {"tf-idf cosine, section name": ranker(lambda q: self.vectorizer.transform([q.name]).toarray())},
            "few-shot": {"tf-idf centroid": ranker(lambda q: self.of(q.examples).mean(0))},
        }


# ---------------------------------------------------------------- rankers


def by_score(query: Query, scores: np.ndarray) -> list[str]:
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    return [query.candidates[i] for i in order]


def semdigest_similar(b: Bench) -> Ranker:
    def ranked(q: Query) -> list[str]:
        (result,) = b.home.similar([q.name], n=10, filters=Filters(ids=b.members[q.list]))
        return [hit.paper.id for hit in result.hits]

    return ranked


def semdigest_topic(b: Bench) -> Ranker:
    """The list's papers ranked for the topic; with examples (few-shot) the examples are left out."""

    def ranked(q: Query) -> list[str]:
        items = b.rankers[q.list].rank(Topic(name=q.name, examples=q.examples), exclude=q.examples)
        return [item.paper.id for item in items]

    return ranked


def logistic(b: Bench, c: float) -> Ranker:
    """Examples as positives, the pool as unlabeled background (it holds the positives too), balanced."""
    from sklearn.linear_model import LogisticRegression

    def ranked(q: Query) -> list[str]:
        pool = b.V(q.candidates)
        x = np.vstack([b.V(q.examples), pool])
        y = np.r_[np.ones(len(q.examples)), np.zeros(len(pool))]
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit(x, y)
        return by_score(q, model.decision_function(pool))

    return ranked


def rankers(b: Bench, tfidf: Tfidf | None, names: list[str]) -> dict[str, dict[str, Ranker]]:
    """task -> method -> ranker: baselines first, then the library."""
    raw = dict(zip(names, b.embed(names)))  # section names as the topic text, as the published baselines
    baselines: dict[str, dict[str, Ranker]] = {
        "similar": {
            "MiniLM cosine": lambda q: by_score(q, b.V(q.candidates) @ b.vectors[q.name]),
            "BM25 of the paper's text": lambda q: by_score(q, b.bm25(b.papers[q.name].text, q.candidates)),
        },
        "topic": {
            "MiniLM cosine, section name": lambda q: by_score(q, b.V(q.candidates) @ raw[q.name]),
            "BM25 of topic_query(name)": lambda q: by_score(q, b.bm25(topic_query(q.name), q.candidates)),
        },
        "few-shot": {
            "MiniLM centroid": lambda q: by_score(q, b.V(q.candidates) @ b.V(q.examples).mean(0)),
            "BM25 of the examples' text": lambda q: by_score(
                q, b.bm25(" ".join(b.papers[p].text for p in q.examples), q.candidates)
            ),
            **{f"logistic regression (examples vs pool), C={c:g}": logistic(b, c) for c in LR_C},
        },
    }
    baselines["few-shot, partitions"] = baselines["few-shot"]
    ours = {
        "similar": semdigest_similar(b),
        "topic": semdigest_topic(b),
        "few-shot": semdigest_topic(b),
        "few-shot, partitions": semdigest_topic(b),
    }
    first = tfidf.rankers() if tfidf else {}
    first = first | ({"few-shot, partitions": first["few-shot"]} if first else {})
    return {task: {**first.get(task, {}), **rows, OURS: ours[task]} for task, rows in baselines.items()}


# ---------------------------------------------------------------- metrics and report


def average_precision(ranked: Sequence[str], relevant: frozenset[str], k: int | None = None) -> float:
    """AP of a ranking; with k, AP@k divided by min(k, #relevant) (relevant papers missing from a
    shortened ranking count as misses)."""
    hits = np.array([paper_id in relevant for paper_id in ranked[:k]], dtype=float)
    if not relevant or not len(hits):
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((hits * precision).sum() / (min(k, len(relevant)) if k else len(relevant)))


METRICS: dict[str, dict[str, Callable[[list[str], Query], float]]] = {
    "similar": {
        "similar MAP@10": lambda r, q: average_precision(r, q.relevant, 10),
        "similar P@10": lambda r, q: sum(p in q.relevant for p in r[:10]) / min(10, len(q.candidates)),
    },
    "topic": {"topic AP": lambda r, q: average_precision(r, q.relevant)},
    "few-shot": {"few-shot AP": lambda r, q: average_precision(r, q.relevant)},
    "few-shot, partitions": {PARTITIONS: lambda r, q: average_precision(r, q.relevant)},
}


def evaluate(results: Results, task: str, queries: list[Query], name: str, ranker: Ranker) -> None:
    start, values = time.perf_counter(), collections.defaultdict(lambda: collections.defaultdict(list))
    for q in queries:
        ranked = ranker(q)
        for metric, measure in METRICS[task].items():
            values[metric][q.list].append(measure(ranked, q))
    for metric, per_list in values.items():
        results[metric][name] = {lst: np.array(v) for lst, v in per_list.items()}
    print(f"{task}: {name} {time.perf_counter() - start:.0f}s", file=sys.stderr)


def pooled(per_list: dict[str, np.ndarray]) -> float:
    return float(np.concatenate(list(per_list.values())).mean())


def macro(per_list: dict[str, np.ndarray]) -> float:
    return float(np.mean([v.mean() for v in per_list.values()]))


def lolo(rows: dict[str, dict[str, np.ndarray]]) -> str:
    """Leave-one-list-out: per held-out list, the row best on the other lists (pooled), scored on it."""
    lists = sorted(next(iter(rows.values())))
    if len(lists) < 2:
        return "LOLO needs two lists or more"
    held, chosen = {}, []
    for lst in lists:
        best = max(rows, key=lambda n: np.concatenate([rows[n][m] for m in lists if m != lst]).mean())
        held[lst] = rows[best][lst]
        chosen.append(best)
    return f"pooled {pooled(held):.3f}, macro {macro(held):.3f}; chosen per held-out list: {chosen}"


def short(name: str) -> str:
    return name.split("/")[-1].replace("Awesome-", "")[:18]


def table(metric: str, rows: dict[str, dict[str, np.ndarray]]) -> list[str]:
    lists = sorted(next(iter(rows.values())))
    lines = [
        f"### {metric}",
        "",
        "| method | pooled | macro | " + " | ".join(map(short, lists)) + " |",
        "|---|---|---|" + "---|" * len(lists),
    ]
    lines += [
        f"| {name} | {pooled(per):.3f} | {macro(per):.3f} | "
        + " | ".join(f"{per[lst].mean():.3f}" for lst in lists)
        + " |"
        for name, per in rows.items()
    ]
    if metric in PUBLISHED:
        lines += ["", f"Published in /work/shared/README.md (dev split): {PUBLISHED[metric]}."]
    return lines + [""]


def knobs(rows: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, dict[str, dict[str, np.ndarray]]]]:
    """Groups of rows that differ in one knob: the candidates of a LOLO choice."""
    lr = {name.rsplit(", ", 1)[1]: per for name, per in rows.items() if name.startswith("logistic")}
    pairs = [
        (label, {library: rows[OURS], ablated: rows[name]})
        for name, label, library, ablated in (
            (SIMILAR_ABLATION, "the similar fusion weight", "0.3 (library)", "0.4"),
            (FEWSHOT_ABLATION, "the few-shot lexical evidence", "+ topic words (library)", "examples only"),
        )
        if name in rows
    ]
    return ([("the logistic regression's C", lr)] if lr else []) + pairs


def report(results: Results, counts: dict[str, int]) -> str:
    lines = []
    for metric, rows in results.items():
        choices = [f"LOLO over {label}: {lolo(grid)}" for label, grid in knobs(rows)]
        lines += table(metric, rows) + (choices + [""] if choices else [])
    lines += ["### Summary", ""]
    for metric, target in TARGETS.items():
        if metric in results:  # a labels file may have no section large enough for a task
            lines.append(verdict(metric, target, results[metric]))
    if "few-shot AP" in results:
        few = results["few-shot AP"]
        lr = {name.rsplit(", ", 1)[1]: per for name, per in few.items() if name.startswith("logistic")}
        best_lr = max(lr, key=lambda c: pooled(lr[c]))
        scorers = (
            ("semdigest (rank.py)", few[OURS]),
            (f"logistic regression ({best_lr})", lr[best_lr]),
            ("MiniLM centroid", few["MiniLM centroid"]),
        )
        lines += [
            "",
            "Few-shot scorers, pooled / macro: "
            + "; ".join(f"{label} {pooled(per):.3f} / {macro(per):.3f}" for label, per in scorers)
            + ".",
        ]
    return "\n".join(lines + ["Queries: " + ", ".join(f"{task} {n}" for task, n in counts.items()) + "."])


def verdict(metric: str, target: float, rows: dict[str, dict[str, np.ndarray]]) -> str:
    ours = rows[OURS]
    best = max((n for n in rows if n != OURS and not n.startswith(ABLATED)), key=lambda n: pooled(rows[n]))
    met = {agg: "met" if value(ours) >= target else "NOT met" for agg, value in (("pooled", pooled), ("macro", macro))}
    ablations = "".join(
        f"; {n.removeprefix(ABLATED)}: {pooled(per):.3f} / {macro(per):.3f}"
        for n, per in rows.items()
        if n.startswith(ABLATED)
    )
    return (
        f"- {metric}: semdigest {pooled(ours):.3f} pooled / {macro(ours):.3f} macro; target >= {target:.2f}"
        f" {met['pooled']} pooled, {met['macro']} macro (best baseline: {best} {pooled(rows[best]):.3f}{ablations})"
    )


def run_ablations(b: Bench, queries: dict[str, list[Query]], results: Results) -> None:
    # similar uses fusion.SIMILAR_LEXICAL_WEIGHT (0.3, picked leave-one-list-out); topics use LEXICAL_WEIGHT.
    # The patch replaces the weight where search.py calls hybrid_scores.
    with mock.patch.object(search, "SIMILAR_LEXICAL_WEIGHT", LEXICAL_WEIGHT):
        evaluate(results, "similar", queries["similar"], SIMILAR_ABLATION, semdigest_similar(b))
    # rank.py's few-shot lexical evidence is BM25(examples) + BM25(topic words), the research's BM25(examples)
    # only. There topic_query feeds only the second term (the dense topic vector comes from topic_texts), so
    # blanking it leaves exactly the research's evidence.
    with mock.patch.object(rank, "topic_query", lambda name: ""):
        evaluate(results, "few-shot", queries["few-shot"], FEWSHOT_ABLATION, semdigest_topic(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, default=DEV_LABELS, help="labels file (default: the dev split)")
    parser.add_argument("--home", type=Path, default=HOME, help="benchmark home with the whole corpus indexed")
    parser.add_argument(
        "--tfidf",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the tf-idf baseline (first fit ~1 min, then cached in the home)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 few-shot draws per section instead of 10, 1 partition shuffle instead of 5",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    warnings.filterwarnings("ignore", module="sklearn")  # LR convergence chatter on 3 positives
    ensure_home(args.home)
    bench, labels = open_bench(args.home, load_labels(args.labels))
    tfidf = Tfidf(bench, args.home / "bench-tfidf.pkl") if args.tfidf else None
    queries = {
        "similar": similar_queries(labels),
        "topic": topic_queries(labels),
        "few-shot": fewshot_queries(labels, 3 if args.quick else 10),
        "few-shot, partitions": fewshot_partitions(labels, 1 if args.quick else 5),
    }
    results: Results = collections.defaultdict(dict)
    names = sorted({q.name for q in queries["topic"]})
    for task, methods in rankers(bench, tfidf, names).items():
        for name, ranker in methods.items():
            evaluate(results, task, queries[task], name, ranker)
    run_ablations(bench, queries, results)
    print(report(results, {task: len(q) for task, q in queries.items()}))
    print(
        f"\n_{args.labels.name}, {bench.home.stats().papers} papers in {args.home}; {time.perf_counter() - start:.0f}s_"
    )


if __name__ == "__main__":
    main()
