"""`semdigest check`: SQLite's integrity_check of the store and every index file verified whole; what is
damaged and how to repair it, as text or JSON, with exit code 1 when something is."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from semdigest import Home

SURVEY = "2508.13073"


def live(home: Path) -> Path:
    return home / "index" / (home / "index" / "CURRENT").read_text().strip()


def overwrite(path: Path, at: int, data: bytes) -> None:
    """Overwrite bytes of `path`, keeping its size and modification time."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(at)
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _page_of(home: Path, name: str) -> int:
    with sqlite3.connect(home / "semdigest.db") as db:
        (page,) = db.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' LIMIT 1", (name,)
        ).fetchone()
    return page


def test_a_whole_data_directory_checks_ok(day_home, cli):
    result = cli("check")
    assert result.exit_code == 0, result.output
    assert "ok: " in result.stdout and "integrity_check" in result.stdout and "verified whole" in result.stdout
    record = json.loads(cli("check", "--json").stdout)
    assert record["ok"] and record["database"]["ok"] and record["indexes"]["ok"] and record["indexes"]["files"] > 10


def test_a_damaged_index_file_is_named_with_the_way_to_repair_it(day_home, cli):
    faiss_file = live(day_home) / "vectors" / "papers.faiss"
    overwrite(faiss_file, faiss_file.stat().st_size // 2, bytes(4096))
    result = cli("check")
    assert result.exit_code == 1
    assert f"{faiss_file} is damaged (checksum mismatch)" in result.stdout
    assert "`semdigest index` rebuilds the damaged index from the cached vectors" in result.stdout
    record = json.loads(cli("check", "--json").stdout)
    assert not record["ok"] and record["database"]["ok"] and not record["indexes"]["ok"]
    assert record["indexes"]["problems"] == [f"{faiss_file} is damaged (checksum mismatch)"]
    assert "semdigest index" in record["indexes"]["repair"]
    assert faiss_file.exists()  # check changes nothing
    assert "rebuilding it from the cached vectors" in cli("index").stderr
    assert cli("check").exit_code == 0


def test_damage_only_integrity_check_sees_is_reported_with_the_recovery_advice(day_home, cli):
    """A leaf of the papers' id index overwritten: reading commands go on working, `check` finds it."""
    page = _page_of(day_home, "sqlite_autoindex_papers_1")
    overwrite(day_home / "semdigest.db", (page - 1) * 4096 + 200, b"\x00\x01" * 400)
    assert cli("stats").exit_code == 0
    result = cli("check")
    assert result.exit_code == 1, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("store")]
    assert "semdigest.db is damaged (" in line and ".recover" in line
    assert "verified whole" in result.stdout  # the indexes are checked all the same
    record = json.loads(cli("check", "--json").stdout)
    assert not record["database"]["ok"] and "sqlite3" in record["database"]["problem"] and record["indexes"]["ok"]


def test_a_store_that_is_not_a_database_is_a_finding_not_a_crash(day_home, cli):
    overwrite(day_home / "semdigest.db", 0, b"this is not SQLite")
    result = cli("check")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "semdigest.db is damaged (file is not a database)" in result.stdout


def test_home_check_says_what_it_found(day_home):
    with Home.open(day_home) as home:
        report = home.check()
        assert not report.damaged and report.database_problem is None and report.index.generation == live(day_home)
    overwrite(live(day_home) / "sample.npz", 100, b"\xff" * 64)
    with Home.open(day_home) as home:
        report = home.check()
    assert report.damaged and report.index.problems == [
        f"{live(day_home) / 'sample.npz'} is damaged (checksum mismatch)"
    ]


def test_check_without_an_index_yet(home, cli):
    assert (
        cli("ingest", Path(__file__).parents[2] / "src" / "semdigest" / "data" / "day-2025-08-18.jsonl").exit_code == 0
    )
    result = cli("check")
    assert result.exit_code == 0 and "none yet (`semdigest index` builds it)" in result.stdout
