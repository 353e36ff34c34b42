"""The data directory's layout: the one place that knows which file lives where.

<home>/
  semdigest.db      SQLite (WAL): papers, listings, embedding cache, seen-history
  config.toml       optional settings
  topics.toml       the seed topics
  seen-history.jsonl  the seen-history exported (`semdigest history export`): what must outlive a cache
  .gitignore        written by `semdigest init`: what git need not keep (rebuilt or cached)
  lock              the writer lock (flock)
  index/            the indexes (indexes.IndexDir owns what is inside)
  cache/            the fast embedding model, built once per model folder
  digests/          the default output folder of `digest`
  outbox/           digests whose e-mail failed, as <day>.eml, sent before the next one (`--email`)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "semdigest.db"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def topics(self) -> Path:
        return self.root / "topics.toml"

    @property
    def history(self) -> Path:
        return self.root / "seen-history.jsonl"

    @property
    def gitignore(self) -> Path:
        return self.root / ".gitignore"

    def gitignore_text(self) -> str:
        """What a repository that keeps the data directory need not commit: all of it can be rebuilt
        from arXiv and the files kept (topics, config, the seen-history export)."""
        names = [f"{self.db.name}*", self.lock.name, f"{self.index.name}/", f"{self.cache.name}/"]
        return "# rebuilt or cached by semdigest; keep the rest (topics, config, seen-history) in git\n" + "".join(
            f"{name}\n" for name in names
        )

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def digests(self) -> Path:
        return self.root / "digests"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"
