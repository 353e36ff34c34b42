"""Damaged index files, readers during an update, interrupted runs: every fault is noticed, repaired from the
store's cached vectors and texts with one line on stderr (or is one `error:` line), and nothing is lost.
Damage is made by overwriting bytes of the real files, keeping their size and modification time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from semdigest import Home
from semdigest.errors import IndexDamaged
from semdigest.indexes import manifest
from semdigest.indexes.directory import IndexDir
from semdigest.indexes.lexical import Bm25Index
from semdigest.indexes.vectors import VectorIndex

SURVEY = "2508.13073"
FILES = [
    "vectors/papers.faiss",
    "vectors/papers-state.npz",
    "vectors/manifest.json",
    "lexical/*/doc.npy",
    "lexical/*/indptr.npy",
    "lexical/*/tf.npy",
    "lexical/*/term_hash.npy",
    "lexical/*/keys.npy",
    "lexical/*/doc_len.npy",
    "lexical/CURRENT",
    "sample.npz",
    "MANIFEST.json",
]


def live(home: Path) -> Path:
    return home / "index" / (home / "index" / "CURRENT").read_text().strip()


def overwrite(path: Path, data: bytes | None = None, at: int | None = None) -> None:
    """Overwrite bytes in the middle of `path` (4 KB, or half of a smaller file), keeping its size and mtime."""
    before = path.stat()
    size = before.st_size
    count = len(data) if data is not None else min(4096, max(size // 2, 1))
    at = (size - count) // 2 if at is None else at
    with open(path, "r+b") as handle:
        handle.seek(at)
        handle.write(data if data is not None else np.random.default_rng(at).bytes(count))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == size and path.stat().st_mtime_ns == before.st_mtime_ns


def one_file(home: Path, pattern: str) -> Path:
    (path,) = live(home).glob(pattern)
    return path


def one_repair_line(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1 and "repairing the index from the cached vectors" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("pattern", FILES)
def test_a_damaged_file_is_noticed_by_the_next_read_and_repaired(day_home, cli, pattern):
    expected = cli("similar", SURVEY, "-n", "5").stdout
    overwrite(one_file(day_home, pattern))
    repaired = cli("similar", SURVEY, "-n", "5")
    one_repair_line(repaired)
    assert repaired.stdout == expected
    assert cli("check").exit_code == 0


def test_a_damaged_pointer_to_the_live_generation_is_repaired(day_home, cli):
    expected = cli("similar", SURVEY, "-n", "5").stdout
    overwrite(day_home / "index" / "CURRENT", b"\xff\x00/..")
    repaired = cli("similar", SURVEY, "-n", "5")
    one_repair_line(repaired)
    assert repaired.stdout == expected and cli("check").exit_code == 0
    assert len([path for path in (day_home / "index").iterdir() if path.name.startswith("g")]) == 1


@pytest.mark.parametrize("pattern", FILES)
def test_index_repairs_any_damaged_file_without_a_traceback(day_home, cli, pattern):
    overwrite(one_file(day_home, pattern))
    result = cli("index")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "is damaged" in result.stderr or "is missing" in result.stderr
    assert "index: 367 papers" in result.stdout
    assert cli("check").exit_code == 0


def test_large_files_are_checked_by_sampled_blocks_and_their_stamp(day_home, monkeypatch):
    """Files over WHOLE_LIMIT (here every file) are not read whole by a reader: overwriting bytes changes the
    file's ctime, which setting the mtime back cannot undo, so the file is then read whole."""
    monkeypatch.setattr(manifest, "WHOLE_LIMIT", 0)
    with Home.open(day_home) as home:
        home.index(rebuild=True)  # a manifest with sampled blocks
    faiss_file = one_file(day_home, "vectors/papers.faiss")
    contents = manifest.read(live(day_home))
    assert contents.files["vectors/papers.faiss"].blocks and not manifest.problems(live(day_home), contents, full=False)
    overwrite(faiss_file)
    problems = manifest.problems(live(day_home), contents, full=False)
    assert problems == {"vectors/papers.faiss": f"{faiss_file} is damaged (checksum mismatch)"}


def test_damage_the_quick_check_cannot_see_is_caught_in_what_a_query_reads(day_home, monkeypatch):
    """A failing disk keeps a file's stamp: a vector whose bytes changed (outside the sampled blocks) to
    score above 1 is seen in FAISS's own scores, and the index repaired."""
    monkeypatch.setattr(manifest, "WHOLE_LIMIT", 0)
    messages: list[str] = []
    with Home.open(day_home) as home:
        home.index(rebuild=True)
        expected = [hit.paper.id for hit in home.similar([SURVEY])[0].hits]
        model = home.indexes.model() or ""
        keys = sorted(home.store.embedded(model))
        vectors = home.store.vectors(model, keys)
        query = vectors[keys.index(home.store.keys([SURVEY])[SURVEY])]
    generation = live(day_home)
    faiss_file = generation / "vectors" / "papers.faiss"
    data, size = faiss_file.read_bytes(), faiss_file.stat().st_size
    last = size - manifest.BLOCK
    sampled = [last * i // (manifest.BLOCKS - 1) for i in range(manifest.BLOCKS)]
    at = next(
        at
        for at in (data.find(vector.tobytes()) for vector in vectors)
        if all(at + len(query) * 4 <= start or at >= start + manifest.BLOCK for start in sampled)
    )
    overwrite(faiss_file, (10 * query).astype(np.float32).tobytes(), at=at)
    manifest.restamp(generation, manifest.read(generation))  # as if the filesystem never saw the write
    assert not manifest.problems(generation, manifest.read(generation), full=False)
    with Home.open(day_home) as home:
        home.events.say = messages.append  # type: ignore[method-assign]
        assert [hit.paper.id for hit in home.similar([SURVEY])[0].hits] == expected
    assert len(messages) == 1 and "scored the paper of key" in messages[0]


def test_postings_that_point_nowhere_are_damage_not_a_crash(day_home):
    index = Bm25Index.load(live(day_home) / "lexical")
    doc = np.array(index.doc)
    doc[:] = 2**31 - 1
    broken = Bm25Index(index.keys, index.doc_len, index.term_hash, index.indptr, doc, index.tf)
    with pytest.raises(IndexDamaged, match="postings that point nowhere"):
        broken.scores("vision language action models for robotic manipulation")
    indptr = np.array(index.indptr) * 3  # offsets past the postings: slices shorter than their counts
    broken = Bm25Index(index.keys, index.doc_len, index.term_hash, indptr, index.doc, index.tf)
    with pytest.raises(IndexDamaged, match="postings that point nowhere"):
        broken.scores("vision language action models for robotic manipulation")


def test_impossible_scores_are_damage(day_home):
    index = VectorIndex.open(live(day_home) / "vectors", writable=True)
    key = next(iter(index.state))
    vector = index.faiss.reconstruct(key)
    assert index.search(vector[None, :], 5)[0][0][0] == pytest.approx(1.0, abs=1e-4)
    index.update([key], [index.state[key]], 10 * vector[None, :])  # what damaged bytes can make of it
    with pytest.raises(IndexDamaged, match="impossibly"):
        index.search(vector[None, :], 5)


def test_a_damage_that_cannot_be_repaired_here_is_one_line(day_home, cli, monkeypatch):
    from semdigest.indexes import directory

    overwrite(one_file(day_home, "lexical/*/doc.npy"))

    def full_disk(*args, **kwargs):
        raise OSError(28, os.strerror(28), str(day_home / "index"))

    monkeypatch.setattr(directory.IndexDir, "_publish", full_disk)
    result = cli("similar", SURVEY)
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "doc.npy is damaged" in line and "cannot be repaired now" in line


# --- readers during an update (item 11) ------------------------------------------------------------------


def test_readers_see_the_old_index_or_the_new_one_never_a_mix(day_home):
    """A reader opening the index over and over while a writer publishes changed indexes never sees a
    damaged or missing file (35 of 800 opens did, when the files were replaced one by one in place)."""
    directory = IndexDir(day_home / "index")
    done, opened, failures = threading.Event(), [0], []

    def read() -> None:
        while not done.is_set():
            try:
                directory.open()
                opened[0] += 1
            except Exception as error:  # every failure is the finding
                failures.append(repr(error))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with Home.open(day_home) as home:
            model = home.indexes.model() or ""
            for round in range(8):  # each round changes an abstract: every index file changes
                revise(home, round, model)
                assert home.index().report.added == 1
    finally:
        done.set()
        reader.join()
    assert failures == [] and opened[0] > 8


def revise(home: Home, round: int, model: str) -> None:
    """A new version of a paper, with a cached vector for its new text (any unit vector will do)."""
    paper = home.store.get(SURVEY)
    assert paper is not None
    revised = replace(paper, abstract=f"{paper.abstract} Revised, round {round}.", version=(paper.version or 1) + 1)
    home.store.upsert([revised])
    vector = np.random.default_rng(round).standard_normal((1, 384)).astype(np.float32)
    home.store.put_vectors(model, [home.store.get(SURVEY).hash], vector / np.linalg.norm(vector))


# --- what interrupted runs leave behind (item 17) --------------------------------------------------------

KILLED_WHILE_SAVING = """
import os, sys
from semdigest import Home
from semdigest.indexes import lexical

def killed(self, *args):
    os._exit(9)  # as SIGKILL would: no finally, no cleanup

lexical.Bm25Index.update_into = killed  # build_into writes through it too
Home.open(sys.argv[1]).index(rebuild=True)
"""


def test_an_interrupted_index_leaves_nothing_behind_the_next_one(day_home, cli):
    before = live(day_home)
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_SAVING, str(day_home)], env={**os.environ})
    assert killed.returncode == 9
    (temporary,) = (day_home / "index").glob(".tmp-*")
    assert (temporary / "vectors" / "papers.faiss").exists()  # as large as the index
    (day_home / "index" / ".CURRENT.abc123.tmp").write_text("g1-1\n")  # an atomic write killed before its rename
    (day_home / "index" / f".tmp-g5-{os.getpid()}").mkdir()  # as a writer at work has, by its running pid
    assert live(day_home) == before and cli("similar", SURVEY).exit_code == 0  # readers are not disturbed
    report = cli("check")
    assert report.exit_code == 0 and "leftovers  2 from interrupted or earlier runs" in report.stdout
    assert temporary.exists()  # a reader (check) removes nothing: it holds no writer lock
    # `index` takes the writer lock: no other writer runs, so every temporary generation is a dead one's
    assert cli("index").exit_code == 0
    assert sorted(path.name for path in (day_home / "index").iterdir()) == ["CURRENT", before.name]


def test_a_writer_removes_earlier_generations_and_the_layout_before_generations(day_home, cli):
    index = day_home / "index"
    (index / "g1-1" / "vectors").mkdir(parents=True)  # an earlier generation
    for legacy in ("vectors", "lexical"):
        (index / legacy).mkdir()
        (index / legacy / "papers.faiss").write_bytes(bytes(1000))
    (index / "sample.npz").write_bytes(bytes(10))
    (index / "notes.txt").write_text("mine\n")  # not semdigest's: kept
    assert "(flat, rebuilt)" in cli("index", "--rebuild").stdout
    assert sorted(path.name for path in index.iterdir()) == ["CURRENT", live(day_home).name, "notes.txt"]


def test_an_index_of_the_layout_before_generations_is_rebuilt(day_home, cli):
    index = day_home / "index"
    generation = live(day_home)
    for part in ("vectors", "lexical", "sample.npz"):
        os.replace(generation / part, index / part)
    (index / "CURRENT").unlink()
    old = cli("similar", SURVEY)
    assert old.exit_code == 2 and "written by an older semdigest" in old.stderr and "run semdigest index" in old.stderr
    assert "(flat, rebuilt)" in cli("index").stdout
    assert cli("similar", SURVEY).exit_code == 0 and not (index / "vectors").exists()
