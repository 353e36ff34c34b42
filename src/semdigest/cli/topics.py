"""`semdigest topics ...`: edit topics from the command line and see what a change does."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..app.reports import LibraryImport
from ..app.topics import TopicsFile
from ..errors import UsageError
from ..output.json import topic_json
from ..output.text import printable
from ..ranking.rank import Move
from ..ranking.topics import SETTABLE, Topic, TopicChange, parse_keyword
from .common import date_option, day_of, home_of, json_option, say, topics_option

pass_topics = click.make_pass_decorator(TopicsFile)


@click.group()
@topics_option
@click.pass_context
def topics(ctx: click.Context, topics_file: Path | None) -> None:
    """Tune topics: keywords, description, example papers; preview a change before saving it.

    \b
    Examples:
      semdigest topics add Agents -d "LLM agents that plan and use tools" -k agent -k "tool+use"
      semdigest topics like Agents 2508.12079 2508.11918
      semdigest topics preview Agents --set threshold 0.97
      semdigest topics explain Agents 2508.12079
    """
    ctx.obj = home_of(ctx).topics(topics_file)


@topics.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@pass_topics
def import_(file: TopicsFile, source: Path) -> None:
    """Import the keyword digest's config.yml or seed-topics.json (replaces known topics' keywords and filters).

    \b
    Examples:
      semdigest topics import config.yml
      semdigest topics --topics other.toml import seed-topics.json
    """
    incoming = file.import_from(source)
    click.echo(f"imported {len(incoming)} topics into {file.path}: {', '.join(t.name for t in incoming)}")


@topics.command()
@click.argument("name")
@click.option("--description", "-d", default="", help="What you care about, in your own words.")
@click.option("--keyword", "-k", "keywords", multiple=True, help='A keyword (repeatable); "A+B" must match both.')
@click.option("--filter", "-f", "filters", multiple=True, help="Drop papers matching this (repeatable).")
@click.option("--category", "-c", "categories", multiple=True, help="Only papers in this category (repeatable).")
@click.option("--whole-words", is_flag=True, help="Keywords match whole words only (r1 no longer matches PXR150).")
@pass_topics
def add(
    file: TopicsFile,
    name: str,
    description: str,
    keywords: tuple[str, ...],
    filters: tuple[str, ...],
    categories: tuple[str, ...],
    whole_words: bool,
) -> None:
    """Add a topic.

    \b
    Examples:
      semdigest topics add Agents -d "LLM agents that plan and use tools" -k agent -k "tool+use"
      semdigest topics add Robots -k robot -f "robot-readable" -c cs.RO --whole-words
    """
    topic = Topic(
        name=name.strip(),
        description=description.strip(),
        keywords=tuple(map(parse_keyword, keywords)),
        filters=tuple(map(parse_keyword, filters)),
        categories=categories,
        whole_words=whole_words,
    )
    file.add(topic)
    click.echo(f"added {topic.name} to {file.path}")


@topics.command("list")
@json_option()
@pass_topics
def list_(file: TopicsFile, as_json: bool) -> None:
    """List the topics.

    \b
    Examples:
      semdigest topics list
      semdigest topics list --json | jq '.[].name'
    """
    current = file.all()
    if as_json:
        click.echo(json.dumps([topic_json(topic) for topic in current], indent=1, ensure_ascii=False))
        return
    for topic in current:
        click.echo(
            f"{topic.name:<24} {len(topic.keywords):3d} keywords  {len(topic.examples):2d} examples  "
            f"threshold {topic.threshold}  {topic.description[:60]}"
        )


@topics.command()
@click.argument("name")
@json_option()
@pass_topics
def show(file: TopicsFile, name: str, as_json: bool) -> None:
    """Show one topic.

    \b
    Examples:
      semdigest topics show Agents
      semdigest topics show Agents --json
    """
    record = topic_json(file.get(name))
    if as_json:
        click.echo(json.dumps(record, indent=1, ensure_ascii=False))
        return
    for key, value in record.items():
        click.echo(f"{key:<12} {value}")


@topics.command()
@click.argument("name")
@pass_topics
def remove(file: TopicsFile, name: str) -> None:
    """Remove a topic (its seen-history stays, should it come back).

    \b
    Example:
      semdigest topics remove Agents
    """
    file.remove(name)
    click.echo(f"removed {name}")


@topics.command("set")
@click.argument("name")
@click.argument("key", type=click.Choice(SETTABLE))
@click.argument("value")
@pass_topics
def set_(file: TopicsFile, name: str, key: str, value: str) -> None:
    """Change one field of a topic.

    \b
    Examples:
      semdigest topics set MLLM threshold 0.99
      semdigest topics set MLLM keywords "VLM,MLLM,LLM+vision"
      semdigest topics set MLLM description "multimodal language models"
    """
    changed = file.set(name, key, value)
    click.echo(f"{name}: {key} = {getattr(changed, key)}")


@topics.command()
@click.argument("name")
@click.argument("ids", nargs=-1)
@click.option(
    "--from",
    "library",
    type=click.Path(path_type=Path),
    help="Every arXiv paper of a library: BibTeX, a Zotero export (BibTeX, RIS, CSL JSON), or ids/URLs a line.",
)
@pass_topics
def like(file: TopicsFile, name: str, ids: tuple[str, ...], library: Path | None) -> None:
    """Add example papers: more like these (fetched from arXiv when not stored).

    \b
    Examples:
      semdigest topics like Agents 2508.12079 2508.11918
      semdigest topics like Agents --from ~/zotero-export.bib
    """
    if bool(ids) == bool(library):
        raise UsageError("give the papers to like as arXiv ids or as --from FILE, one of the two")
    if library:
        _report_library(file.like_from(name, library))
    else:
        _report(file.like(name, ids))


def _report_library(result: LibraryImport) -> None:
    click.echo(
        f"{result.topic.name}: {len(result.added)} example papers added from {result.source}"
        f" ({result.format}, {result.entries} entries; {len(result.kept)} were examples already;"
        f" {len(result.topic.examples)} examples now)"
    )
    if result.unresolved:
        say(f"not resolved ({len(result.unresolved)}):")
    for entry in result.unresolved:
        say(f"  {entry.entry}: {entry.reason}")


@topics.command()
@click.argument("name")
@click.argument("ids", nargs=-1, required=True)
@pass_topics
def unlike(file: TopicsFile, name: str, ids: tuple[str, ...]) -> None:
    """Mark papers as not wanted: they leave the topic and push their look-alikes down.

    \b
    Example:
      semdigest topics unlike Agents 2508.12643
    """
    _report(file.unlike(name, ids))


def _report(topic: Topic) -> None:
    click.echo(f"{topic.name}: {len(topic.examples)} example papers, {len(topic.negatives)} not wanted")


@topics.command("explain")
@click.argument("name")
@click.argument("paper_id")
@date_option("The listing day (default: the latest one).")
@pass_topics
def explain_(file: TopicsFile, name: str, paper_id: str, day: datetime | None) -> None:
    """Why a paper got its score in a topic, and whether the digest shows it.

    \b
    Examples:
      semdigest topics explain Embodied_AI 2508.12211
      semdigest topics explain Embodied_AI 2508.12211 --date 2025-08-18
    """
    start, why = file.home.explain(name, paper_id, day=day_of(day), topics=file.path)
    click.echo(f"{why.paper.id}  {printable(why.paper.title)}")
    click.echo(f"topic {name} on {start}: {why.verdict}")
    hits = ", ".join(f"{hit.label} ({hit.where})" for hit in why.keyword_hits) or "none"
    click.echo(f"  keywords matched: {hits}")
    if why.filters_hit:
        click.echo(f"  filters matched:  {', '.join(why.filters_hit)}")
    click.echo(f"  cosine to the topic: {why.cosine:.3f}   BM25 of its words: {why.bm25:.2f}")
    if why.ranked:
        click.echo(
            f"  score {why.ranked.score:.3f} (more relevant than {why.ranked.score:.1%} of {why.calibrated_against}),"
            f" rank {why.rank} of {why.eligible} papers that day"
        )
        if why.ranked.nearest_example:
            example, cosine = why.ranked.nearest_example
            click.echo(f"  nearest example paper: {example} (cosine {cosine:.3f})")


@topics.command()
@click.argument("name")
@date_option("The listing day (default: the latest one).")
@click.option("--set", "settings_", nargs=2, multiple=True, metavar="KEY VALUE", help="A field to change (repeatable).")
@click.option("--like", "liked", multiple=True, help="An example paper to add (repeatable).")
@click.option("--unlike", "unliked", multiple=True, help="A paper to mark as not wanted (repeatable).")
@click.option("--add-keyword", "add_keywords", multiple=True, help='A keyword to add ("A+B": both).')
@click.option("--add-filter", "add_filters", multiple=True, help="A filter to add.")
@click.option("--all", "show_all", is_flag=True, help="List unchanged papers too.")
@click.option("--save", is_flag=True, help="Save the change after showing it.")
@pass_topics
def preview(
    file: TopicsFile,
    name: str,
    day: datetime | None,
    settings_: tuple[tuple[str, str], ...],
    liked: tuple[str, ...],
    unliked: tuple[str, ...],
    add_keywords: tuple[str, ...],
    add_filters: tuple[str, ...],
    show_all: bool,
    save: bool,
) -> None:
    """What a change does to a topic's digest, side by side with the current version.

    \b
    Example:
      semdigest topics preview Embodied_AI --set threshold 0.97 --add-keyword "robot manipulation"
    """
    change = TopicChange(settings_, liked, unliked, add_keywords, add_filters)
    result = file.home.preview(name, change, day=day_of(day), topics=file.path, save=save)
    click.echo(
        f"{name} on {result.day}: {len(result.before)} -> {len(result.after)} papers ({result.count('enters')}"
        f" enter, {result.count('leaves')} leave, {result.count('moves')} move)"
    )
    click.echo("  now   new  score   paper")
    for move in result.moves:
        if show_all or move.kind != "stays":
            click.echo(
                f"  {_place(move.before)} {_place(move.after)}  {move.score:.3f}  {_mark(move)} "
                f"{move.paper.id:<11} {printable(move.paper.title[:80])}"
            )
    if result.saved:
        click.echo(f"saved {name} to {result.saved}")


def _place(rank: int | None) -> str:
    return f"{rank:4d}" if rank else "   -"


def _mark(move: Move) -> str:
    if move.kind in ("enters", "leaves"):
        return "+" if move.kind == "enters" else "-"
    if move.kind == "stays":
        return " "
    return "↑" if (move.after or 0) < (move.before or 0) else "↓"
