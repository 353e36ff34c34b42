"""A first run: `semdigest init` (a data directory with commented topics and settings, and with `github`
the scheduled workflow) and `semdigest paths` (where everything is, and why there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .._version import __version__
from ..config import Settings
from ..files import atomic_write_text
from ..sources.snapshot import embedded_data
from .datadir import make_home
from .reports import InitResult, Location, Paths

TOPICS_TEMPLATE = "topics-template.toml"
CONFIG_TEMPLATE = "config-template.toml"
WORKFLOW_TEMPLATE = "github-workflow.yml"
WORKFLOW = Path(".github") / "workflows" / "semdigest.yml"  # in the folder that holds the data directory


def init_home(settings: Settings, *, github: bool, say: Callable[[str], None]) -> InitResult:
    """Make the data directory and write what it lacks of topics.toml, config.toml and .gitignore (and the
    workflow); nothing that exists is overwritten."""
    make_home(settings, say)
    layout = settings.layout
    files = {
        layout.topics: embedded_data(TOPICS_TEMPLATE).read_text(encoding="utf-8"),
        layout.config: embedded_data(CONFIG_TEMPLATE).read_text(encoding="utf-8"),
        layout.gitignore: layout.gitignore_text(),
    }
    if github:
        files[settings.home.absolute().parent / WORKFLOW] = workflow(settings.home.name)
    written, kept = [], []
    for path, text in files.items():
        if path.exists():
            kept.append(path)
        else:
            atomic_write_text(path, text)
            written.append(path)
    return InitResult(settings.home, tuple(written), tuple(kept))


def workflow(home_name: str) -> str:
    """The GitHub Actions workflow for a repository whose data directory is `home_name` at its top."""
    text = embedded_data(WORKFLOW_TEMPLATE).read_text(encoding="utf-8")
    return text.replace("@HOME@", home_name).replace("@VERSION@", __version__)


def paths_of(settings: Settings) -> Paths:
    layout = settings.layout
    entries = (
        ("database", layout.db, "papers, listings, embedding cache, seen-history (SQLite)"),
        ("indexes", layout.index, "FAISS and BM25 indexes: `semdigest index` rebuilds them"),
        ("model_cache", layout.cache, "the fast embedding model, built once"),
        ("output", layout.digests, "pages and feeds, unless --out says elsewhere"),
        ("topics", layout.topics, "your topics: `semdigest topics ...` edits them"),
        ("config", layout.config, "optional settings"),
        ("history_export", layout.history, "`semdigest history export` writes it, `import` reads it"),
    )
    return Paths(
        settings.home,
        settings.home_source,
        settings.home.is_dir(),
        tuple(Location(name, path, path.exists(), what) for name, path, what in entries),
    )
