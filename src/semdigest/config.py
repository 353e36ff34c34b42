"""Where semdigest keeps its data and how it reaches arXiv: the only module besides the CLI that reads
the environment.

Precedence: command-line option > environment variable > `<home>/config.toml` > default.

The data directory, when neither `--home` nor $SEMDIGEST_HOME names one, is found the way git finds a
repository: a `.semdigest/` folder in the current folder or one of its parents (a digest project), else
the per-user one, `$XDG_DATA_HOME/semdigest` (`~/.local/share/semdigest`). A cron job or a CI runner that
starts in another folder therefore still reaches the same data, and `semdigest stats` in a random folder
no longer plants a `.semdigest/` there.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from email.utils import formataddr, getaddresses, parseaddr
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .layout import Layout

PROJECT_HOME = ".semdigest"  # a digest project's data directory, found upwards from the current folder
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_RSS_URL = "https://rss.arxiv.org/rss"
DEFAULT_OAI_URL = "https://oaipmh.arxiv.org/oai"  # OAI-PMH since March 2025 (was export.arxiv.org/oai2)
DEFAULT_CATEGORIES = ("cs.AI", "cs.CL", "cs.CV", "cs.LG", "cs.MA", "cs.RO")
# an archive (`cs`, `hep-th`) or a subject class (`cs.CV`, `q-bio.NC`, `math.QA`): what arXiv's listings name
CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
MAX_DELAY = 3600.0  # seconds between requests; more is a typo, and a daily job would never finish
MAX_RETRIES = 20
MAX_OPEN_ABSTRACTS = 1000


@dataclass(frozen=True)
class EmailSettings:
    """The `[email]` table of config.toml: where `digest --email` and `run --email` send the digest."""

    smtp_host: str
    smtp_port: int
    sender: str  # `from`: "Digest <digest@example.org>" or a bare address
    to: tuple[str, ...]
    starttls: bool = False  # upgrade a plain connection (port 587)
    ssl: bool = False  # TLS from the first byte (port 465)
    username: str | None = None
    password: str = field(default="", repr=False)  # from $SEMDIGEST_SMTP_PASSWORD only, never from a file


@dataclass(frozen=True)
class Settings:
    home: Path
    api_url: str = DEFAULT_API_URL
    rss_url: str = DEFAULT_RSS_URL
    oai_url: str = DEFAULT_OAI_URL
    delay: float = 3.0  # arXiv's terms: one request every three seconds
    max_retries: int = 4
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    model: str = "all-MiniLM-L6-v2"
    models_dir: Path = Path("models")
    fast: bool = True  # the quantised ONNX embedding path; false = plain sentence-transformers fp32
    open_abstracts: int = 5  # abstracts shown open at the top of a digest page; the others are folded
    # why `home` is the data directory (`semdigest paths` prints it); not a config.toml key
    home_source: str = "given"
    # True when the data directory is the per-user default, whose parent folders may be created
    home_is_default: bool = False
    email: EmailSettings | None = None  # the [email] table; None when config.toml has none

    @property
    def layout(self) -> Layout:
        return Layout(self.home)


URL_KEYS = ("api_url", "rss_url", "oai_url")  # each also set by $SEMDIGEST_<KEY>
_NOT_IN_CONFIG = {"home", "home_source", "home_is_default"}  # `email` is the [email] table


def load_settings(
    home: str | Path | None = None, env: Mapping[str, str] = os.environ, cwd: Path | None = None
) -> Settings:
    """Settings for `home` (else $SEMDIGEST_HOME, else a `.semdigest/` found upwards from `cwd`, else the
    per-user data directory), its config.toml and the environment."""
    root, source, is_default = find_home(home, env, cwd or Path.cwd())
    settings = Settings(home=root, home_source=source, home_is_default=is_default, **_read_config_file(root))
    overrides: dict[str, Any] = {}
    for key in URL_KEYS:
        variable = f"SEMDIGEST_{key.upper()}"
        if env.get(variable):
            overrides[key] = _url(f"${variable}", env[variable])
    if settings.email and env.get("SEMDIGEST_SMTP_PASSWORD"):
        overrides["email"] = replace(settings.email, password=env["SEMDIGEST_SMTP_PASSWORD"])
    return replace(settings, **overrides)


def find_home(home: str | Path | None, env: Mapping[str, str], cwd: Path) -> tuple[Path, str, bool]:
    """(the data directory, why it was chosen, whether it is the per-user default)."""
    if home:
        return Path(home).expanduser(), "given with --home", False
    if env.get("SEMDIGEST_HOME"):
        return Path(env["SEMDIGEST_HOME"]).expanduser(), "$SEMDIGEST_HOME", False
    for folder in (cwd, *cwd.parents):
        candidate = folder / PROJECT_HOME
        if candidate.is_dir():
            shown = Path(os.path.relpath(candidate, cwd)) if folder == cwd else candidate
            return shown, f"found upwards from {cwd}, as git finds .git", False
    data = env.get("XDG_DATA_HOME", "")
    if os.path.isabs(data):  # the XDG spec: a relative value is invalid and ignored
        return Path(data) / "semdigest", f"the per-user default: no {PROJECT_HOME}/ in {cwd} or above", True
    default = Path(env.get("HOME") or Path.home()) / ".local" / "share" / "semdigest"
    return default, f"the per-user default: no {PROJECT_HOME}/ in {cwd} or above", True


def check_categories(where: str, categories: Sequence[object]) -> tuple[str, ...]:
    """arXiv category or archive names, as listings name them; anything else (`%`, `cs.CV/..`, '') is an error
    before it reaches a URL or a query."""
    if not categories:
        raise ConfigError(f"{where}: no categories given (e.g. cs.CL, cs.CV)")
    for category in categories:
        if not isinstance(category, str) or not CATEGORY.fullmatch(category):
            raise ConfigError(f"{where}: {category!r} is not an arXiv category or archive (e.g. cs.CL, math, hep-th)")
    return tuple(str(category) for category in categories)


def _read_config_file(root: Path) -> dict[str, Any]:
    path = Layout(root).config
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    known = {field.name for field in fields(Settings)} - _NOT_IN_CONFIG
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return {
        key: _email(f"{path}: [email]", value) if key == "email" else _checked(f"{path}: setting {key!r}", key, value)
        for key, value in raw.items()
    }


_EMAIL_KEYS = ("smtp_host", "smtp_port", "from", "to", "starttls", "ssl", "username")
_DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "plain": 25}


def _email(where: str, table: object) -> EmailSettings:
    """The [email] table, each field checked; the password is not a setting (see load_settings)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table ([email] with smtp_host, from, to), not {_toml(table)}")
    unknown = sorted(set(table) - set(_EMAIL_KEYS))
    if "password" in unknown:
        raise ConfigError(f"{where}: the password is not kept in config.toml; set $SEMDIGEST_SMTP_PASSWORD")
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(_EMAIL_KEYS)})")
    missing = [key for key in ("smtp_host", "from", "to") if key not in table]
    if missing:
        raise ConfigError(
            f"{where}: {' and '.join(repr(key) for key in missing)} missing (needed: smtp_host, from, to)"
        )
    host = table["smtp_host"]
    if not isinstance(host, str) or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", host):
        raise ConfigError(f"{where}: setting 'smtp_host' must be a host name or address, not {_toml(host)}")
    flags = {key: table.get(key, False) for key in ("starttls", "ssl")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: setting {key!r} must be true or false, not {_toml(value)}")
    if flags["starttls"] and flags["ssl"]:
        raise ConfigError(f"{where}: 'starttls' and 'ssl' exclude each other (587: starttls, 465: ssl)")
    mode = "ssl" if flags["ssl"] else "starttls" if flags["starttls"] else "plain"
    port = table.get("smtp_port", _DEFAULT_PORTS[mode])
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}: setting 'smtp_port' must be a port number from 1 to 65535, not {_toml(port)}")
    recipients = table["to"]
    if not isinstance(recipients, list) or not recipients:
        raise ConfigError(f"{where}: setting 'to' must be a list of addresses, not {_toml(recipients)}")
    username = table.get("username")
    if username is not None and (not isinstance(username, str) or not username.strip()):
        raise ConfigError(f"{where}: setting 'username' must be a non-empty string, not {_toml(username)}")
    if username and mode == "plain":
        raise ConfigError(f"{where}: a username without 'starttls' or 'ssl' would send the password unencrypted")
    return EmailSettings(
        smtp_host=host,
        smtp_port=port,
        sender=_address(f"{where}: setting 'from'", table["from"]),
        to=tuple(_address(f"{where}: setting 'to'", address) for address in recipients),
        starttls=flags["starttls"],
        ssl=flags["ssl"],
        username=username,
    )


def _address(where: str, value: object) -> str:
    """One e-mail address, bare or with a name, quoted as a header needs it ("Hopper, Grace" <g@example.org>);
    a line break would let it add mail headers of its own, a comma a second address."""
    if (
        not isinstance(value, str)
        or re.search(r"[\r\n]", value)
        or len(getaddresses([value])) != 1
        or "@" not in parseaddr(value)[1]
    ):
        raise ConfigError(f"{where} must be one e-mail address (name@example.org), not {_toml(value)}")
    return formataddr(parseaddr(value))


def _checked(where: str, key: str, value: object) -> object:
    """A config.toml value, validated: TOML's `true` is not 1 s, and -1 retries is not a retry policy."""
    if key == "delay":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_DELAY:
            raise ConfigError(f"{where} must be a number of seconds from 0 to {MAX_DELAY:.0f}, not {_toml(value)}")
        return float(value)
    if key == "max_retries":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
            raise ConfigError(f"{where} must be a whole number from 0 to {MAX_RETRIES}, not {_toml(value)}")
        return value
    if key == "open_abstracts":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OPEN_ABSTRACTS:
            raise ConfigError(f"{where} must be a whole number from 0 to {MAX_OPEN_ABSTRACTS}, not {_toml(value)}")
        return value
    if key == "fast":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {_toml(value)}")
        return value
    if key == "categories":
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list of arXiv categories, not {_toml(value)}")
        return check_categories(where, value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a non-empty string, not {_toml(value)}")
    if key in URL_KEYS:
        return _url(where, value)
    return Path(value) if key == "models_dir" else value


def _toml(value: object) -> str:
    """A value as config.toml spells it (`true`, not Python's `True`)."""
    return json.dumps(value, default=str)[:80]


def _url(where: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where} must be an http:// or https:// URL, not {_toml(value)}")
    return value
