"""Commands that rank: `similar`, `digest` and `run` (options and printing only)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from .cli_common import (DAY, arxiv_client, ensure_stored, models_of, open_store, period, prepare, ranking_pool, say,
                         to_day)
from .config import Settings
from .digest import Digest, build_digest, digest_json, remember, write_digest
from .errors import SemdigestError
from .ids import parse_id
from .index import IndexProblem
from .ingest import fetch_into
from .lock import writer_lock
from .paper import Paper
from .pipeline import embed_texts
from .store import Store
from .topics import load_topics


@click.command()
@click.argument("ids", nargs=-1)
@click.option("--text", help="Find papers like this free text instead.")
@click.option("-n", "count", default=10, show_default=True, type=click.IntRange(1, 1000), help="Results per query.")
@click.option("--since", type=DAY, help="Only papers first released on or after this day.")
@click.option("--until", type=DAY, help="Only papers first released on or before this day.")
@click.option("--category", "-c", "categories", multiple=True, help="Only papers in this category (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.pass_obj
def similar(settings: Settings, ids: tuple[str, ...], text: str | None, count: int, since: datetime | None,
            until: datetime | None, categories: tuple[str, ...], as_json: bool) -> None:
    """Papers most similar to arXiv IDs (fetched from arXiv if new) or to --text."""
    from .search import Filters

    if not ids and not text:
        raise click.UsageError("give one or more arXiv ids, or --text")
    wanted = list(dict.fromkeys(parse_id(raw).id for raw in ids))  # malformed ids fail before anything else
    filters = Filters(to_day(since), to_day(until), categories)
    with open_store(settings) as store:
        searcher = _searcher(store, settings)
        lacking = [paper_id for paper_id in wanted if _query_vector(searcher, store.get(paper_id)) is None]
        if lacking:
            with writer_lock(settings.home, on_wait=say):
                ensure_stored(settings, store, lacking)
                prepare(settings, store, models_of(settings), paper_ids=lacking)
            searcher = _searcher(store, settings)
        for paper_id in wanted:
            paper = store.get(paper_id)
            hits = searcher.similar(_query_vector(searcher, paper), paper.text, n=count, exclude=(paper_id,),
                                    filters=filters)
            _print_hits(paper_id, paper.title, hits, as_json)
        if text:
            vector = embed_texts(store, searcher.model, [text], models_of(settings))[0]
            _print_hits(text, None, searcher.similar(vector, text, n=count, filters=filters), as_json)


def _searcher(store: Store, settings: Settings):  # noqa: ANN202 - search.Searcher, imported lazily
    from .search import Searcher

    try:
        return Searcher(store, settings.index_dir)
    except (IndexProblem, OSError) as problem:
        raise SemdigestError(f"no usable index ({problem}): run semdigest index") from None


def _query_vector(searcher, paper: Paper | None):  # noqa: ANN001,ANN202
    return None if paper is None else searcher.vector_of(paper)


def _print_hits(query: str, title: str | None, hits: list, as_json: bool) -> None:  # noqa: ANN001
    if as_json:
        results = [{"id": hit.paper.id, "score": round(hit.score, 4), "cosine": round(hit.cosine, 4),
                    "title": hit.paper.title, "authors": list(hit.paper.authors),
                    "categories": list(hit.paper.categories), "date": _date(hit.paper), "url": hit.paper.url}
                   for hit in hits]
        click.echo(json.dumps({"query": query, "results": results}, ensure_ascii=False))
        return
    click.echo(f"{query}  {title}" if title else f"like: {query}")
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank:3d}. {hit.score:5.2f}  {hit.paper.id:<12} {_date(hit.paper) or '':10}  {hit.paper.title}")
    click.echo()


def _date(paper: Paper) -> str | None:
    return (paper.published or paper.listed or paper.updated or "")[:10] or None


@click.command()
@click.option("--date", "day", type=DAY, help="The listing day (default: the latest one in the store).")
@click.option("--from", "first", type=DAY, help="First day of a period.")
@click.option("--to", "last", type=DAY, help="Last day of a period (default: the latest day).")
@click.option("--topics", "topics_file", type=click.Path(path_type=Path), help="Topics file (default: <home>/topics.toml).")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: <home>/digests).")
@click.option("--all", "include_all", is_flag=True, help="Every paper of the period, ranked (no threshold, no cap).")
@click.option("--show-seen", is_flag=True, help="Keep papers earlier digests showed, marked as seen.")
@click.option("--json", "as_json", is_flag=True, help="Print the ranked lists as one JSON object.")
@click.pass_obj
def digest(settings: Settings, day: datetime | None, first: datetime | None, last: datetime | None,
           topics_file: Path | None, out: Path | None, include_all: bool, show_seen: bool, as_json: bool) -> None:
    """Rank the period's papers for every topic and write the Markdown digest."""
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store:
        topics = load_topics(topics_file or settings.topics_path)
        start, end = period(store, to_day(day), to_day(first), to_day(last))
        result = _digest(settings, store, topics, start, end, include_all=include_all, show_seen=show_seen)
        page = write_digest(store, result, out or settings.out_dir)
    if as_json:
        click.echo(json.dumps(digest_json(result), ensure_ascii=False, indent=1))
    else:
        _print_summary(result, page)


def _digest(settings: Settings, store: Store, topics: list, first: str, last: str, *,  # noqa: ANN001
            include_all: bool = False, show_seen: bool = False) -> Digest:
    pool = ranking_pool(settings, store, first, last, topics)
    result = build_digest(store, topics, pool, first, last, show_seen=show_seen, include_all=include_all)
    if not include_all:
        remember(store, result)
    return result


def _print_summary(result: Digest, page: Path) -> None:
    papers = {item.paper.id for topic in result.topics for item in topic.papers}
    click.echo(f"{result.label}: {len(result.topics)} topics, {len(papers)} papers")
    for topic in sorted(result.topics, key=lambda t: -len(t.papers)):
        click.echo(f"  {topic.topic.name:<24} {len(topic.papers):4d}  ({topic.semantic_matches} semantic matches)")
    click.echo(f"digest: {page}")


@click.command()
@click.option("--category", "-c", "categories", multiple=True, help="arXiv category (repeatable); default from config.")
@click.option("--topics", "topics_file", type=click.Path(path_type=Path), help="Topics file (default: <home>/topics.toml).")
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: <home>/digests).")
@click.option("--json", "as_json", is_flag=True, help="Print the ranked lists as one JSON object.")
@click.pass_context
def run(ctx: click.Context, categories: tuple[str, ...], topics_file: Path | None, out: Path | None,
        as_json: bool) -> None:
    """The daily job: fetch today's listing, index it, write the digest."""
    settings: Settings = ctx.obj
    cats = list(categories or settings.categories)
    say(f"fetching today's {'+'.join(cats)} listing ...")
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store, arxiv_client(settings) as client:
        listing = client.listing(cats)
        counts = fetch_into(store, listing.papers)
    if not listing.papers or listing.date is None:
        click.echo("no papers announced today (a weekend or holiday listing is empty): no digest")
        return
    say(f"{listing.date}: {len(listing.papers)} papers ({counts.new} new, {counts.updated} updated)")
    ctx.invoke(digest, day=datetime.fromisoformat(listing.date), topics_file=topics_file, out=out, as_json=as_json)
