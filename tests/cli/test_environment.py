"""A hostile environment is normal input: a data directory that is a file, on a read-only or full
filesystem, immutable, damaged or emptied; settings that make no sense. Each case ends in one line,
`error: ...`, exit code 2, and nothing lost; reading keeps working where it can."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mounts import immutable, read_only, resize, small_disk
from semdigest.sources.snapshot import embedded_data

DAY_FILE = embedded_data("day-2025-08-18.jsonl")
SURVEY = "2508.13073"


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output, result.output
    assert "cannot rollback" not in result.output
    for needle in needles:
        assert needle in lines[-1]
    return lines[-1]


def _rows(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "semdigest.db") as db:
        return db.execute(sql).fetchall()


def _seed(cli) -> None:
    assert cli("topics", "import", embedded_data("seed-topics.json")).exit_code == 0


# --- where the data directory is ------------------------------------------------------------------------


def test_a_data_directory_that_is_a_file(cli, tmp_path):
    file = tmp_path / "home"
    file.write_text("my notes\n")
    for args in (["stats"], ["ingest", DAY_FILE], ["topics", "add", "X", "-k", "x"]):
        one_line_error(cli("--home", file, *args), f"{file} is a file, not a folder")
    assert file.read_text() == "my notes\n"


def test_a_data_directory_whose_parent_is_missing_is_not_made(cli, tmp_path):
    home = tmp_path / "typo" / "home"
    one_line_error(cli("--home", home, "ingest", DAY_FILE), f"{tmp_path / 'typo'} does not exist")
    assert not (tmp_path / "typo").exists()


def test_a_read_only_filesystem_reads_and_refuses_writes(day_home, cli, tmp_path):
    _seed(cli)
    before = (day_home / "semdigest.db").read_bytes()
    with read_only(day_home):
        assert "papers: 367" in cli("stats").stdout
        similar = cli("similar", SURVEY, "-n", "3")
        assert similar.exit_code == 0 and "2508.11918" in similar.stdout
        one_line_error(cli("ingest", DAY_FILE), "the filesystem is read-only")
        one_line_error(cli("topics", "add", "X", "-k", "x"), "the filesystem is read-only")
        one_line_error(cli("digest", "--out", tmp_path / "out"), "the filesystem is read-only")
    assert (day_home / "semdigest.db").read_bytes() == before
    assert cli("digest").exit_code == 0  # writable again: nothing was left half done


def test_immutable_files_are_refused_in_one_line(day_home, cli):
    _seed(cli)
    topics = (day_home / "topics.toml").read_text()
    with immutable(day_home / "topics.toml"):
        one_line_error(cli("topics", "add", "X", "-k", "x"), "topics.toml: not permitted (an immutable file")
    assert (day_home / "topics.toml").read_text() == topics
    with immutable(day_home / "semdigest.db"):
        assert "papers: 367" in cli("stats").stdout
        one_line_error(cli("ingest", DAY_FILE), "semdigest.db: it is read-only")
    with immutable(day_home):
        assert "papers: 367" in cli("stats").stdout
        one_line_error(cli("digest"), "digests", "Operation not permitted")


# --- a disk that fills up -----------------------------------------------------------------------------


def test_the_disk_fills_during_ingest(home, cli, tmp_path):
    with small_disk(tmp_path / "disk", spare=200_000) as disk:
        data = disk / "home"
        one_line_error(cli("--home", data, "ingest", DAY_FILE), "semdigest.db: the disk is full: free some space")
        assert _rows(data, "PRAGMA integrity_check") == [("ok",)]
        resize(disk, 50_000_000)
        again = cli("--home", data, "ingest", DAY_FILE)
        assert again.exit_code == 0 and "367 new" in again.stdout
        assert _rows(data, "SELECT count(*) FROM papers") == [(367,)]


def _on_small_disk(day_home: Path, tmp_path: Path):
    """day_home moved onto a tmpfs with no room to spare (its fast model stays outside, linked)."""
    cache = tmp_path / "model-cache"
    shutil.move(day_home / "cache", cache)
    (day_home / "cache").symlink_to(cache)
    return small_disk(tmp_path / "disk", contents=day_home, spare=60_000)


def test_the_disk_fills_during_a_digest(day_home, cli, tmp_path):
    _seed(cli)
    with _on_small_disk(day_home, tmp_path) as disk:
        data = disk / day_home.name
        one_line_error(cli("--home", data, "digest"), "the disk is full")
        assert _rows(data, "SELECT count(*) FROM shown") == [(0,)]  # no history for pages never written
        resize(disk, 100_000_000)
        assert cli("--home", data, "digest").exit_code == 0
        assert _rows(data, "SELECT count(*) FROM shown")[0][0] > 300


def test_the_disk_fills_during_an_index_rebuild(day_home, cli, tmp_path):
    with _on_small_disk(day_home, tmp_path) as disk:
        data = disk / day_home.name
        one_line_error(cli("--home", data, "index", "--rebuild"), "the disk is full")
        similar = cli("--home", data, "similar", SURVEY, "-n", "1")  # the old index is still whole
        assert similar.exit_code == 0 and "2508.11918" in similar.stdout
        resize(disk, 100_000_000)
        assert "rebuilt" in cli("--home", data, "index", "--rebuild").stdout


# --- settings and files that make no sense -----------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("max_retries = -1", "setting 'max_retries' must be a whole number from 0 to 20, not -1"),
        ("categories = []", "setting 'categories': no categories given"),
        ('categories = ["%"]', "setting 'categories': '%' is not an arXiv category"),
        ("delay = true", "setting 'delay' must be a number of seconds from 0 to 3600, not true"),
        ("delay = -1", "setting 'delay' must be a number of seconds from 0 to 3600, not -1"),
        ('rss_url = "rss.arxiv.org"', "setting 'rss_url' must be an http:// or https:// URL"),
    ],
)
def test_settings_that_make_no_sense(home, cli, setting, message):
    (home / "config.toml").write_text(setting + "\n")
    one_line_error(cli("stats"), f"config.toml: {message}")


def test_config_and_topics_files_that_are_folders(home, cli):
    (home / "config.toml").unlink()
    (home / "config.toml").mkdir()
    one_line_error(cli("stats"), "config.toml: cannot be read (Is a directory)")
    (home / "config.toml").rmdir()
    (home / "topics.toml").mkdir()
    one_line_error(cli("topics", "list"), "cannot read", "topics.toml: Is a directory")
    one_line_error(cli("topics", "add", "X", "-k", "x"), "topics.toml: Is a directory")


def test_an_output_folder_that_is_a_file_or_read_only(day_home, cli, tmp_path):
    _seed(cli)
    (tmp_path / "afile").write_text("")
    one_line_error(cli("digest", "--out", tmp_path / "afile"), "not a folder")
    (tmp_path / "out").mkdir()
    with read_only(tmp_path / "out"):
        one_line_error(cli("digest", "--out", tmp_path / "out"), "out/2025-08-18", "Read-only file system")
    assert _rows(day_home, "SELECT count(*) FROM shown") == [(0,)]


def test_a_5000_character_topic_name_is_still_one_line(day_home, cli):
    assert cli("topics", "add", "N" * 5000, "-k", "robot").exit_code == 0
    assert cli("digest").exit_code == 0  # its page and feed get a short file name
    assert [len(page.name) for page in (day_home / "digests" / "feeds").iterdir()] == [len("N" * 80 + ".xml")]
    line = one_line_error(cli("topics", "explain", "M" * 5000, "2508.13073"))
    assert len(line) <= 800 and " … " in line


# --- a damaged or emptied store -----------------------------------------------------------------------


def _overwrite_page(home: Path, page: int) -> None:
    with open(home / "semdigest.db", "r+b") as db:
        db.seek((page - 1) * 4096)
        db.write(b"\xff" * 4096)


def test_a_damaged_database_is_one_line_that_says_how_to_recover(day_home, cli):
    (page,) = _rows(day_home, "SELECT pageno FROM dbstat WHERE name = 'papers' AND pagetype = 'internal' LIMIT 1")[0]
    _overwrite_page(day_home, page)
    for args in (["stats"], ["similar", SURVEY], ["show", SURVEY], ["ingest", DAY_FILE]):
        one_line_error(cli(*args), "semdigest.db is damaged (database disk image is malformed)", ".recover")


def _damage_vector(home: Path, paper: str) -> None:
    with sqlite3.connect(home / "semdigest.db") as db:
        (digest,) = db.execute("SELECT hash FROM papers WHERE id = ?", (paper,)).fetchone()
        nan = np.full(384, np.nan, dtype=np.float32).tobytes()
        db.execute("UPDATE embeddings SET vector = ? WHERE hash = ?", (nan, digest))


def _vector(home: Path, paper: str) -> np.ndarray:
    ((blob,),) = _rows(home, f"SELECT e.vector FROM papers p JOIN embeddings e ON e.hash = p.hash WHERE id = '{paper}'")
    return np.frombuffer(blob, dtype=np.float32)


def test_a_damaged_vector_is_embedded_again(day_home, cli):
    _damage_vector(day_home, SURVEY)
    one_line_error(cli("similar", SURVEY), "a cached vector is not a unit vector: `semdigest index` embeds it again")
    assert "embedded 1 papers" in cli("index").stdout
    vector = _vector(day_home, SURVEY)
    assert np.isfinite(vector).all() and abs(float(vector @ vector) - 1) < 1e-3
    assert "2508.11918" in cli("similar", SURVEY, "-n", "1").stdout


def test_a_digest_embeds_damaged_vectors_of_its_day_again(day_home, cli):
    _seed(cli)
    _damage_vector(day_home, "2508.11918")
    assert cli("digest").exit_code == 0
    assert np.isfinite(_vector(day_home, "2508.11918")).all()


def test_a_damaged_vector_in_a_damaged_file_is_not_papered_over(day_home, cli):
    """The damaged page (the seen-history's) is one `similar` and `index` never read: only the bad vector
    they do read makes them check the whole file."""
    _damage_vector(day_home, SURVEY)
    (page,) = _rows(day_home, "SELECT pageno FROM dbstat WHERE name = 'shown'")[0]
    _overwrite_page(day_home, page)
    assert cli("stats").exit_code == 0
    one_line_error(cli("similar", SURVEY), "semdigest.db is damaged (PRAGMA quick_check:", ".recover")
    one_line_error(cli("index"), "semdigest.db is damaged (PRAGMA quick_check:")


def test_an_emptied_database_beside_an_index_is_refused(day_home, cli):
    (day_home / "semdigest.db").write_bytes(b"")
    for args in (["stats"], ["ingest", DAY_FILE], ["index"]):
        one_line_error(cli(*args), "semdigest.db holds no papers but the index holds 367", "backup")
    assert (day_home / "index" / (day_home / "index" / "CURRENT").read_text().strip() / "MANIFEST.json").exists()
    assert _rows(day_home, "SELECT count(*) FROM papers") == [(0,)]


def test_a_listing_day_that_is_a_path_never_reaches_the_output_folder(day_home, cli, tmp_path):
    _seed(cli)
    with sqlite3.connect(day_home / "semdigest.db") as db:
        db.execute("INSERT INTO listings VALUES ('z/../../x', ?, 'new')", (SURVEY,))
    out = tmp_path / "site" / "digests"
    one_line_error(cli("digest", "--out", out), "semdigest.db is damaged ('z/../../x' is stored where a day belongs)")
    assert not (tmp_path / "x").exists() and not out.exists()
    one_line_error(cli("digest", "--out", out, "--date", "2025-08-18"), "'z/../../x' is stored where a day belongs")
    assert not (tmp_path / "site").exists()


# --- options that cannot match ------------------------------------------------------------------------


def test_similar_options_that_cannot_match_are_usage_errors(day_home, cli):
    one_line_error(cli("similar", SURVEY, "--since", "2025-09-01", "--until", "2025-08-01"), "starts (2025-09-01)")
    one_line_error(cli("similar", "--text", ""), "the text to search for is empty")
    one_line_error(cli("similar", SURVEY, "-c", "%"), "'%' is not an arXiv category")
    robots = cli("similar", SURVEY, "-c", "cs.ro", "--json")  # whole names, in any case
    assert robots.exit_code == 0 and '"id": "2508.11918"' in robots.stdout
