"""A digest published: the shown papers remembered and the pages and feeds written in one transaction,
each feed from its topic's seen-history; the mail settings checked; any list of papers ranked (ListRanker)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import EmailSettings, Settings
from ..errors import ConfigError
from ..output.write import FEED_ENTRIES, FeedEntry, render_digest, write_files
from ..ranking.digest import Digest
from ..ranking.rank import Pool, RankedPaper, rank_topic
from ..ranking.topics import Topic
from ..store import Store


class ListRanker:
    """Every paper of one list ranked for a topic (Home.ranker)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def rank(self, topic: Topic, exclude: Sequence[str] = ()) -> list[RankedPaper]:
        """The list's papers but `exclude`, best first, scored among themselves."""
        base = self.pool
        keep = np.array([paper.id not in exclude for paper in base.papers], dtype=bool)
        pool = replace(
            base,
            papers=[p for p, k in zip(base.papers, keep, strict=True) if k],
            keys=base.keys[keep],
            vectors=base.vectors[keep],
        )
        return rank_topic(topic, pool, include_all=True)


def mail_settings(settings: Settings, config: Path) -> EmailSettings:
    """config.toml's [email], complete enough to send (`config`: the file named when it is not)."""
    email = settings.email
    if email is None:
        raise ConfigError(f"--email needs an [email] table in {config} (smtp_host, from, to)")
    if email.username and not email.password:
        raise ConfigError(f"[email] username {email.username!r} needs its password in $SEMDIGEST_SMTP_PASSWORD")
    return email


def publish(store: Store, digest: Digest, folder: Path, open_abstracts: int) -> None:
    """Remember what the digest shows and write its files under `folder`, as one unit."""
    with store.transaction():  # rolled back if any file cannot be written
        for item in digest.topics:
            fresh = [(ranked.paper.id, ranked.score, ranked.reason) for ranked in item.papers if not ranked.seen_on]
            store.record_shown(item.topic.name, digest.first, fresh)
        write_files(render_digest(digest, folder, feeds(store, digest), open_abstracts))


def feeds(store: Store, digest: Digest) -> dict[str, list[FeedEntry]]:
    """Each topic's recent seen-history (what its feed publishes: never less than this digest's papers),
    with the papers."""
    entries = {}
    for result in digest.topics:
        topic = result.topic
        history = store.shown_history(topic.name, max(FEED_ENTRIES, len(result.papers)))
        papers = store.get_many([paper_id for paper_id, *_ in history])
        entries[topic.name] = [
            (papers[pid], day, score, reason) for pid, day, score, reason in history if pid in papers
        ]
    return entries
