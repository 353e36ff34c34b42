import gzip
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from semdigest import Home
from semdigest.errors import InputFileError
from semdigest.sources import snapshot
from semdigest.sources.snapshot import SnapshotReading, read_snapshot, snapshot_paper, split_authors

CORPUS = Path(__file__).parents[3] / "shared" / "corpus" / "papers.jsonl.gz"
FIRST = 5000


@pytest.fixture(scope="module")
def first_lines(tmp_path_factory) -> Path:
    """The first 5,000 lines of the real corpus (read from ../shared, as CI has it), as a .jsonl.gz."""
    assert CORPUS.exists(), f"{CORPUS} is missing: these tests expect ../shared beside the repository, as CI has it"
    path = tmp_path_factory.mktemp("corpus") / "first.jsonl.gz"
    with gzip.open(CORPUS, "rb") as source, gzip.open(path, "wb") as target:
        target.writelines(itertools.islice(source, FIRST))
    return path


def test_ingesting_twice_gives_one_row_per_paper(tmp_path, first_lines):
    with Home.open(tmp_path / "home") as home:
        first = home.ingest(first_lines)
        second = home.ingest(first_lines)
        assert (first.counts.new, first.bad) == (FIRST, ())
        assert (second.counts.new, second.counts.updated, second.counts.unchanged) == (0, 0, FIRST)
        assert home.stats().papers == FIRST


def test_bad_lines_are_reported_with_numbers_and_good_ones_kept(tmp_path):
    good = {
        "id": "2508.12079",
        "title": "0",
        "abstract": "x",
        "authors": "A, B and C",
        "categories": "cs.LG",
        "update_date": "2025-08-18",
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "junk"}),
        "[1, 2]",
        json.dumps({**good, "id": "2508.12080", "title": None}),
        "",
        json.dumps({**good, "id": "2508.12081"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe\n")
    with Home.open(tmp_path / "home") as home:
        report = home.ingest(path)
        assert report.counts.new == 2
        assert [bad.line for bad in report.bad] == [2, 3, 4, 5, 8]
        assert "not an arXiv id" in report.bad[1].reason and "title" in report.bad[3].reason
        assert home.paper("2508.12079").title == "0"


def test_snapshot_fields():
    paper = snapshot_paper(
        {
            "id": "math/0611800",
            "title": "T",
            "abstract": "A",
            "authors": "X. Y, Z. W and Q. R",
            "categories": "math.CA cs.LG",
            "versions": [
                {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                {"version": "v2", "created": "Tue, 3 Apr 2007 10:00:00 GMT"},
            ],
            "doi": "10.1/a 10.1/b",
            "journal-ref": "J. Phys. 1",
            "comments": "5 pages",
            "update_date": "2007-04-04",
        }
    )
    assert (paper.id, paper.version, paper.doi, paper.journal_ref) == ("math/0611800", 2, "10.1/a", "J. Phys. 1")
    assert paper.published.startswith("2007-04-02T19:18:42") and paper.updated.startswith("2007-04-03")
    assert paper.authors == ("X. Y", "Z. W", "Q. R") and paper.categories == ("math.CA", "cs.LG")
    assert paper.listed == date(2007, 4, 4)


@pytest.mark.parametrize(
    "day", ["/tmp/x", "z/../../x", "not-a-date", "20250818", "2025-02-30", "２０２５-０８-１８", 20250818]
)
def test_a_listing_day_that_is_not_a_day_makes_the_line_bad(day):
    with pytest.raises(ValueError, match="update_date"):
        snapshot_paper({"id": "2508.12079", "title": "T", "abstract": "A", "update_date": day})


def test_split_authors_keeps_et_al():
    assert split_authors("Ana B, Chen D, Haiwei Shi et al.") == ("Ana B", "Chen D", "Haiwei Shi", "et al.")
    assert split_authors("") == ()


def test_split_authors_with_a_serial_comma():
    # as arXivRaw sends 0704.0471's authors: the last name used to come out as "and G.A. Souliotis"
    assert split_authors("D.V. Shetty, S.J. Yennello, and G.A. Souliotis") == (
        "D.V. Shetty",
        "S.J. Yennello",
        "G.A. Souliotis",
    )
    assert split_authors("A. Anderson, B. Andrews and C. Sand") == ("A. Anderson", "B. Andrews", "C. Sand")


def test_missing_and_truncated_files_are_clear_errors(tmp_path, first_lines):
    with Home.open(tmp_path / "home") as home:
        with pytest.raises(InputFileError, match="cannot read"):
            home.ingest(tmp_path / "absent.jsonl")
        cut = tmp_path / "cut.jsonl.gz"
        cut.write_bytes(first_lines.read_bytes()[: first_lines.stat().st_size // 2])
        with pytest.raises(InputFileError, match="unreadable after line"):
            home.ingest(cut)
        assert home.stats().papers >= 1000  # the batches read before the damage are kept


def _rows(db_path: Path) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(
            "SELECT id, version, title, abstract, authors, categories, listed, hash FROM papers ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def _open_for_writing(fifo: Path, reader: subprocess.Popen):
    """The FIFO's write end, once the reader has opened it; fails instead of hanging if the reader died."""
    deadline = time.monotonic() + 60
    while True:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.set_blocking(descriptor, True)
            return os.fdopen(descriptor, "wb")
        except OSError:  # ENXIO: no reader yet
            assert reader.poll() is None, f"the ingest process exited with {reader.returncode}"
            assert time.monotonic() < deadline, "the ingest process never opened its input"
            time.sleep(0.05)


def test_a_killed_ingest_resumes_to_the_same_rows(tmp_path, first_lines):
    with gzip.open(first_lines, "rb") as source:
        lines = source.readlines()
    fifo = tmp_path / "feed.jsonl"
    os.mkfifo(fifo)
    home = tmp_path / "killed"
    run = subprocess.Popen(
        [sys.executable, "-m", "semdigest", "--home", str(home), "ingest", str(fifo)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with _open_for_writing(fifo, run) as feed:
        feed.writelines(lines[:2500])  # two batches commit, the third waits for more input...
        feed.flush()
        deadline = time.monotonic() + 60
        while len(_rows(home / "semdigest.db") if (home / "semdigest.db").exists() else []) < 2000:
            assert time.monotonic() < deadline, "ingest made no progress"
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)  # ...and the run dies mid-batch
        run.wait()
    assert len(_rows(home / "semdigest.db")) == 2000
    resumed = subprocess.run(
        [sys.executable, "-m", "semdigest", "--home", str(home), "ingest", str(first_lines)],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    clean = tmp_path / "clean"
    subprocess.run(
        [sys.executable, "-m", "semdigest", "--home", str(clean), "ingest", str(first_lines)],
        check=True,
        capture_output=True,
    )
    assert _rows(home / "semdigest.db") == _rows(clean / "semdigest.db")
    assert len(_rows(clean / "semdigest.db")) == FIRST


GOOD = {"id": "2508.12079", "title": "T", "abstract": "A", "authors": "A, B", "categories": "cs.LG"}


@pytest.mark.parametrize(
    "wrong",
    [
        {"authors": ["A", "B"]},
        {"categories": 5},
        {"versions": "v1"},
        {"versions": ["v1"]},
        {"comments": {"pages": 5}},
        {"journal-ref": 1},
        {"doi": ["10.1/a"]},
        {"title": 0},
    ],
)
def test_a_field_of_the_wrong_type_makes_one_bad_line_and_the_rest_is_stored(tmp_path, wrong):
    """It raised out of the reader: the ingest stopped and its whole batch was lost."""
    path = tmp_path / "typed.jsonl"
    lines = [{**GOOD, "id": f"2508.1208{n}"} for n in range(4)]
    lines[2] |= wrong
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with Home.open(tmp_path / "home") as home:
        report = home.ingest(path)
        assert (report.counts.new, [bad.line for bad in report.bad]) == (3, [3])
        assert repr(next(iter(wrong))) in report.bad[0].reason
        assert sorted(home.papers(["2508.12080", "2508.12081", "2508.12082", "2508.12083"])) == [
            "2508.12080",
            "2508.12081",
            "2508.12083",
        ]


def test_fields_over_their_size_limits_are_cut_where_they_enter(tmp_path):
    """One 50 MB abstract took 0.9 GB to ingest and 7 GB to index; now it is cut before it is parsed."""
    huge = {**GOOD, "abstract": "word " * 1_000_000, "title": "T" * 5000, "authors": ", ".join(["X"] * 20_000)}
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(huge) + "\n" + json.dumps({**GOOD, "id": "2508.12080"}) + "\n")
    with Home.open(tmp_path / "home") as home:
        report = home.ingest(path)
        paper = home.paper(GOOD["id"])
    assert (report.counts.new, report.bad) == (2, ())
    (cut,) = report.cut
    assert (cut.line, cut.paper_id) == (1, "2508.12079")
    assert cut.cuts == ("title 5000 -> 2000 characters", "abstract 5000000 -> 20000 characters")
    assert (len(paper.title), len(paper.abstract), len(paper.authors)) == (2000, 19999, 10_000)


def test_a_file_that_is_not_a_snapshot_is_an_error_not_an_ingest_of_nothing(tmp_path):
    """A random binary .jsonl exited 0, with 790 of its 798 lines bad."""
    noise = tmp_path / "noise.jsonl"
    noise.write_bytes(bytes(range(256)) * 400)
    other = tmp_path / "other.jsonl"  # JSON lines of another format
    other.write_text("".join(json.dumps({"name": n}) + "\n" for n in range(100)))
    short = tmp_path / "short.jsonl"
    short.write_text("{}\n[]\n")
    with Home.open(tmp_path / "home") as home:
        for path, first_bad in ((noise, "line 1: Expecting value"), (other, "line 1: missing"), (short, "line 1:")):
            with pytest.raises(
                InputFileError, match=rf"{path.name} is not an arXiv metadata snapshot: .*\({first_bad}"
            ):
                home.ingest(path)
        assert home.stats().papers == 0


@pytest.mark.parametrize(
    "created",
    [
        "Mon, 2 Apr 2007 19:18:42 GMT",
        "Tue, 15 Oct 2024 09:03:00 GMT",
        "Mon, 2 Apr 2007 23:59:60 GMT",  # a leap second: the general parser decides
        "Mon, 30 Feb 2007 19:18:42 GMT",
        "2 Apr 2007 19:18:42 +0200",
        "Mon, 2 Foo 2007 19:18:42 GMT",
    ],
)
def test_version_dates_read_fast_equal_the_email_parser(created):
    from email.utils import parsedate_to_datetime

    try:
        expected = parsedate_to_datetime(created).isoformat()
    except ValueError:
        expected = None
    paper = snapshot_paper({"id": "2508.12079", "title": "T", "abstract": "A", "versions": [{"created": created}]})
    assert paper.published == expected


def _read(path: Path) -> tuple[list, SnapshotReading, str]:
    """Every paper the reader yields (those before an error too), what it noted, and the error if any."""
    reading, papers = SnapshotReading(), []
    try:
        papers.extend(read_snapshot(path, reading))
    except InputFileError as error:
        return papers, reading, str(error)
    return papers, reading, ""


def test_worker_processes_read_a_large_file_exactly_as_one_process_does(tmp_path, first_lines, monkeypatch):
    with gzip.open(first_lines, "rb") as source:
        lines = source.readlines()[:3000]
    lines[7] = b"{not json\n"
    lines[1999] = b"[1, 2]\n"  # the last line of a block
    huge = json.loads(lines[2500])
    lines[2500] = (json.dumps({**huge, "abstract": "word " * 10_000}) + "\n").encode()
    whole, cut = tmp_path / "whole.jsonl", tmp_path / "cut.jsonl.gz"
    whole.write_bytes(b"".join(lines))
    cut.write_bytes(gzip.compress(b"".join(lines))[:200_000])
    alone = {path: _read(path) for path in (whole, cut)}

    monkeypatch.setattr(snapshot, "PARALLEL_FROM", 0)
    monkeypatch.setattr(snapshot, "BLOCK", 300)
    assert snapshot._workers(whole) >= 1
    for path, (papers, reading, error) in alone.items():
        parallel_papers, parallel_reading, parallel_error = _read(path)
        assert parallel_papers == papers and [p.hash for p in parallel_papers] == [p.hash for p in papers]
        assert parallel_reading == reading and parallel_error == error
    assert len(alone[whole][0]) == 2998 and [bad.line for bad in alone[whole][1].bad] == [8, 2000]
    assert [line.line for line in alone[whole][1].cut] == [2501]
    assert "unreadable after line" in alone[cut][2] and len(alone[cut][0]) > 300
