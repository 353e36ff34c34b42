"""A first run as a new user meets it: where the data directory is (found upwards like .git, else per
user), reading commands that create nothing, `init` and `paths`, the help's examples, shell completion,
the daily job offline and on an empty day, and the seen-history export a CI job keeps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from arxiv_server import RSS, Reply, fixture
from semdigest.cli import main
from semdigest.config import Settings, load_settings
from semdigest.sources.snapshot import embedded_data

ROOT = Path(__file__).parents[2]
DAY_FILE = embedded_data("day-2025-08-18.jsonl")


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in lines[-1]
    return lines[-1]


@pytest.fixture
def newcomer(tmp_path, monkeypatch) -> Path:
    """A user with no data directory anywhere: a project folder as the current folder, XDG in tmp."""
    monkeypatch.delenv("SEMDIGEST_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    monkeypatch.chdir(project / "sub")
    return project


def _paths(cli, *args) -> dict:
    result = cli(*args, "paths", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- where the data directory is ------------------------------------------------------------------------


def test_the_data_directory_is_found_upwards_else_per_user(newcomer, cli, tmp_path, monkeypatch):
    found = _paths(cli)
    assert found["home"] == str(tmp_path / "xdg" / "semdigest") and found["why"].startswith("the per-user default")
    assert not found["exists"] and not (tmp_path / "xdg").exists()
    (newcomer / ".semdigest").mkdir()
    found = _paths(cli)
    assert found["home"] == str(newcomer / ".semdigest") and "found upwards" in found["why"]
    assert found["database"]["path"] == str(newcomer / ".semdigest" / "semdigest.db")
    monkeypatch.setenv("SEMDIGEST_HOME", str(tmp_path / "env"))
    assert _paths(cli)["home"] == str(tmp_path / "env")
    assert _paths(cli, "--home", tmp_path / "opt")["home"] == str(tmp_path / "opt")
    monkeypatch.delenv("SEMDIGEST_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # the XDG spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    (newcomer / ".semdigest").rmdir()
    assert _paths(cli)["home"] == str(tmp_path / "user" / ".local" / "share" / "semdigest")


def test_reading_commands_create_nothing(newcomer, cli, tmp_path):
    for args in (["stats"], ["show", "2508.13073"], ["similar", "2508.13073"], ["digest"], ["index"]):
        one_line_error(cli(*args), f"no data directory at {tmp_path / 'xdg' / 'semdigest'}", "`semdigest init`")
    one_line_error(cli("topics", "list"), "no topics file")
    assert sorted(os.listdir(tmp_path)) == ["project"] and os.listdir(newcomer) == ["sub"]
    assert os.listdir(newcomer / "sub") == []


def test_a_writing_command_makes_the_per_user_directory_and_says_so(newcomer, cli, tmp_path):
    result = cli("ingest", DAY_FILE)
    assert result.exit_code == 0 and "367 new" in result.stdout
    assert f"created the data directory {tmp_path / 'xdg' / 'semdigest'} (the per-user default" in result.stderr
    assert "papers: 367" in cli("stats").stdout


# --- init and paths -----------------------------------------------------------------------------------


def test_init_writes_commented_topics_and_settings(newcomer, cli):
    result = cli("init")
    assert result.exit_code == 0, result.output
    home = newcomer / "sub" / ".semdigest"
    assert {path.name for path in home.iterdir()} >= {"topics.toml", "config.toml", ".gitignore"}
    assert "papers: 0" in cli("stats").stdout and not (home / "semdigest.db").exists()
    topic = json.loads(cli("topics", "show", "Agents", "--json").stdout)
    assert topic["categories"] == ["cs.AI", "cs.CL", "cs.LG", "cs.MA"] and topic["max_papers"] == 20
    template = (home / "topics.toml").read_text()
    for field in topic:  # every field is there, explained by a comment above it
        assert f"\n{field} = " in template, field
        assert template.split(f"\n{field} = ")[0].splitlines()[-1].startswith("# "), field
    assert "semdigest.db*" in (home / ".gitignore").read_text()
    (home / "topics.toml").write_text("# mine\n")
    again = cli("init")
    assert "kept" in again.stdout and (home / "topics.toml").read_text() == "# mine\n"


def test_the_config_template_shows_every_setting_with_its_default(tmp_path):
    text = embedded_data("config-template.toml").read_text()
    (tmp_path / "config.toml").write_text(text)
    assert load_settings(tmp_path, env={}) == Settings(tmp_path, home_source="given with --home")  # all commented out
    uncommented = "\n".join(line[2:] if " = " in line else "" for line in text.splitlines())
    (tmp_path / "config.toml").write_text(uncommented)
    assert load_settings(tmp_path, env={}) == Settings(
        tmp_path, home_source="given with --home"
    )  # each one shows its default
    named = {line.split(" = ")[0] for line in uncommented.splitlines() if line}
    assert named == {
        "api_url",
        "rss_url",
        "oai_url",
        "delay",
        "max_retries",
        "categories",
        "model",
        "models_dir",
        "fast",
        "open_abstracts",
    }


def test_init_github_writes_the_linted_example_workflow(newcomer, cli):
    result = cli("init", "--github", newcomer / ".semdigest")
    assert result.exit_code == 0, result.output
    written = (newcomer / ".github" / "workflows" / "semdigest.yml").read_text()
    assert written == (ROOT / "examples" / "github-actions-digest.yml").read_text()


def test_the_workflow_is_safe_to_leave_unattended():
    text = (ROOT / "examples" / "github-actions-digest.yml").read_text()
    flow = yaml.safe_load(text)
    job = flow["jobs"]["digest"]
    assert flow["concurrency"]["cancel-in-progress"] is False and job["timeout-minutes"] <= 60
    assert flow[True]["schedule"] == [{"cron": "17 6 * * 1-5"}]  # YAML reads the key `on` as true
    pinned = (ROOT / "Makefile").read_text().split("torch==")[1].split()[0]
    assert job["env"]["TORCH_VERSION"] == pinned and '"torch==${TORCH_VERSION}"' in text
    assert "|| echo" not in text and "git push" in text
    caches = [step["with"]["path"] for step in job["steps"] if step.get("uses", "").startswith("actions/cache")]
    assert "~/venv" in caches and all("topics.toml" not in path and "seen-history" not in path for path in caches)


def test_paths_names_everything_and_creates_nothing(home, cli):
    (home / "config.toml").unlink()
    text = cli("paths").stdout
    for name in ("data directory", "database", "indexes", "model_cache", "output", "topics", "config"):
        assert name in text
    assert "given with --home" in cli("--home", home, "paths").stdout
    assert os.listdir(home) == []


# --- help, completion ---------------------------------------------------------------------------------


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_examples_in_its_help(cli):
    for path, _ in _commands(main):
        result = cli(*path, "--help")
        assert result.exit_code == 0 and "Example" in result.stdout, " ".join(path)


def test_shell_completion_script_is_produced_and_completes():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "_SEMDIGEST_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-m", "semdigest"], env=env, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "complete -o nosort -F _semdigest_completion semdigest" in script.stdout
    env |= {"_SEMDIGEST_COMPLETE": "bash_complete", "COMP_WORDS": "semdigest topics ex", "COMP_CWORD": "2"}
    words = subprocess.run([sys.executable, "-m", "semdigest"], env=env, capture_output=True, text=True, timeout=60)
    assert words.stdout.split() == ["plain,explain"]


# --- the daily job --------------------------------------------------------------------------------------


def test_run_json_on_an_empty_day_is_json(home, cli, arxiv_server):
    empty = [Reply(200, fixture("rss2024_empty_category-test.xml"), content_type=RSS)]
    arxiv_server.route("/rss/cs.AI", empty)
    result = cli("run", "-c", "cs.AI", "--json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["topics"] == [] and record["announced"] == 0 and "no papers announced" in record["message"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("where", ["refused", "no such host"])
def test_offline_the_whole_command_fails_at_once(home, cli, monkeypatch, where):
    url = f"http://127.0.0.1:{_closed_port()}" if where == "refused" else "http://arxiv.invalid"
    monkeypatch.setenv("SEMDIGEST_RSS_URL", f"{url}/rss")
    monkeypatch.setenv("SEMDIGEST_API_URL", f"{url}/api/query")
    (home / "config.toml").write_text("delay = 3\nmax_retries = 4\n")  # arXiv's real pacing, retries on
    assert cli("topics", "add", "Agents", "-k", "agent").exit_code == 0
    for args in (["run"], ["topics", "like", "Agents", "2508.13073"], ["fetch", "--id", "2508.13073"]):
        result = cli(*args)
        one_line_error(result, "cannot reach arXiv at")
        assert "retry" not in result.stderr  # no backoff (3 s, 6 s, 12 s, 24 s) spent on what no retry fixes


# --- the seen-history a repository keeps ------------------------------------------------------------------


def test_the_seen_history_survives_a_lost_store(day_home, cli, tmp_path):
    assert cli("topics", "import", embedded_data("seed-topics.json")).exit_code == 0
    assert cli("digest").exit_code == 0
    exported = cli("history", "export")
    assert exported.exit_code == 0
    lines = (day_home / "seen-history.jsonl").read_text().splitlines()
    assert len(lines) > 300 and lines == sorted(lines, key=lambda line: (json.loads(line)["topic"], line))
    assert f"exported {len(lines)} seen-history rows" in exported.stdout

    fresh = tmp_path / "fresh"  # a CI runner whose cache was evicted: only the committed files are left
    fresh.mkdir()
    for name in ("topics.toml", "config.toml", "seen-history.jsonl"):
        (fresh / name).write_bytes((day_home / name).read_bytes())
    (fresh / "cache").symlink_to(day_home / "cache")
    assert cli("--home", fresh, "ingest", DAY_FILE).exit_code == 0
    imported = cli("--home", fresh, "history", "import")
    assert f"imported {len(lines)} seen-history rows" in imported.stdout and f"({len(lines)} new" in imported.stdout
    assert "(0 new" in cli("--home", fresh, "history", "import").stdout  # twice changes nothing
    assert cli("--home", fresh, "history", "export", tmp_path / "again.jsonl").exit_code == 0
    assert (tmp_path / "again.jsonl").read_text().splitlines() == lines  # the fresh store remembers it all


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ('{"topic": "LLM", "paper": "2508.1", "day": "2025-08-18", "score": 1, "reason": ""}', "is not an arXiv id"),
        ('{"topic": "LLM", "paper": "2508.13073", "day": "z/../../x", "score": 1, "reason": ""}', "YYYY-MM-DD"),
        ('{"topic": "LLM", "paper": "2508.13073", "day": "2025-08-18", "score": NaN, "reason": ""}', "score"),
    ],
)
def test_a_bad_history_line_imports_nothing(home, cli, line, message):
    good = '{"topic": "LLM", "paper": "2508.13073", "day": "2025-08-18", "score": 0.9, "reason": "kw"}'
    (home / "seen-history.jsonl").write_text(f"{good}\n{line}\n")
    one_line_error(cli("history", "import"), "seen-history.jsonl, line 2", message)
    assert "exported 0 seen-history rows" in cli("history", "export").stdout
