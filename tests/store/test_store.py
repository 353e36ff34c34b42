import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from semdigest.errors import CannotWrite, StoreError
from semdigest.lock import writer_lock
from semdigest.paper import Paper
from semdigest.store import MIGRATIONS, HarvestCheckpoint, Store, merge

PAPER = Paper(
    id="2508.11737",
    title="A  title\n spanning lines",
    abstract="  An abstract.",
    authors=("A. Author",),
    categories=("cs.CL", "cs.AI"),
    version=1,
    published="2025-08-15T10:00:00Z",
    updated="2025-08-15T10:00:00Z",
    listed=date(2025, 8, 18),
    announce_type="new",
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "semdigest.db") as opened:
        yield opened


def test_roundtrip_collapses_whitespace_and_keeps_fields(store):
    store.upsert([PAPER])
    stored = store.get("2508.11737")
    assert stored == PAPER
    assert stored.title == "A title spanning lines" and stored.abstract == "An abstract."
    assert stored.categories == ("cs.CL", "cs.AI")


def test_reingesting_never_duplicates(store):
    assert store.upsert([PAPER]).new == 1
    again = store.upsert([PAPER])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert store.count() == 1


def test_newer_version_wins_and_older_is_ignored(store):
    v2 = replace(
        PAPER,
        version=2,
        abstract="Revised abstract.",
        updated="2025-09-01T00:00:00Z",
        listed=date(2025, 9, 2),
        announce_type="replace",
    )
    store.upsert([PAPER, v2])
    assert store.get(PAPER.id).abstract == "Revised abstract."
    assert store.upsert([PAPER]).updated == 0  # v1 arriving late does not overwrite v2
    stored = store.get(PAPER.id)
    assert (stored.version, stored.abstract, stored.listed) == (2, "Revised abstract.", date(2025, 9, 2))
    assert store.listing_days() == [date(2025, 8, 18), date(2025, 9, 2)]
    assert [p.id for p in store.listed_between(date(2025, 8, 18), date(2025, 8, 18))] == [PAPER.id]


def test_merge_keeps_fields_the_newer_copy_lacks():
    bare = replace(PAPER, version=2, doi=None, comment=None, journal_ref=None)
    rich = replace(PAPER, doi="10.1/x", comment="10 pages")
    merged = merge(rich, bare)
    assert merged.version == 2 and merged.doi == "10.1/x" and merged.comment == "10 pages"


def test_content_hash_follows_title_and_abstract():
    assert replace(PAPER, authors=("B",)).hash == PAPER.hash
    assert replace(PAPER, abstract="Other").hash != PAPER.hash


def test_stats(store):
    store.upsert([PAPER, replace(PAPER, id="2508.00001", categories=("cs.CV",), listed=date(2025, 8, 19))])
    stats = store.stats()
    assert (stats.papers, stats.days, stats.first_day, stats.last_day) == (2, 2, date(2025, 8, 18), date(2025, 8, 19))
    assert stats.categories == [("cs.CL", 1), ("cs.CV", 1)]


def test_schema_is_versioned(tmp_path):
    Store(tmp_path / "a.db").close()
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path / "a.db")


def test_garbage_database_is_a_clear_error(tmp_path):
    (tmp_path / "bad.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"bad.db is damaged \(file is not a database\): restore it from a backup"):
        Store(tmp_path / "bad.db")


def test_a_failed_batch_leaves_nothing_half_written(store):
    broken = [PAPER, "not a paper"]
    with pytest.raises(AttributeError):
        store.upsert(broken)  # type: ignore[list-item]
    assert store.count() == 0


def test_second_writer_waits_for_the_first(tmp_path):
    messages = []
    lock = tmp_path / "lock"
    with writer_lock(lock):
        waiter = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, pathlib; from semdigest.lock import writer_lock\n"
                "with writer_lock(pathlib.Path(sys.argv[1]), on_wait=print): print('got it')",
                str(lock),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        # its first line, however slowly it starts on a busy machine (a fixed sleep made this flaky)
        first = waiter.stdout.readline()
        assert "waiting for another semdigest process" in first and waiter.poll() is None
    out, _ = waiter.communicate(timeout=30)
    assert out.strip().endswith("got it")
    with (
        pytest.raises(StoreError, match="in use by another semdigest process"),
        writer_lock(lock),
        writer_lock(lock, wait=0.3, on_wait=messages.append),
    ):
        pass
    assert messages and "pid" in messages[0]


def test_transactions_nest(store):
    """An outer transaction groups inner ones: all of it commits, or none of it."""
    with store.transaction():
        store.upsert([PAPER])
        store.upsert([replace(PAPER, id="2508.00001")])
    assert store.count() == 2
    with pytest.raises(KeyError), store.transaction():
        store.upsert([replace(PAPER, id="2508.00002")])
        raise KeyError("a failure after the inner transaction committed its savepoint")
    assert store.count() == 2
    with store.transaction():
        with pytest.raises(AttributeError):
            store.upsert([replace(PAPER, id="2508.00003"), "not a paper"])  # type: ignore[list-item]
        store.upsert([replace(PAPER, id="2508.00004")])
    assert store.get("2508.00003") is None and store.get("2508.00004") is not None


def test_categories_match_whole_names_only(store):
    store.upsert([PAPER, replace(PAPER, id="2508.00009", categories=("cs.CV",))])
    assert len(store.keys_matching(None, None, ["%"])) == 0  # LIKE's wildcard is no longer one
    assert len(store.keys_matching(None, None, ["cs"])) == 0 and len(store.keys_matching(None, None, ["cs.C_"])) == 0
    assert len(store.keys_matching(None, None, ["cs.ai"])) == 1 and len(store.keys_matching(None, None, ["cs.CV"])) == 1


def test_damaged_vectors_count_as_missing_and_are_embedded_again(store):
    store.upsert([PAPER, replace(PAPER, id="2508.00009", title="Other")])
    unit = np.eye(1, 384, dtype=np.float32)
    hashes = [digest for digest, _ in store.unembedded("m")]
    store.put_vectors("m", hashes, np.vstack([unit, unit]))
    assert store.unembedded("m") == []
    nan, wrong_length, not_unit = np.full(384, np.nan, np.float32), unit[0, :100], 3 * unit[0]
    for bad in (nan, wrong_length, not_unit):
        store.db.execute("UPDATE embeddings SET vector = ? WHERE hash = ?", (bad.tobytes(), hashes[0]))
        assert [digest for digest, _ in store.unembedded("m")] == [hashes[0]]
        assert [digest for digest, _ in store.unembedded("m", ["2508.11737"])] == [hashes[0]]
        assert list(store.cached("m", hashes)) == [hashes[1]]
        with pytest.raises(StoreError, match="not a unit vector: `semdigest index` embeds it again"):
            store.vectors("m", [1])


def test_a_read_only_store_reads(tmp_path):
    with Store(tmp_path / "a.db") as writable:
        writable.upsert([PAPER])
    with Store(tmp_path / "a.db", readonly=True) as readonly:
        assert readonly.get(PAPER.id) == PAPER
        with pytest.raises(CannotWrite, match=r"a\.db: it is read-only"):
            readonly.upsert([replace(PAPER, id="2508.00009")])


def test_the_seen_history_merges_keeping_the_earliest_day(store):
    store.record_shown("LLM", date(2025, 8, 19), [("2508.11737", 0.9, "kw")])
    rows = [("LLM", "2508.11737", date(2025, 8, 18), 0.8, "earlier"), ("LLM", "2508.00009", date(2025, 8, 20), 0.7, "")]
    assert store.add_shown(rows) == 2 and store.add_shown(rows) == 0
    assert store.all_shown() == rows


@pytest.mark.parametrize("lacking", [{"title": ""}, {"abstract": ""}, {"title": "", "abstract": " \n"}])
def test_a_degraded_copy_never_replaces_text_with_nothing(store, lacking):
    """An entry without <title> or with an empty abstract (arXiv has sent both) wiped the stored text."""
    store.upsert([PAPER])
    newer = replace(PAPER, version=2, updated="2025-09-01T00:00:00Z", **lacking)

    assert store.upsert([newer]).updated == 1  # the version and date are still news
    stored = store.get(PAPER.id)
    assert (stored.title, stored.abstract, stored.version) == ("A title spanning lines", "An abstract.", 2)
    assert stored.hash == PAPER.hash  # the text, and so its cached vector, stays


def test_a_title_of_zero_is_a_title(store):
    store.upsert([PAPER])
    store.upsert([replace(PAPER, version=2, title="0")])
    assert store.get(PAPER.id).title == "0"


def test_a_new_paper_without_a_title_or_an_abstract_is_reported_not_stored(store):
    """It was stored, then embedded and ranked on its empty text."""
    untitled, empty = replace(PAPER, title=""), replace(PAPER, id="2508.11738", abstract="")
    fine = replace(PAPER, id="2508.11739", title="0")

    counts = store.upsert([untitled, empty, fine])

    assert (counts.new, counts.incomplete) == (1, ["2508.11737", "2508.11738"])
    assert store.count() == 1 and store.listing_days() == [date(2025, 8, 18)]
    assert store.get("2508.11737") is None


# --- OAI-PMH harvests ---------------------------------------------------------------------------------------


def test_a_harvest_checkpoint_round_trips_per_format_and_set(store):
    assert store.harvest_checkpoint("arXiv", "cs") is None
    running = HarvestCheckpoint("arXiv", "cs", date(2025, 1, 1), None, token="726959|1001", newest="2025-01-03")
    store.save_harvest_checkpoint(running)
    store.save_harvest_checkpoint(HarvestCheckpoint("arXivRaw", "", last_datestamp="2014-12-22"))

    assert store.harvest_checkpoint("arXiv", "cs") == running
    assert store.harvest_checkpoint("arXivRaw", "").last_datestamp == "2014-12-22"
    done = replace(running, token=None, newest=None, last_datestamp="2025-01-03")
    store.save_harvest_checkpoint(done)
    assert store.harvest_checkpoint("arXiv", "cs") == done and store.harvest_checkpoint("arXiv", "math") is None


def test_remove_deletes_papers_with_their_listings(store):
    other = replace(PAPER, id="2508.00001")
    store.upsert([PAPER, other])

    assert store.remove(["2508.11737", "2508.99999"]) == 1

    assert store.get("2508.11737") is None and store.get("2508.00001") == other
    assert store.listed_between(date(2025, 8, 18), date(2025, 8, 18)) == [other]


def test_a_store_made_before_harvests_gains_the_table_and_keeps_its_papers(tmp_path):
    with Store(tmp_path / "old.db") as old:
        old.upsert([PAPER])
    db = sqlite3.connect(tmp_path / "old.db")  # back to schema v3, as semdigest left it before harvests
    db.execute("DROP TABLE harvests")
    db.execute("DROP INDEX papers_hash")
    db.execute("DROP INDEX embeddings_keys")
    db.execute("PRAGMA user_version=3")
    db.close()

    with Store(tmp_path / "old.db") as upgraded:
        assert upgraded.get(PAPER.id) == PAPER and upgraded.harvest_checkpoint("arXiv", "") is None
        assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 5


def test_the_joins_with_the_embedding_cache_read_only_covering_indexes(tmp_path):
    """At 2.7M papers a join that reads the tables themselves reads ~8 GB (texts and vectors inline)."""
    with Store(tmp_path / "s.db") as store:
        store.upsert([PAPER])
        joins: list[str] = []
        store.db.set_trace_callback(lambda sql: joins.append(sql) if "JOIN embeddings" in sql else None)
        store.embedded_keys("m")
        store.unembedded_hashes("m")
        store.unembedded_page("m", 0, 10)
        store.db.set_trace_callback(None)
        assert len(joins) == 3
        for query in joins:
            plan = " ".join(row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + query))
            assert "INDEX embeddings_keys" in plan and "PRIMARY KEY (model" not in plan, (query, plan)
            assert "SCAN p\n" not in plan + "\n", (query, plan)  # papers by index or key, never read whole


def test_a_store_of_schema_v4_keeps_its_vectors_in_the_rowid_cache(tmp_path):
    vectors = np.eye(3, 4, dtype=np.float32)
    with Store(tmp_path / "s.db") as store:
        store.upsert([PAPER])
    db = sqlite3.connect(tmp_path / "s.db")  # back to v4: the cache WITHOUT ROWID, no covering indexes
    db.executescript(
        "DROP INDEX papers_hash; DROP TABLE embeddings; CREATE TABLE embeddings (model TEXT NOT NULL,"
        " hash TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, hash)) WITHOUT ROWID; PRAGMA user_version=4;"
    )
    db.executemany("INSERT INTO embeddings VALUES ('m', ?, ?)", [(h, v.tobytes()) for h, v in zip("abc", vectors)])
    db.commit()
    db.close()
    with Store(tmp_path / "s.db") as upgraded:
        assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        found = upgraded.cached("m", ["c", "a", "b"])
        assert [found[h].tolist() for h in "abc"] == vectors.tolist()
        upgraded.put_vectors("m", ["a"], vectors[2:])  # a key is still unique: replaced, not added
        assert upgraded.cached("m", ["a"])["a"].tolist() == vectors[2].tolist()
        assert upgraded.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 3


def test_vectors_of_given_papers_are_looked_up_paper_by_paper(tmp_path):
    """An IN list of 500 keys made SQLite scan every vector of the model (4 GB at 2.7M papers) instead."""
    papers = [replace(PAPER, id=f"2508.{10000 + i}", title=f"paper {i}") for i in range(500)]
    with Store(tmp_path / "s.db") as store:
        store.upsert(papers)
        keys = list(store.keys([paper.id for paper in papers]).values())
        vectors = np.random.default_rng(0).standard_normal((500, 8), dtype=np.float32)
        store.put_vectors("m", [paper.hash for paper in papers], vectors / np.linalg.norm(vectors, axis=1)[:, None])
        lookups: list[str] = []
        store.db.set_trace_callback(lambda sql: lookups.append(sql) if "JOIN embeddings" in sql else None)
        store.vectors("m", keys)
        store._damaged("m", [paper.id for paper in papers])
        store.db.set_trace_callback(None)
        assert len(lookups) == 2
        for query in lookups:
            plan = [row[-1] for row in store.db.execute("EXPLAIN QUERY PLAN " + query)]
            assert plan[0].startswith("SEARCH p USING"), plan  # the given papers first, each then its vector
            assert "SEARCH e USING INDEX embeddings_keys (model=? AND hash=?)" in plan, plan


def test_a_paper_twice_in_one_batch_is_merged_like_two_batches(tmp_path):
    v2 = replace(PAPER, version=2, abstract="Revised.", updated="2025-09-01T00:00:00Z", listed=date(2025, 9, 2))
    batches = {"one": [[PAPER, v2, PAPER]], "three": [[PAPER], [v2], [PAPER]]}
    stored = {}
    for name, runs in batches.items():
        with Store(tmp_path / f"{name}.db") as store:
            counts = [store.upsert(batch) for batch in runs]
            totals = tuple(sum(getattr(c, field) for c in counts) for field in ("new", "updated", "unchanged"))
            stored[name] = (store.get(PAPER.id), store.listing_days(), totals)
    assert stored["one"] == stored["three"]
    assert stored["one"][2] == (1, 1, 1) and stored["one"][0].abstract == "Revised."
