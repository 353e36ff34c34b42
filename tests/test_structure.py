"""The package's shape, checked so that it stays the way DESIGN.md describes it: data flows one way through
the stages, nothing imports in a cycle, one module owns the data-directory layout, every user error lives
in errors.py, and the public API is what `semdigest.__all__` says."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import pydoc
from pathlib import Path

import semdigest
from semdigest.errors import SemdigestError

SRC = Path(semdigest.__file__).parent
# The stages in data-flow order; a module may import its own stage and earlier ones only.
STAGES = ["base", "sources", "store", "embedding", "indexes", "ranking", "output", "app", "cli", "package"]
BASE = {"errors", "_version", "paper", "files", "layout", "config", "lock", "faults"}
LAYOUT_NAMES = {"semdigest.db", "topics.toml", "config.toml", "lock", "index", "cache", "digests", "seen-history.jsonl"}


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__") or "__init__": path
        for path in SRC.rglob("*.py")
    }


def _stage(module: str) -> str:
    top = module.split(".")[0]
    if top in BASE:
        return "base"
    return "package" if top in ("__init__", "__main__") else top


def _imports(module: str, path: Path) -> set[str]:
    """Modules of the package imported by `module`, lazily too, but not under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if module == "__init__":
        package = []
    found: set[str] = set()
    type_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in type_only or not isinstance(node, ast.ImportFrom | ast.Import):
            continue
        if isinstance(node, ast.Import):
            names = [
                alias.name.removeprefix("semdigest.") for alias in node.names if alias.name.startswith("semdigest")
            ]
        elif node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            names = [f"{target}.{alias.name}" if target else alias.name for alias in node.names]
        elif (node.module or "").startswith("semdigest"):
            target = node.module.removeprefix("semdigest").removeprefix(".")
            names = [f"{target}.{alias.name}" if target else alias.name for alias in node.names]
        else:
            continue
        found |= {_resolve(name) for name in names}
    return found - {module, None}  # type: ignore[arg-type]


def _resolve(name: str) -> str | None:
    """`ranking.rank.Pool` -> `ranking.rank`: the longest prefix that is a module."""
    modules = _modules()
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return "__init__" if name in ("__version__",) else None


def test_data_flows_one_way_through_the_stages():
    backwards = []
    for module, path in _modules().items():
        for target in _imports(module, path):
            if STAGES.index(_stage(target)) > STAGES.index(_stage(module)):
                backwards.append(f"{module} ({_stage(module)}) imports {target} ({_stage(target)})")
    assert backwards == []


def test_no_import_cycles():
    graph = {module: _imports(module, path) for module, path in _modules().items()}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for target in graph[module]:
            if target in trail:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in done:
                visit(target, [*trail, target])
        done.add(module)

    done: set[str] = set()
    for module in graph:
        visit(module, [module])
    assert cycles == []


def test_one_module_names_the_files_of_the_data_directory():
    owners = {}
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in LAYOUT_NAMES:
                owners.setdefault(node.value, set()).add(module)
    assert owners == {name: {"layout"} for name in LAYOUT_NAMES}


def test_every_user_error_is_defined_in_errors():
    for info in pkgutil.walk_packages(semdigest.__path__, "semdigest."):
        if info.name != "semdigest.__main__":
            importlib.import_module(info.name)
    pending, seen = [SemdigestError], set()
    while pending:
        error = pending.pop()
        seen.add(error)
        pending += error.__subclasses__()
    assert {error.__module__ for error in seen} == {"semdigest.errors"}


def test_the_public_api_is_exported_and_documented():
    assert set(semdigest.__all__) == set(semdigest._EXPORTS) | {"__version__"}
    for name in semdigest.__all__:
        assert hasattr(semdigest, name), name
    text = pydoc.render_doc(semdigest, renderer=pydoc.plaintext)
    for needle in ("Home.open", "class Home", "similar_by_id(self", "digest(self", "class Filters", "SemdigestError"):
        assert needle in text, needle
