"""Atomic writes keep the permissions a plain write would give: the umask's for a new file, the replaced
file's own for an old one (tempfile.mkstemp's 0600 made every page, feed and topics.toml private)."""

from __future__ import annotations

import os
import stat

from semdigest.files import atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_the_umasks_mode_and_replaced_ones_keep_theirs(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "page.md", "one")
        assert _mode(tmp_path / "page.md") == 0o644
        (tmp_path / "page.md").chmod(0o640)
        atomic_write_text(tmp_path / "page.md", "two")
        assert _mode(tmp_path / "page.md") == 0o640 and (tmp_path / "page.md").read_text() == "two"
        os.umask(0o077)
        atomic_write_text(tmp_path / "private.md", "x")
        assert _mode(tmp_path / "private.md") == 0o600
        assert os.umask(0o077) == 0o077  # the umask itself is left as it was
    finally:
        os.umask(old)


def test_topics_toml_keeps_its_mode_through_an_edit(home, cli):
    old = os.umask(0o022)
    try:
        assert cli("topics", "add", "A", "-k", "a").exit_code == 0
        assert _mode(home / "topics.toml") == 0o644
        (home / "topics.toml").chmod(0o600)
        assert cli("topics", "add", "B", "-k", "b").exit_code == 0
        assert _mode(home / "topics.toml") == 0o600
    finally:
        os.umask(old)
