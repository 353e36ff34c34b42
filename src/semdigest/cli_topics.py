"""`semdigest topics ...`: edit topics from the command line and see what a change does (options and printing only)."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

import click

from .cli_common import DAY, ensure_stored, open_store, period, ranking_pool, say, to_day
from .config import Settings
from .ids import parse_id
from .lock import writer_lock
from .rank import compare, explain, rank_topic
from .topics import (SETTABLE, Topic, TopicsError, find_topic, import_topics, load_topics, parse_keyword,
                     replace_topic, save_topics, with_examples, with_setting)


@click.group()
@click.option("--file", "topics_file", type=click.Path(path_type=Path), help="Topics file (default: <home>/topics.toml).")
@click.pass_context
def topics(ctx: click.Context, topics_file: Path | None) -> None:
    """Tune topics: keywords, description, example papers; preview a change before saving it."""
    ctx.obj = (ctx.obj, topics_file or ctx.obj.topics_path)


def _load(path: Path) -> list[Topic]:
    return load_topics(path) if path.exists() else []


@topics.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.pass_obj
def import_(context: tuple[Settings, Path], source: Path) -> None:
    """Import the keyword digest's config.yml or seed-topics.json (keywords and filters of known topics are replaced)."""
    settings, path = context
    current, incoming = _load(path), import_topics(source)
    for topic in incoming:
        known = next((t for t in current if t.name == topic.name), None)
        merged = replace(known, keywords=topic.keywords, filters=topic.filters) if known else topic
        current = replace_topic(current, merged)
    save_topics(path, current)
    click.echo(f"imported {len(incoming)} topics into {path}: {', '.join(t.name for t in incoming)}")


@topics.command()
@click.argument("name")
@click.option("--description", "-d", default="", help="What you care about, in your own words.")
@click.option("--keyword", "-k", "keywords", multiple=True, help='A keyword (repeatable); "A+B" must match both.')
@click.option("--filter", "-f", "filters", multiple=True, help="Drop papers matching this (repeatable).")
@click.option("--category", "-c", "categories", multiple=True, help="Only papers in this category (repeatable).")
@click.option("--whole-words", is_flag=True, help="Keywords match whole words only (r1 no longer matches PXR150).")
@click.pass_obj
def add(context: tuple[Settings, Path], name: str, description: str, keywords: tuple[str, ...],
        filters: tuple[str, ...], categories: tuple[str, ...], whole_words: bool) -> None:
    """Add a topic."""
    _, path = context
    current = _load(path)
    if any(topic.name == name for topic in current):
        raise TopicsError(f"a topic named {name!r} exists already (change it with: semdigest topics set {name} ...)")
    if not name.strip():
        raise TopicsError("a topic needs a name")
    topic = Topic(name=name.strip(), description=description.strip(), keywords=tuple(map(parse_keyword, keywords)),
                  filters=tuple(map(parse_keyword, filters)), categories=categories, whole_words=whole_words)
    save_topics(path, [*current, topic])
    click.echo(f"added {name} to {path}")


@topics.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_(context: tuple[Settings, Path], as_json: bool) -> None:
    """List the topics."""
    current = load_topics(context[1])
    if as_json:
        click.echo(json.dumps([_topic_json(topic) for topic in current], indent=1, ensure_ascii=False))
        return
    for topic in current:
        click.echo(f"{topic.name:<24} {len(topic.keywords):3d} keywords  {len(topic.examples):2d} examples  "
                   f"threshold {topic.threshold}  {topic.description[:60]}")


@topics.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(context: tuple[Settings, Path], name: str, as_json: bool) -> None:
    """Show one topic."""
    topic = find_topic(load_topics(context[1]), name)
    record = _topic_json(topic)
    if as_json:
        click.echo(json.dumps(record, indent=1, ensure_ascii=False))
        return
    for key, value in record.items():
        click.echo(f"{key:<12} {value}")


def _topic_json(topic: Topic) -> dict[str, object]:
    record = {key: value for key, value in asdict(topic).items() if not key.startswith("_")}
    record["keywords"] = ["+".join(k) for k in topic.keywords]
    record["filters"] = ["+".join(k) for k in topic.filters]
    return {key: list(value) if isinstance(value, tuple) else value for key, value in record.items()}


@topics.command()
@click.argument("name")
@click.pass_obj
def remove(context: tuple[Settings, Path], name: str) -> None:
    """Remove a topic."""
    current = load_topics(context[1])
    find_topic(current, name)
    save_topics(context[1], [topic for topic in current if topic.name != name])
    click.echo(f"removed {name}")


@topics.command("set")
@click.argument("name")
@click.argument("key", type=click.Choice(SETTABLE))
@click.argument("value")
@click.pass_obj
def set_(context: tuple[Settings, Path], name: str, key: str, value: str) -> None:
    """Change one field, e.g. `set MLLM threshold 0.99` or `set MLLM keywords "VLM,MLLM,LLM+vision"`."""
    current = load_topics(context[1])
    changed = with_setting(find_topic(current, name), key, value)
    save_topics(context[1], replace_topic(current, changed))
    click.echo(f"{name}: {key} = {getattr(changed, key)}")


@topics.command()
@click.argument("name")
@click.argument("ids", nargs=-1, required=True)
@click.pass_obj
def like(context: tuple[Settings, Path], name: str, ids: tuple[str, ...]) -> None:
    """Add example papers: more like these (fetched from arXiv when not stored)."""
    _edit_examples(context, name, liked=ids)


@topics.command()
@click.argument("name")
@click.argument("ids", nargs=-1, required=True)
@click.pass_obj
def unlike(context: tuple[Settings, Path], name: str, ids: tuple[str, ...]) -> None:
    """Mark papers as not wanted: they leave the topic and push their look-alikes down."""
    _edit_examples(context, name, unliked=ids)


def _edit_examples(context: tuple[Settings, Path], name: str, liked: tuple[str, ...] = (),
                   unliked: tuple[str, ...] = ()) -> None:
    settings, path = context
    current = load_topics(path)
    changed = with_examples(find_topic(current, name), liked, unliked)
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store:
        ensure_stored(settings, store, [parse_id(raw).id for raw in (*liked, *unliked)])
    save_topics(path, replace_topic(current, changed))
    click.echo(f"{name}: {len(changed.examples)} example papers, {len(changed.negatives)} not wanted")


@topics.command("explain")
@click.argument("name")
@click.argument("paper_id")
@click.option("--date", "day", type=DAY, help="The listing day (default: the latest one).")
@click.pass_obj
def explain_(context: tuple[Settings, Path], name: str, paper_id: str, day: datetime | None) -> None:
    """Why a paper got its score in a topic, and whether the digest shows it."""
    settings, path = context
    topic = find_topic(load_topics(path), name)
    canonical = parse_id(paper_id).id
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store:
        start, _ = period(store, to_day(day), None, None)
        pool = ranking_pool(settings, store, start, start, [topic])
        why = explain(topic, pool, canonical, seen=store.seen_before(topic.name, start))
    click.echo(f"{why.paper.id}  {why.paper.title}")
    click.echo(f"topic {topic.name} on {start}: {why.verdict}")
    hits = ", ".join(f"{hit.label} ({hit.where})" for hit in why.keyword_hits) or "none"
    click.echo(f"  keywords matched: {hits}")
    if why.filters_hit:
        click.echo(f"  filters matched:  {', '.join(why.filters_hit)}")
    click.echo(f"  cosine to the topic: {why.cosine:.3f}   BM25 of its words: {why.bm25:.2f}")
    if why.ranked:
        click.echo(f"  score {why.ranked.score:.3f} (more relevant than {why.ranked.score:.1%} of the store),"
                   f" rank {why.rank} of {why.eligible} papers that day")
        if why.ranked.nearest_example:
            example, cosine = why.ranked.nearest_example
            click.echo(f"  nearest example paper: {example} (cosine {cosine:.3f})")


@topics.command()
@click.argument("name")
@click.option("--date", "day", type=DAY, help="The listing day (default: the latest one).")
@click.option("--set", "settings_", nargs=2, multiple=True, metavar="KEY VALUE", help="A field to change (repeatable).")
@click.option("--like", "liked", multiple=True, help="An example paper to add (repeatable).")
@click.option("--unlike", "unliked", multiple=True, help="A paper to mark as not wanted (repeatable).")
@click.option("--add-keyword", "add_keywords", multiple=True, help='A keyword to add ("A+B": both).')
@click.option("--add-filter", "add_filters", multiple=True, help="A filter to add.")
@click.option("--all", "show_all", is_flag=True, help="List unchanged papers too.")
@click.option("--save", is_flag=True, help="Save the change after showing it.")
@click.pass_obj
def preview(context: tuple[Settings, Path], name: str, day: datetime | None, settings_: tuple[tuple[str, str], ...],
            liked: tuple[str, ...], unliked: tuple[str, ...], add_keywords: tuple[str, ...],
            add_filters: tuple[str, ...], show_all: bool, save: bool) -> None:
    """What a change does to a topic's digest, side by side with the current version."""
    settings, path = context
    current = load_topics(path)
    before = find_topic(current, name)
    after = with_examples(before, liked, unliked)
    for key, value in settings_:
        after = with_setting(after, key, value)
    after = replace(after, keywords=after.keywords + tuple(map(parse_keyword, add_keywords)),
                    filters=after.filters + tuple(map(parse_keyword, add_filters)))
    with writer_lock(settings.home, on_wait=say), open_store(settings) as store:
        ensure_stored(settings, store, [parse_id(raw).id for raw in (*liked, *unliked)])
        start, _ = period(store, to_day(day), None, None)
        pool = ranking_pool(settings, store, start, start, [before, after])
        seen = store.seen_before(name, start)
        old, new = rank_topic(before, pool, seen=seen), rank_topic(after, pool, seen=seen)
    moves = compare(old, new)
    counts = {kind: sum(1 for move in moves if move.kind == kind) for kind in ("enters", "leaves", "moves")}
    click.echo(f"{name} on {start}: {len(old)} -> {len(new)} papers ({counts['enters']} enter, "
               f"{counts['leaves']} leave, {counts['moves']} move)")
    click.echo("  now   new  score   paper")
    for move in moves:
        if show_all or move.kind != "stays":
            click.echo(f"  {_place(move.before)} {_place(move.after)}  {move.score:.3f}  {_mark(move)} "
                       f"{move.paper.id:<11} {move.paper.title[:80]}")
    if save:
        save_topics(path, replace_topic(current, after))
        click.echo(f"saved {name} to {path}")


def _place(rank: int | None) -> str:
    return f"{rank:4d}" if rank else "   -"


def _mark(move) -> str:  # noqa: ANN001
    if move.kind in ("enters", "leaves"):
        return "+" if move.kind == "enters" else "-"
    if move.kind == "stays":
        return " "
    return "↑" if move.after < move.before else "↓"
