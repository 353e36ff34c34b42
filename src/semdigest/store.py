"""The SQLite store: papers, their listings, the embedding cache and the topics' seen-history.

Every write runs in one transaction; the schema is versioned with `PRAGMA user_version` and
migrated forward on open. WAL mode lets `show`/`similar` read while a fetch writes.

Every public method turns a sqlite3.DatabaseError (a damaged file, a full disk, a read-only folder) into
a one-line SemdigestError naming the database file (faults.py), and so does a stored value that cannot be
what semdigest wrote (a listing day that is not a date, a vector that is not unit length): a damaged
vector counts as missing, so the next embedding pass replaces it.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CannotWrite, StoreError
from .faults import BadValue, guard_database_errors, sound_vectors, stored_day
from .paper import Paper

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE papers (
        key INTEGER PRIMARY KEY,            -- stable integer id: the FAISS id of the paper's vector
        id TEXT NOT NULL UNIQUE,            -- canonical arXiv id, no version
        version INTEGER,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL,
        authors TEXT NOT NULL,              -- JSON array
        categories TEXT NOT NULL,           -- space-separated, primary first
        published TEXT, updated TEXT, listed TEXT, announce_type TEXT,
        comment TEXT, journal_ref TEXT, doi TEXT,
        hash TEXT NOT NULL,                 -- of title + abstract: the embedding cache key
        stored_at TEXT NOT NULL
    );
    CREATE INDEX papers_listed ON papers(listed);
    CREATE TABLE listings (                 -- every day a paper was announced (new, then replaced...)
        date TEXT NOT NULL,
        paper_id TEXT NOT NULL REFERENCES papers(id),
        announce_type TEXT,
        PRIMARY KEY (date, paper_id)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE embeddings (               -- the embedding cache: a text is embedded once per model
        model TEXT NOT NULL,
        hash TEXT NOT NULL,
        vector BLOB NOT NULL,               -- float32, L2-normalised
        PRIMARY KEY (model, hash)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE shown (                    -- the seen-history: each paper is new to a topic once
        topic TEXT NOT NULL,
        paper_id TEXT NOT NULL,
        date TEXT NOT NULL,                 -- the digest day that first showed it
        score REAL NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (topic, paper_id)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE harvests (                 -- OAI-PMH harvests: one checkpoint per metadata format and set
        prefix TEXT NOT NULL,
        set_spec TEXT NOT NULL,             -- '' for all of arXiv
        from_day TEXT, until_day TEXT,      -- what the harvest in progress (or the last one) asked for
        token TEXT,                         -- the next page's resumptionToken, NULL once the harvest is done
        newest TEXT,                        -- the latest datestamp the harvest in progress stored
        last_datestamp TEXT,                -- the latest of the last completed harvest: the next starts there
        updated_at TEXT NOT NULL,
        PRIMARY KEY (prefix, set_spec)
    ) WITHOUT ROWID;
    """,
    # Covering indexes for the joins of papers with the embedding cache (which papers have a vector, which
    # lack one): without them each join read both tables whole, ~1.5 kB a row, minutes a day at 2.7M papers.
    # The queries name embeddings_keys (INDEXED BY): without statistics SQLite probes the table's primary key,
    # whose leaves hold the vectors. The lookups of given papers' vectors say CROSS JOIN (papers first): with
    # papers(hash) there, SQLite 3.40 chose to scan every vector of the model for an IN list of 500 keys.
    # The embedding cache becomes a rowid table: a WITHOUT ROWID table keeps at most ~1 kB of a row in its B-tree
    # page, so each 1.5 kB vector spilled onto an overflow page of its own (15 GB for 2.7M vectors where they
    # hold 4 GB), too large for the page cache, and a lookup went to the disk (~2 ms).
    """
    CREATE INDEX papers_hash ON papers(hash);
    CREATE TABLE embeddings_rows (model TEXT NOT NULL, hash TEXT NOT NULL, vector BLOB NOT NULL);
    INSERT INTO embeddings_rows (model, hash, vector) SELECT model, hash, vector FROM embeddings ORDER BY model, hash;
    DROP TABLE embeddings;
    ALTER TABLE embeddings_rows RENAME TO embeddings;
    CREATE UNIQUE INDEX embeddings_keys ON embeddings(model, hash);
    """,
)

_COLUMNS = [f.name for f in fields(Paper)]
_SELECT = f"SELECT key, {', '.join(_COLUMNS)} FROM papers"
# fields the newer copy may lack (None, "" or no items) and the older one then gives
_KEPT_WHEN_ABSENT = (
    "title",
    "abstract",
    "authors",
    "categories",
    "version",
    "published",
    "updated",
    "comment",
    "journal_ref",
    "doi",
)


@dataclass
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # new papers that arrived without a title or an abstract: reported, never stored (nor embedded, nor ranked)
    incomplete: list[str] = field(default_factory=list)

    def add(self, other: UpsertCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.incomplete += other.incomplete


@dataclass(frozen=True)
class Stats:
    papers: int
    days: int
    first_day: date | None
    last_day: date | None
    categories: list[tuple[str, int]]  # primary category, papers; most first


@dataclass(frozen=True)
class HarvestCheckpoint:
    """Where the OAI-PMH harvest of one set in one metadata format stands."""

    prefix: str
    set_spec: str  # "" for all of arXiv
    from_day: date | None = None
    until_day: date | None = None
    token: str | None = None  # the next page's resumptionToken: a harvest is in progress
    newest: str | None = None  # the latest datestamp the harvest in progress stored
    last_datestamp: str | None = None  # the latest datestamp of the last completed harvest


@guard_database_errors
class Store:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """`readonly`: open a database on a read-only filesystem or in an immutable folder, where SQLite
        could not create its WAL index (-shm) file; nothing can change it there, hence `immutable`."""
        self._depth = 0  # open transactions: an inner one is a savepoint of the outer
        self.path, self.readonly = path, readonly
        if readonly:
            uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro&immutable=1"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            self._check_version()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_version(self) -> int:
        current = self.db.execute("PRAGMA user_version").fetchone()[0]
        if current > len(MIGRATIONS):
            raise StoreError(f"database schema v{current} is newer than this semdigest (v{len(MIGRATIONS)})")
        if self.readonly and current < len(MIGRATIONS):
            raise CannotWrite(f"{self.path} needs an upgrade to schema v{len(MIGRATIONS)}, but it is read-only")
        return current

    def _migrate(self) -> None:
        current = self._check_version()
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    def transaction(self) -> _Transaction:
        """`with store.transaction(): ...` commits on success and rolls back on any exception; nested
        inside another, it is a savepoint, so `with store.transaction(): store.upsert(...)` works."""
        return _Transaction(self)

    # papers -----------------------------------------------------------------------------------

    def upsert(self, papers: Iterable[Paper]) -> UpsertCounts:
        """Insert new papers, update known ones in place when the incoming copy is newer. One transaction.

        The known papers are read with one query per 500 and the new ones written with one executemany: a
        query per paper was a third of `ingest`'s time."""
        batch = list(papers)
        counts = UpsertCounts()
        with self.transaction():
            known = self.get_keyed([paper.id for paper in batch])
            fresh: dict[str, Paper] = {}
            for paper in batch:
                if paper.id in known:
                    key, stored = known[paper.id]
                    merged = self._merge_into(stored, paper, counts)
                    if merged is not stored:
                        self._write(merged, key)
                        known[paper.id] = (key, merged)
                elif paper.id in fresh:  # twice in one batch: the second copy merges into the first
                    fresh[paper.id] = self._merge_into(fresh[paper.id], paper, counts)
                elif lacks_text(paper):  # nothing to embed or rank: reported, not stored
                    counts.incomplete.append(paper.id)
                else:
                    fresh[paper.id] = paper
                    counts.new += 1
            names, marks = ", ".join(_COLUMNS), ", ".join("?" for _ in _COLUMNS)
            now = _now()
            self.db.executemany(
                f"INSERT INTO papers ({names}, stored_at) VALUES ({marks}, ?)",
                ((*_paper_values(paper), now) for paper in fresh.values()),
            )
            self.db.executemany(
                "INSERT INTO listings VALUES (?, ?, ?) ON CONFLICT (date, paper_id) DO UPDATE"
                " SET announce_type = coalesce(excluded.announce_type, listings.announce_type)",
                (
                    (paper.listed.isoformat(), paper.id, paper.announce_type)
                    for paper in batch
                    if paper.listed and (paper.id in known or paper.id in fresh)
                ),
            )
        return counts

    @staticmethod
    def _merge_into(stored: Paper, incoming: Paper, counts: UpsertCounts) -> Paper:
        """`stored` itself when the incoming copy changes nothing, else the merged paper; counted either way."""
        merged = merge(stored, incoming)
        if merged == stored:
            counts.unchanged += 1
            return stored
        counts.updated += 1
        return merged

    def _write(self, paper: Paper, key: int) -> None:
        assignments = ", ".join(f"{name} = ?" for name in _COLUMNS)
        self.db.execute(
            f"UPDATE papers SET {assignments}, stored_at = ? WHERE key = ?", (*_paper_values(paper), _now(), key)
        )

    def get(self, paper_id: str) -> Paper | None:
        return self.get_many([paper_id]).get(paper_id)

    def get_many(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        return {paper_id: paper for paper_id, (_, paper) in self.get_keyed(paper_ids).items()}

    def get_keyed(self, paper_ids: Sequence[str]) -> dict[str, tuple[int, Paper]]:
        """The stored papers among these ids, each with its integer key, in one read."""
        found: dict[str, tuple[int, Paper]] = {}
        for chunk in _chunks(list(paper_ids), 500):
            marks = ", ".join("?" for _ in chunk)
            for row in self.db.execute(f"{_SELECT} WHERE id IN ({marks})", chunk):
                paper = _row_to_paper(row)
                found[paper.id] = (row[0], paper)
        return found

    def keys(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """The integer keys (FAISS ids) of the given papers that are stored."""
        found: dict[str, int] = {}
        for chunk in _chunks(list(paper_ids), 500):
            marks = ", ".join("?" for _ in chunk)
            found.update(self.db.execute(f"SELECT id, key FROM papers WHERE id IN ({marks})", chunk).fetchall())
        return found

    def papers_by_key(self, keys: Sequence[int]) -> dict[int, Paper]:
        found: dict[int, Paper] = {}
        for chunk in _chunks([int(key) for key in keys], 500):
            marks = ", ".join("?" for _ in chunk)
            for row in self.db.execute(f"{_SELECT} WHERE key IN ({marks})", chunk):
                found[row[0]] = _row_to_paper(row)
        return found

    def keys_matching(self, since: date | None, until: date | None, categories: Sequence[str]) -> np.ndarray:
        """Keys of papers first released (else listed) in [since, until] and in any of `categories`."""
        day = "substr(coalesce(published, listed, updated), 1, 10)"
        clauses, values = [], []
        if since:
            clauses.append(f"{day} >= ?")
            values.append(since.isoformat())
        if until:
            clauses.append(f"{day} <= ?")
            values.append(until.isoformat())
        if categories:  # whole category names, as typed in any case: `-c %` or `-c cs` match nothing
            clauses.append("(" + " OR ".join("instr(lower(' ' || categories || ' '), ?)" for _ in categories) + ")")
            values += [f" {category.lower()} " for category in categories]
        where = " AND ".join(clauses) or "1"
        rows = self.db.execute(f"SELECT key FROM papers WHERE {where} ORDER BY key", values).fetchall()
        return np.fromiter((key for (key,) in rows), dtype=np.int64, count=len(rows))

    def texts(self, keys: Sequence[int]) -> list[str]:
        """`title + " " + abstract` of these papers, in order (what is embedded and matched)."""
        found: dict[int, str] = {}
        for chunk in _chunks([int(key) for key in keys], 500):
            marks = ", ".join("?" for _ in chunk)
            found.update(
                self.db.execute(
                    f"SELECT key, title || ' ' || abstract FROM papers WHERE key IN ({marks})", chunk
                ).fetchall()
            )
        return [found[int(key)] for key in keys]

    def listed_between(self, first: date, last: date) -> list[Paper]:
        """Papers announced on any day from `first` to `last` (inclusive), each once, newest listing first."""
        rows = self.db.execute(
            f"{_SELECT} p JOIN (SELECT paper_id, max(date) AS day FROM listings"
            " WHERE date BETWEEN ? AND ? GROUP BY paper_id) l ON l.paper_id = p.id ORDER BY l.day DESC, p.id DESC",
            (first.isoformat(), last.isoformat()),
        )
        return [_row_to_paper(row) for row in rows]

    def listing_days(self) -> list[date]:
        return [stored_day(day) for (day,) in self.db.execute("SELECT DISTINCT date FROM listings ORDER BY date")]

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM papers").fetchone()[0]

    def is_empty(self) -> bool:
        """No paper stored (cheap at any size: a new store, or one whose file was emptied)."""
        return self.db.execute("SELECT 1 FROM papers LIMIT 1").fetchone() is None

    def stats(self) -> Stats:
        days = self.listing_days()
        categories = self.db.execute(
            "SELECT substr(categories, 1, instr(categories || ' ', ' ') - 1) AS primary_category, count(*)"
            " FROM papers GROUP BY primary_category ORDER BY count(*) DESC, primary_category"
        ).fetchall()
        return Stats(self.count(), len(days), days[0] if days else None, days[-1] if days else None, categories)

    def remove(self, paper_ids: Sequence[str]) -> int:
        """Delete these papers and their listings (OAI-PMH deleted records); returns how many were stored.
        Their cached vectors stay (keyed by text, harmless); the next index refresh drops them."""
        removed = 0
        with self.transaction():
            for chunk in _chunks(list(paper_ids), 500):
                marks = ", ".join("?" for _ in chunk)
                self.db.execute(f"DELETE FROM listings WHERE paper_id IN ({marks})", chunk)
                removed += self.db.execute(f"DELETE FROM papers WHERE id IN ({marks})", chunk).rowcount
        return removed

    # OAI-PMH harvests -------------------------------------------------------------------------

    def harvest_checkpoint(self, prefix: str, set_spec: str) -> HarvestCheckpoint | None:
        row = self.db.execute(
            "SELECT from_day, until_day, token, newest, last_datestamp FROM harvests WHERE prefix = ? AND set_spec = ?",
            (prefix, set_spec),
        ).fetchone()
        if row is None:
            return None
        from_day, until_day, token, newest, last = row
        days = [stored_day(day) if day else None for day in (from_day, until_day)]
        return HarvestCheckpoint(prefix, set_spec, days[0], days[1], token, newest, last)

    def save_harvest_checkpoint(self, checkpoint: HarvestCheckpoint) -> None:
        days = [day.isoformat() if day else None for day in (checkpoint.from_day, checkpoint.until_day)]
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO harvests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (checkpoint.prefix, checkpoint.set_spec, *days, checkpoint.token, checkpoint.newest)
                + (checkpoint.last_datestamp, _now()),
            )

    # embedding cache --------------------------------------------------------------------------

    def unembedded(self, model: str, paper_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """(hash, text) of every stored text (of these papers) that has no vector for `model` yet, each once."""
        return self.texts_by_hash(self.unembedded_hashes(model, paper_ids))

    def unembedded_hashes(self, model: str, paper_ids: Sequence[str] | None = None) -> list[str]:
        """The hashes of `unembedded`'s texts, in the same order: 33 bytes a paper where its texts take ~1.5 kB,
        so that a store of millions of papers is embedded with its texts read a chunk at a time."""
        query = (
            "SELECT p.hash FROM papers p LEFT JOIN embeddings e INDEXED BY embeddings_keys"
            " ON e.model = ? AND e.hash = p.hash WHERE e.hash IS NULL {} GROUP BY p.hash ORDER BY min(p.key)"
        )
        if paper_ids is None:
            missing = [digest for (digest,) in self.db.execute(query.format(""), (model,))]
        else:
            missing = []
            for chunk in _chunks(list(paper_ids), 500):
                marks = ", ".join("?" for _ in chunk)
                rows = self.db.execute(query.format(f"AND p.id IN ({marks})"), (model, *chunk))
                missing += [digest for (digest,) in rows]
            missing = list(dict.fromkeys(missing))
        damaged = self._damaged(model, paper_ids) - set(missing)
        if damaged:
            self._verify()
        return missing + sorted(damaged)

    def texts_by_hash(self, hashes: Sequence[str]) -> list[tuple[str, str]]:
        """(hash, text) for these text hashes, in order (a hash no stored paper has is left out)."""
        found = dict(self._texts_of(list(hashes)))
        return [(digest, found[digest]) for digest in hashes if digest in found]

    def integrity(self) -> list[str]:
        """SQLite's full integrity_check (every page and index; ~1 s per 500 MB): its findings, none when whole."""
        found = [row[0] for row in self.db.execute("PRAGMA integrity_check(20)").fetchall()]
        return [] if found == ["ok"] else found

    def unembedded_page(self, model: str, after: int, limit: int) -> list[tuple[int, str, str]]:
        """(key, hash, text) of up to `limit` papers after key `after`, in key order, whose text has no vector
        for `model`: a bulk embedding streams a million-paper store page by page (`unembedded` reads it whole).
        Damaged vectors are `unembedded`'s to find."""
        return self.db.execute(
            "SELECT p.key, p.hash, p.title || ' ' || p.abstract FROM papers p"
            " LEFT JOIN embeddings e INDEXED BY embeddings_keys"
            " ON e.model = ? AND e.hash = p.hash WHERE e.hash IS NULL AND p.key > ? ORDER BY p.key LIMIT ?",
            (model, after, limit),
        ).fetchall()

    def _verify(self) -> None:
        """A damaged vector is a symptom: when SQLite finds the file damaged too, nothing in it is trusted
        (~1 s per 500 MB, so only then); when not, the vector alone is embedded again."""
        result = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if result != "ok":
            raise BadValue(f"PRAGMA quick_check: {result}")

    def _damaged(self, model: str, paper_ids: Sequence[str] | None) -> set[str]:
        """Hashes whose cached vector is not a finite unit vector (a damaged file): to be embedded again.
        Measured at 78,665 papers: 0.56 s for the whole cache (`index`; the query for missing vectors beside
        it takes 3.3 s), 17 ms for a day's 269 papers (a digest)."""
        if paper_ids is None:
            rows: Iterable[tuple[str, bytes]] = self.db.execute(
                "SELECT hash, vector FROM embeddings WHERE model = ?", (model,)
            )
        else:
            rows = [
                row
                for chunk in _chunks(list(paper_ids), 500)
                for row in self.db.execute(
                    "SELECT e.hash, e.vector FROM papers p CROSS JOIN embeddings e ON e.model = ? AND e.hash = p.hash"
                    f" WHERE p.id IN ({', '.join('?' for _ in chunk)})",
                    (model, *chunk),
                )
            ]
        damaged: set[str] = set()
        iterator = iter(rows)
        while batch := list(islice(iterator, 4096)):
            sound = sound_vectors([blob for _, blob in batch], self._vector_size(model))
            damaged.update(digest for (digest, _), ok in zip(batch, sound) if not ok)
        return damaged

    def _vector_size(self, model: str) -> int:
        """The byte length of `model`'s vectors: the most common among the first few (one damaged vector
        must not decide it)."""
        sizes = [
            size
            for (size,) in self.db.execute("SELECT length(vector) FROM embeddings WHERE model = ? LIMIT 64", (model,))
        ]
        return max(set(sizes), key=sizes.count) if sizes else 0

    def _texts_of(self, hashes: Sequence[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for chunk in _chunks(list(hashes), 500):
            marks = ", ".join("?" for _ in chunk)
            found += self.db.execute(
                f"SELECT hash, min(title || ' ' || abstract) FROM papers WHERE hash IN ({marks}) GROUP BY hash", chunk
            ).fetchall()
        return found

    def put_vectors(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                ((model, h, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for h, v in zip(hashes, vectors)),
            )

    def embedded(self, model: str) -> dict[int, str]:
        """key -> content hash of every paper whose current text has a vector for `model`."""
        keys, hashes = self.embedded_keys(model)
        return dict(zip(keys.tolist(), (digest.decode() for digest in hashes)))

    def embedded_keys(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """`embedded` as two arrays in key order, int64 keys and "S32" hashes, read 100,000 rows at a time:
        40 bytes a paper where the dict takes ~150 (400 MB at 2.7M papers). Sorted here, not by SQLite (whose
        temporary B-tree for ORDER BY costs seconds at 2.7M rows)."""
        rows = self.db.execute(
            "SELECT p.key, p.hash FROM papers p JOIN embeddings e INDEXED BY embeddings_keys"
            " ON e.model = ? AND e.hash = p.hash",
            (model,),
        )
        keys, hashes = [np.zeros(0, np.int64)], [np.zeros(0, "S32")]
        while chunk := rows.fetchmany(100_000):
            keys.append(np.fromiter((key for key, _ in chunk), np.int64, len(chunk)))
            hashes.append(np.array([digest for _, digest in chunk], "S32"))
        all_keys = np.concatenate(keys)
        order = np.argsort(all_keys, kind="stable")
        return all_keys[order], np.concatenate(hashes)[order]

    def vectors(self, model: str, keys: Sequence[int]) -> np.ndarray:
        """The cached vectors of these papers, in order; a paper without one is an error of the caller."""
        found: dict[int, bytes] = {}
        for chunk in _chunks([int(key) for key in keys], 500):
            marks = ", ".join("?" for _ in chunk)
            found.update(
                self.db.execute(
                    f"SELECT p.key, e.vector FROM papers p CROSS JOIN embeddings e ON e.model = ? AND e.hash = p.hash"
                    f" WHERE p.key IN ({marks})",
                    (model, *chunk),
                ).fetchall()
            )
        blobs = [found[int(key)] for key in keys]
        if not blobs:
            return np.empty((0, 0), dtype=np.float32)
        if not all(sound_vectors(blobs, self._vector_size(model))):
            self._verify()
            raise StoreError(f"{self.path}: a cached vector is not a unit vector: `semdigest index` embeds it again")
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)

    def cached(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors by text hash (any text: a paper's, a topic's description)."""
        found: dict[str, np.ndarray] = {}
        for chunk in _chunks(list(hashes), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.execute(
                f"SELECT hash, vector FROM embeddings WHERE model = ? AND hash IN ({marks})", (model, *chunk)
            ).fetchall()
            sound = sound_vectors([blob for _, blob in rows], self._vector_size(model))
            if not all(sound):  # a damaged one counts as missing (the caller embeds it) if the file is sound
                self._verify()
            found.update((digest, np.frombuffer(blob, np.float32)) for (digest, blob), ok in zip(rows, sound) if ok)
        return found

    # seen-history -----------------------------------------------------------------------------

    def record_shown(self, topic: str, day: date, shown: Sequence[tuple[str, float, str]]) -> None:
        """Remember (paper id, score, reason) as shown in `topic`'s digest of `day`; a rerun of the
        same day refreshes its entries, a paper first shown on another day keeps that day."""
        with self.transaction():
            self.db.executemany(
                "INSERT INTO shown VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, paper_id) DO UPDATE"
                " SET score = excluded.score, reason = excluded.reason WHERE shown.date = excluded.date",
                ((topic, paper_id, day.isoformat(), score, reason) for paper_id, score, reason in shown),
            )

    def seen_before(self, topic: str, day: date) -> dict[str, date]:
        """paper id -> day, for papers an earlier digest of `topic` already showed."""
        rows = self.db.execute(
            "SELECT paper_id, date FROM shown WHERE topic = ? AND date < ?", (topic, day.isoformat())
        )
        return {paper_id: stored_day(shown) for paper_id, shown in rows}

    def shown_history(self, topic: str, limit: int) -> list[tuple[str, date, float, str]]:
        """(paper id, day, score, reason) most recent first: what the topic's feed publishes."""
        rows = self.db.execute(
            "SELECT paper_id, date, score, reason FROM shown WHERE topic = ? ORDER BY date DESC, score DESC LIMIT ?",
            (topic, limit),
        )
        return [(paper_id, stored_day(day), score, reason) for paper_id, day, score, reason in rows]

    def all_shown(self) -> list[tuple[str, str, date, float, str]]:
        """The whole seen-history: (topic, paper id, day, score, reason), in a stable order."""
        rows = self.db.execute("SELECT topic, paper_id, date, score, reason FROM shown ORDER BY topic, date, paper_id")
        return [(topic, paper_id, stored_day(day), score, reason) for topic, paper_id, day, score, reason in rows]

    def add_shown(self, rows: Sequence[tuple[str, str, date, float, str]]) -> int:
        """Merge seen-history rows (an export): a paper keeps the earliest day any digest showed it. One
        transaction; returns how many rows were new or moved earlier."""
        with self.transaction():
            before = self.db.total_changes
            self.db.executemany(
                "INSERT INTO shown VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, paper_id) DO UPDATE"
                " SET date = excluded.date, score = excluded.score, reason = excluded.reason"
                " WHERE excluded.date < shown.date",
                ((topic, paper_id, day.isoformat(), score, reason) for topic, paper_id, day, score, reason in rows),
            )
            return self.db.total_changes - before


def lacks_text(paper: Paper) -> bool:
    """A paper without a title or an abstract (arXiv has sent entries without `<title>`): not worth storing.
    Absence is the empty string, not falsiness in general: a title can be literally "0"."""
    return paper.title == "" or paper.abstract == ""


def merge(stored: Paper, incoming: Paper) -> Paper:
    """The newer copy wins; fields it lacks are kept from the older one (text is never replaced by nothing:
    a degraded entry keeps the stored title and abstract); the latest listing is kept."""
    newer, older = (incoming, stored) if _is_newer(incoming, stored) else (stored, incoming)
    values = {name: getattr(newer, name) for name in _COLUMNS}
    for name in _KEPT_WHEN_ABSENT:
        if values[name] in (None, "", ()):
            values[name] = getattr(older, name)
    latest = max((p for p in (stored, incoming) if p.listed), key=lambda p: p.listed or date.min, default=newer)
    values["listed"], values["announce_type"] = latest.listed, latest.announce_type
    return Paper(**values)


def _is_newer(incoming: Paper, stored: Paper) -> bool:
    if incoming.version is not None and stored.version is not None and incoming.version != stored.version:
        return incoming.version > stored.version
    return (incoming.updated or "") >= (stored.updated or "")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (including KeyboardInterrupt); inside
    another transaction, SAVEPOINT ... RELEASE, rolled back to the savepoint on an exception."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> None:
        store = self.store
        store.db.execute(f"SAVEPOINT s{store._depth}" if store._depth else "BEGIN IMMEDIATE")
        store._depth += 1

    def __exit__(self, exc_type: object, *exc: object) -> None:
        store = self.store
        store._depth -= 1
        if exc_type and not store.db.in_transaction:
            return  # SQLite rolled back already (a full disk does that): a second ROLLBACK would hide the error
        if store._depth:
            name = f"s{store._depth}"
            if exc_type:
                store.db.execute(f"ROLLBACK TO {name}")
            store.db.execute(f"RELEASE {name}")
        else:
            store.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _paper_values(paper: Paper) -> tuple[object, ...]:
    values = {name: getattr(paper, name) for name in _COLUMNS}
    values["authors"] = json.dumps(list(paper.authors), ensure_ascii=False)
    values["categories"] = " ".join(paper.categories)
    values["listed"] = paper.listed.isoformat() if paper.listed else None
    return tuple(values.values())


def _row_to_paper(row: Sequence[Any]) -> Paper:
    """Map a `_SELECT` row (key first) back to a Paper; the hash is recomputed, not trusted."""
    values: dict[str, Any] = dict(zip(_COLUMNS, row[1:], strict=True))
    try:
        values["authors"] = tuple(json.loads(values["authors"]))
        values["categories"] = tuple(values["categories"].split())
    except (ValueError, TypeError, AttributeError) as error:
        raise BadValue(f"paper {values['id']!r} has malformed authors or categories ({error})") from None
    values["listed"] = stored_day(values["listed"]) if values["listed"] else None
    del values["hash"]
    return Paper(**values)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
