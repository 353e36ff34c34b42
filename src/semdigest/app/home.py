"""Home: one data directory, and everything semdigest does with it.

Every front end (the CLI, the benchmarks, a web page, a mail or Ray job) opens a Home and calls one method
per action. The Home wires the stages together (arXiv -> store -> embeddings -> indexes -> ranking ->
output), owns the writer lock (callers never take it; a Home's own nested calls share it) and knows the
data directory's layout (through layout.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from ..config import Settings, check_categories, load_settings
from ..embedding.cache import embed_missing, embed_texts
from ..embedding.registry import LazyEmbedder
from ..errors import (
    DamagedStore,
    IndexDamaged,
    IndexProblem,
    OutputError,
    SemdigestError,
    UnknownPaper,
    UsageError,
)
from ..faults import os_problem, recovery
from ..indexes.directory import IndexDir, Indexes
from ..layout import Layout
from ..lock import writer_lock
from ..output.mail import digest_mail
from ..paper import Paper
from ..ranking.digest import build_digest, choose_period, period_papers, pool_of
from ..ranking.rank import Explanation, Pool, compare, explain, rank_topic
from ..ranking.search import Filters, Searcher
from ..ranking.topics import Topic, TopicChange, find_topic, replace_topic, save_topics
from ..sources.ids import parse_id
from ..sources.snapshot import EMBEDDED_DAY, SEED_TOPICS, SnapshotReading, embedded_data, is_large, read_snapshot
from ..store import Stats, Store
from .datadir import make_home, open_store, require_home
from .events import Events
from .firstrun import init_home, paths_of
from .history import export_history, import_history
from .intake import (
    BATCH,
    BULK_BATCH,
    arxiv_client,
    check_submission_day,
    ensure_stored,
    fetch_listing,
    oai_client,
    store_papers,
)
from .mail import deliver
from .publish import ListRanker, mail_settings, publish
from .reports import (
    CheckReport,
    DemoResult,
    DigestResult,
    FetchReport,
    HarvestReport,
    HistoryReport,
    IndexResult,
    IngestReport,
    InitResult,
    Paths,
    Preview,
    RunResult,
    Similar,
)
from .similar import checked_request, similar_results
from .topics import TopicsFile

__all__ = ["Home", "ListRanker"]  # ListRanker lives in publish.py; semdigest exports it from here

ENGINES = ("local", "ray")  # where `index` embeds: this process, or a Ray cluster


class Home:
    """One semdigest data directory. Open it with `Home.open(path)`; close it (or use `with`) when done."""

    def __init__(self, settings: Settings, events: Events | None = None) -> None:
        self.settings, self.layout = settings, Layout(settings.home)
        self.events = events or Events()
        self.indexes = IndexDir(self.layout.index)
        self._store: Store | None = None
        self._opened: Indexes | None = None
        self._lock_depth = 0
        self._model = LazyEmbedder(
            settings.model,
            models_dir=settings.models_dir,
            cache_dir=self.layout.cache,
            fast=settings.fast,
            on_load=self.events.say,
        )

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        model: str | None = None,
        events: Events | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> Home:
        """The data directory `path` (else $SEMDIGEST_HOME, else a `.semdigest/` in the current folder or a
        parent, else the per-user one: config.find_home) with its config.toml; `model` overrides the
        configured embedding model. Nothing is created until a method that stores something runs."""
        settings = load_settings(path, env)
        return cls(replace(settings, model=model) if model else settings, events)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Home:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings, self.indexes, writing=bool(self._lock_depth))
        return self._store

    # --- the data directory ----------------------------------------------------------------------------

    def paths(self) -> Paths:
        """Where everything is, and why the data directory is this one; reads and creates nothing."""
        return paths_of(self.settings)

    def init(self, *, github: bool = False) -> InitResult:
        """Make the data directory with a commented topics.toml and config.toml (and, with `github`, the
        scheduled workflow in `.github/workflows/` beside it); files that exist are kept as they are."""
        with self._writing(create=True):
            return init_home(self.settings, github=github, say=self.events.say)

    def export_history(self, path: Path | None = None) -> HistoryReport:
        """The seen-history to a JSONL file (default `<home>/seen-history.jsonl`), for a repository to keep."""
        with self._writing():
            return export_history(self.store, path or self.layout.history)

    def import_history(self, path: Path | None = None) -> HistoryReport:
        """Merge an exported seen-history into the store (a fresh store after a cache was evicted)."""
        with self._writing(create=True):
            return import_history(self.store, path or self.layout.history)

    def check(self) -> CheckReport:
        """SQLite's integrity_check of the store and every index file verified whole (checksums): what is
        damaged and how to repair it. Changes nothing, takes no lock (a writer may work meanwhile)."""
        require_home(self.settings)
        return CheckReport(self.layout.db, self._database_problem(), self.indexes.check())

    def _database_problem(self) -> str | None:
        db = self.layout.db
        if not db.exists():
            return None
        try:
            found = self.store.integrity()
        except DamagedStore as error:
            return str(error)
        if not found:
            return None
        lines = [" ".join(item.split()).removeprefix("*** in database main *** ") for item in found[:3]]
        return f"{db} is damaged ({'; '.join(lines)}): {recovery(db)}"

    # --- papers ------------------------------------------------------------------------------------------

    def fetch(self, categories: Sequence[str] | None = None, day: date | None = None) -> FetchReport:
        """Today's RSS listing (or, with `day`, the papers submitted that day, through the API) into the store."""
        cats = list(check_categories("categories", categories) if categories else self.settings.categories)
        if day is not None:
            check_submission_day(day)
        self.events.say(f"fetching {'+'.join(cats)} {f'for {day}' if day else 'from today’s RSS listing'} ...")
        with self._writing(create=True), arxiv_client(self.settings, self.events) as client:
            return fetch_listing(self.store, self.events, client, cats, day)

    def fetch_ids(self, ids: Sequence[str]) -> FetchReport:
        """These papers (any id form; malformed ones fail before any request) into the store; an id with a
        version (`2508.13073v2`) asks arXiv for that version, which the store keeps unless it has a newer one."""
        wanted = [str(parse_id(raw)) for raw in ids]
        with self._writing(create=True), arxiv_client(self.settings, self.events) as client:
            lookup = client.lookup(wanted)
            return FetchReport(store_papers(self.store, self.events, lookup.papers), missing=tuple(lookup.missing))

    def ingest(self, path: Path) -> IngestReport:
        """A `.jsonl`/`.jsonl.gz` file in the arXiv metadata snapshot format, streamed in bounded memory."""
        reading = SnapshotReading()
        meter = self.events.meter(f"ingesting {path.name}")
        with self._writing(create=True):
            papers = read_snapshot(path, reading)
            batch_size = BULK_BATCH if is_large(path) else BATCH  # a stream (a pipe, a FIFO) commits as it comes
            counts = store_papers(self.store, self.events, papers, progress=meter.advance, batch_size=batch_size)
        meter.finish()
        return IngestReport(counts, reading.lines, tuple(reading.bad), tuple(reading.cut))

    def harvest(
        self,
        set_spec: str | None = None,
        *,
        from_day: date | None = None,
        until_day: date | None = None,
        prefix: str = "arXiv",
    ) -> HarvestReport:
        """An OAI-PMH harvest of arXiv (a set such as `cs`, `physics:hep-th` or `cs:cs:CV`; None: all of it)
        into the store, in the `arXiv` or `arXivRaw` (versions) format. Resumes an interrupted harvest of
        the same set and format; without `from_day`, starts where the last completed one stopped."""
        from ..sources.oai import Selection  # httpx loads only when arXiv is asked
        from .harvest import harvest_into

        selection = Selection(prefix, set_spec, from_day, until_day)  # a bad set fails before anything is made
        with self._writing(create=True), oai_client(self.settings, self.events) as client:
            return harvest_into(self.store, client, selection, self.events)

    def paper(self, paper_id: str) -> Paper:
        """A stored paper; UnknownPaper if the store does not have it."""
        canonical = parse_id(paper_id).id
        paper = self.store.get(canonical)
        if paper is None:
            raise UnknownPaper(f"{canonical} is not in the store (fetch it: semdigest fetch --id {canonical})")
        return paper

    def papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """The stored papers among these ids (canonical ids as keys)."""
        return self.store.get_many([parse_id(raw).id for raw in paper_ids])

    def stats(self) -> Stats:
        """Papers, days and categories stored; all zero (and nothing created) in a data directory without a store."""
        if self._store is None and not self._lock_depth and not self.layout.db.exists():
            require_home(self.settings)
            return Stats(0, 0, None, None, [])
        return self.store.stats()

    # --- embeddings and indexes ----------------------------------------------------------------------------

    def index(
        self,
        *,
        rebuild: bool = False,
        engine: str = "local",
        address: str | None = None,
        workers: int | None = None,
    ) -> IndexResult:
        """Embed every paper that has no vector yet, then bring the FAISS and BM25 indexes up to date.
        engine="ray" embeds on a Ray cluster (`address`, else a local one) with `workers` actors
        (embedding/distributed.py); this process writes the vectors and builds the indexes either way."""
        if engine not in ENGINES:
            raise UsageError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
        if engine == "local" and (address or workers):
            raise UsageError("--address and --workers go with --engine ray")
        if workers is not None and workers < 1:
            raise UsageError(f"--workers must be at least 1, not {workers}")
        if engine == "ray":
            from ..embedding.distributed import require_ray

            require_ray()  # without the extra: one line saying how to install it, before anything else
        with self._writing():
            on_ray = self._embed_on_ray(address, workers) if engine == "ray" else 0
            result = self._prepare(rebuild=rebuild)
            return replace(result, embedded=result.embedded + on_ray)

    def indexed(self, paper_ids: Sequence[str]) -> list[str]:
        """Those of these papers that are stored and indexed, in order."""
        state = self._open_indexes().vectors.state
        keys = self.store.keys([parse_id(raw).id for raw in paper_ids])
        return [paper_id for paper_id in keys if keys[paper_id] in state]

    def vectors(self, paper_ids: Sequence[str]) -> np.ndarray:
        """The cached vectors of these indexed papers, in order (one row each)."""
        keys = self.store.keys(list(paper_ids))
        return self.store.vectors(self._open_indexes().model, [keys[paper_id] for paper_id in paper_ids])

    def lexical_scores(self, text: str, paper_ids: Sequence[str]) -> np.ndarray:
        """BM25 of `text` for these indexed papers (IDF from the whole store)."""
        keys = self.store.keys(list(paper_ids))
        return self._open_indexes().lexical.scores(text, [keys[paper_id] for paper_id in paper_ids])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of free texts (cached), from the model the index was built with."""
        return embed_texts(self.store, self._open_indexes().model, texts, self._model)

    def texts(self) -> Iterator[str]:
        """`title + " " + abstract` of every stored paper, streamed in key order."""
        keys = self.store.keys_matching(None, None, ()).tolist()
        for start in range(0, len(keys), BATCH):
            yield from self.store.texts(keys[start : start + BATCH])

    # --- similar papers ------------------------------------------------------------------------------------

    def similar(
        self, ids: Sequence[str] = (), *, text: str | None = None, n: int = 10, filters: Filters | None = None
    ) -> list[Similar]:
        """For each paper (fetched from arXiv, embedded and indexed when the store lacks it) and for `text`,
        the `n` most similar stored papers, restricted by `filters` (days, categories, a reading list)."""
        wanted = list(dict.fromkeys(parse_id(raw).id for raw in ids))  # malformed ids fail before anything else
        filters = checked_request(wanted, text, filters)
        try:
            return self._similar(wanted, text, n, filters)
        except IndexDamaged as problem:  # seen in what a query read: the quick check on open passed it
            self._repair(problem)
        try:
            return self._similar(wanted, text, n, filters)
        except IndexDamaged as problem:
            raise IndexProblem(f"{problem} (still, after a repair): run semdigest index --rebuild") from None

    def _similar(self, wanted: list[str], text: str | None, n: int, filters: Filters | None) -> list[Similar]:
        searcher, queries = self._queries(wanted)
        return similar_results(self.store, self._model, searcher, queries, text, n, filters)

    def similar_by_id(self, paper_id: str, *, n: int = 10, filters: Filters | None = None) -> list[Paper]:
        """The `n` stored papers most like one paper, best first (`similar` for a single id, papers only)."""
        (result,) = self.similar([paper_id], n=n, filters=filters)
        return [hit.paper for hit in result.hits]

    def _queries(self, wanted: list[str]) -> tuple[Searcher, list[tuple[int, Paper, np.ndarray]]]:
        searcher = self._searcher()
        found = self.store.get_keyed(wanted)
        vectors = {paper_id: searcher.vector_of(found[paper_id][0]) for paper_id in wanted if paper_id in found}
        lacking = [paper_id for paper_id in wanted if vectors.get(paper_id) is None]
        if lacking:
            with self._writing():
                ensure_stored(self.store, self.events, self.settings, lacking)
                self._prepare(paper_ids=lacking)
            searcher = self._searcher()
            found = self.store.get_keyed(wanted)
            vectors = {paper_id: searcher.vector_of(found[paper_id][0]) for paper_id in wanted}
        queries = []
        for paper_id in wanted:
            vector = vectors[paper_id]
            if vector is None:  # stored and embedded just now, so only a concurrent change explains it
                raise IndexProblem(f"{paper_id} is not indexed: run semdigest index")
            queries.append((found[paper_id][0], found[paper_id][1], vector))
        return searcher, queries

    # --- topics and digests --------------------------------------------------------------------------------

    def topics(self, path: Path | None = None) -> TopicsFile:
        """The topics file (default `<home>/topics.toml`): read it, and edit it under the writer lock."""
        return TopicsFile(self, path or self.layout.topics)

    def digest(
        self,
        *,
        day: date | None = None,
        first: date | None = None,
        last: date | None = None,
        topics: Path | None = None,
        out: Path | None = None,
        include_all: bool = False,
        show_seen: bool = False,
        email: bool = False,
    ) -> DigestResult:
        """Rank the day's (or period's; default: the latest listing day's) papers for every topic, write the
        pages, feeds and digest.json under `out` (default `<home>/digests`) and remember what they showed:
        one unit, so nothing is remembered unless everything was written. `include_all` ranks every paper
        and writes and remembers nothing (a look at the whole ranking, not a digest to publish). `email`
        then mails it (config.toml's [email]); a failed mail keeps everything written and the message in
        the outbox, for the next mailing to send first, and says why in `result.mail.error`."""
        if email and include_all:
            raise UsageError("a complete ranking (--all) is not a digest: it is neither written nor mailed")
        mailing = mail_settings(self.settings, self.layout.config) if email else None  # fails before the ranking starts
        folder = out or self.layout.digests
        if folder.exists() and not folder.is_dir():  # before the ranking's seconds are spent
            raise OutputError(f"cannot write the digest to {folder}: not a folder")
        with self._writing():
            chosen = self.topics(topics).all()
            start, end = choose_period(self.store.listing_days(), day, first, last)
            pool = self._pool(period_papers(self.store, start, end), chosen)
            result = build_digest(self.store, chosen, pool, start, end, show_seen=show_seen, include_all=include_all)
            if include_all:
                return DigestResult(result)
            publish(self.store, result, folder, self.settings.open_abstracts)
            mail = None
            if mailing:
                message = digest_mail(result, sender=mailing.sender, to=mailing.to)
                mail = deliver(mailing, self.layout.outbox, result.label, message)
            return DigestResult(result, folder / result.label / "README.md", mail)

    def run(
        self,
        categories: Sequence[str] | None = None,
        *,
        topics: Path | None = None,
        out: Path | None = None,
        email: bool = False,
    ) -> RunResult:
        """The daily job, under one lock: fetch today's listing, embed and index it, write (and, with
        `email`, mail) the digest."""
        if email:
            mail_settings(self.settings, self.layout.config)  # a missing [email] table fails before anything is fetched
        with self._writing(create=True):
            fetched = self.fetch(categories)
            if fetched.day is None or fetched.total == 0:
                return RunResult(fetched, None)
            return RunResult(fetched, self.digest(day=fetched.day, topics=topics, out=out, email=email))

    def demo(self, file: Path | None = None) -> DemoResult:
        """The daily job on the embedded listing day (2025-08-18) or `file`, with the keyword digest's seed
        topics imported when the data directory has no topics yet."""
        with self._writing(create=True):
            ingested = self.ingest(file or embedded_data(EMBEDDED_DAY))
            imported: tuple[Topic, ...] = ()
            if not self.layout.topics.exists():
                imported = tuple(self.topics().import_from(embedded_data(SEED_TOPICS)))
            day = None if file else date(2025, 8, 18)
            return DemoResult(ingested, imported, self.digest(day=day))

    def explain(
        self, topic: str, paper_id: str, *, day: date | None = None, topics: Path | None = None
    ) -> tuple[date, Explanation]:
        """Why a paper of the day got its score in a topic, and whether the digest shows it."""
        chosen = find_topic(self.topics(topics).all(), topic)
        canonical = parse_id(paper_id).id
        with self._writing():
            start, _ = choose_period(self.store.listing_days(), day, None, None)
            pool = self._pool(period_papers(self.store, start, start), [chosen])
            return start, explain(chosen, pool, canonical, seen=self.store.seen_before(chosen.name, start))

    def preview(
        self,
        topic: str,
        change: TopicChange,
        *,
        day: date | None = None,
        topics: Path | None = None,
        save: bool = False,
    ) -> Preview:
        """A topic's digest of the day before and after `change`, side by side; `save` then saves the change."""
        path = topics or self.layout.topics
        with self._writing():
            before = find_topic(self.topics(path).all(), topic)
            after = change.apply(before)
            examples = [parse_id(raw).id for raw in (*change.liked, *change.unliked)]
            ensure_stored(self.store, self.events, self.settings, examples)
            start, _ = choose_period(self.store.listing_days(), day, None, None)
            pool = self._pool(period_papers(self.store, start, start), [before, after])
            seen = self.store.seen_before(topic, start)
            old, new = rank_topic(before, pool, seen=seen), rank_topic(after, pool, seen=seen)
            saved = None
            if save:
                current = self.topics(path).all()  # under the lock: no edit in between is lost
                save_topics(path, replace_topic(current, change.apply(find_topic(current, topic))))
                saved = path
        return Preview(topic, start, old, new, compare(old, new), saved)

    def ranker(self, paper_ids: Sequence[str]) -> ListRanker:
        """Ranks these stored, indexed papers (a reading list, a curated list) for any topic; the pool is
        assembled once, for ranking many topics over one list."""
        ids = [parse_id(raw).id for raw in paper_ids]
        found = self.store.get_many(ids)
        return ListRanker(pool_of(self.store, [found[i] for i in ids if i in found], self._open_indexes(), self.embed))

    # --- the stages, wired ---------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, *, create: bool = False) -> Iterator[None]:
        """The writer lock, taken once however deeply a Home's methods call each other. `create`: the
        method stores something, so a missing data directory is made; the others need an existing one.
        An OSError that escapes the writes (a full disk, a read-only filesystem) becomes one line."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        try:
            if create:
                make_home(self.settings, self.events.say)
            else:
                require_home(self.settings)
            with writer_lock(self.layout.lock, on_wait=self.events.say):
                self._lock_depth = 1
                try:
                    yield
                finally:
                    self._lock_depth = 0
        except OSError as error:
            raise os_problem(error) from None

    def _prepare(self, *, paper_ids: Sequence[str] | None = None, rebuild: bool = False) -> IndexResult:
        """Embed what has no vector yet (of these papers), then update both indexes: the `index` stage."""
        meters = []

        def start(count: int) -> None:
            self.events.say(f"embedding {count} papers with {self._model.model} ...")
            self._model.embedder  # noqa: B018 - load (or build) the model first, so the rate counts papers only
            meters.append(self.events.meter("embedding", count))

        embedded = embed_missing(
            self.store,
            self._model,
            paper_ids=paper_ids,
            on_start=start,
            progress=lambda count: meters[0].advance(count),
        )
        for meter in meters:
            meter.finish()
        report = self.indexes.refresh(self.store, self._model.model_id, rebuild=rebuild, on_problem=self.events.say)
        self._opened = None
        return IndexResult(embedded, report)

    def _embed_on_ray(self, address: str | None, workers: int | None) -> int:
        """The bulk of `index` on Ray; whatever it leaves (a damaged vector) _prepare embeds here."""
        from ..embedding.distributed import embed_on_ray

        if not self.store.unembedded_page(self._model.model_id, -1, 1):
            return 0  # nothing to embed: no cluster to start
        self.events.say(f"embedding with {self._model.model} on Ray {address or '(local)'} ...")
        embedder = self._model.embedder  # built here, once, before any worker loads it from the cache
        meter = self.events.meter("embedding")
        try:
            return embed_on_ray(self.store, embedder, address=address, workers=workers, progress=meter.advance)
        finally:
            meter.finish()

    def _open_indexes(self) -> Indexes:
        """The live indexes; damaged ones are repaired first (under the writer lock), with a message."""
        if self._opened is None:
            try:
                try:
                    self._opened = self.indexes.open()
                except IndexDamaged as problem:
                    self._repair(problem)
                    self._opened = self.indexes.open()
            except (IndexProblem, OSError) as problem:
                raise IndexProblem(f"no usable index ({problem}): run semdigest index") from None
        return self._opened

    def _repair(self, problem: IndexDamaged) -> None:
        """Bring damaged indexes back from the store's cached vectors and texts (refresh verifies every file
        whole and rebuilds what is damaged); an index that cannot be repaired here is one line."""
        self.events.say(f"{problem}: repairing the index from the cached vectors")
        self._opened = None
        try:
            with self._writing():
                self.indexes.refresh(self.store, self.indexes.model() or self._model.model_id)
        except SemdigestError as error:
            raise IndexProblem(f"{problem}, and it cannot be repaired now ({error})") from None

    def _searcher(self) -> Searcher:
        return Searcher(self.store, self._open_indexes())

    def _pool(self, papers: list[Paper], topics: Sequence[Topic]) -> Pool:
        """Papers ready to rank: they and the topics' example papers embedded, the indexes current."""
        references = [paper_id for topic in topics for paper_id in (*topic.examples, *topic.negatives)]
        self._prepare(paper_ids=[paper.id for paper in papers] + references)
        return pool_of(self.store, papers, self._open_indexes(), self.embed)
