"""Where semdigest keeps its data and how it reaches arXiv: the only module besides the CLI that reads
the environment.

Precedence: command-line option > environment variable > `<home>/config.toml` > default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .layout import Layout

DEFAULT_HOME = Path(".semdigest")
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_RSS_URL = "https://rss.arxiv.org/rss"
DEFAULT_CATEGORIES = ("cs.AI", "cs.CL", "cs.CV", "cs.LG", "cs.MA", "cs.RO")


@dataclass(frozen=True)
class Settings:
    home: Path
    api_url: str = DEFAULT_API_URL
    rss_url: str = DEFAULT_RSS_URL
    delay: float = 3.0  # arXiv's terms: one request every three seconds
    max_retries: int = 4
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    model: str = "all-MiniLM-L6-v2"
    models_dir: Path = Path("models")
    fast: bool = True  # the quantised ONNX embedding path; false = plain sentence-transformers fp32

    @property
    def layout(self) -> Layout:
        return Layout(self.home)


def load_settings(home: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Settings for `home` (else $SEMDIGEST_HOME, else ./.semdigest), its config.toml and the environment."""
    root = Path(home or env.get("SEMDIGEST_HOME") or DEFAULT_HOME).expanduser()
    settings = Settings(home=root, **_read_config_file(Layout(root).config))
    overrides: dict[str, Any] = {"api_url": env.get("SEMDIGEST_API_URL"), "rss_url": env.get("SEMDIGEST_RSS_URL")}
    return replace(settings, **{key: value for key, value in overrides.items() if value})


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    known = {field.name: field.type for field in fields(Settings) if field.name != "home"}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return {key: _coerce(path, key, value) for key, value in raw.items()}


def _coerce(path: Path, key: str, value: object) -> object:
    expected: dict[str, type | tuple[type, ...]] = {
        "delay": (int, float),
        "max_retries": int,
        "fast": bool,
        "categories": list,
    }
    if key in expected and not isinstance(value, expected[key]):
        raise ConfigError(f"{path}: setting {key!r} has the wrong type ({type(value).__name__})")
    if key == "categories":
        return tuple(str(item) for item in value)  # type: ignore[attr-defined]
    if key == "models_dir":
        return Path(str(value))
    return value if key in expected else str(value)
