"""The data directory's layout: the one place that knows which file lives where.

<home>/
  semdigest.db      SQLite (WAL): papers, listings, embedding cache, seen-history
  config.toml       optional settings
  topics.toml       the seed topics
  lock              the writer lock (flock)
  index/            the indexes (indexes.IndexDir owns what is inside)
  cache/            the fast embedding model, built once per model folder
  digests/          the default output folder of `digest`
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
