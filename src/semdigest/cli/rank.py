"""Commands that rank: similar, digest, run, demo."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..app.home import Home
from ..app.reports import DigestResult, Similar
from ..errors import MailError
from ..output.json import digest_json, first_released, hit_json
from ..output.text import printable
from ..ranking.search import Filters
from ..sources.ids import read_id_list
from .common import (
    DAY,
    categories_option,
    date_option,
    day_of,
    email_option,
    json_option,
    out_option,
    say,
    topics_option,
    with_home,
)


@click.command()
@click.argument("ids", nargs=-1)
@click.option("--text", help="Find papers like this free text instead.")
@click.option("-n", "count", default=10, show_default=True, type=click.IntRange(1, 1000), help="Results per query.")
@click.option("--since", type=DAY, help="Only papers first released on or after this day.")
@click.option("--until", type=DAY, help="Only papers first released on or before this day.")
@categories_option("Only papers in this category")
@click.option("--among", type=click.Path(path_type=Path), help="Only among the papers of this file (ids one per line).")
@json_option("One JSON object per query.")
@with_home
def similar(
    home: Home,
    ids: tuple[str, ...],
    text: str | None,
    count: int,
    since: datetime | None,
    until: datetime | None,
    categories: tuple[str, ...],
    among: Path | None,
    as_json: bool,
) -> None:
    """Papers most similar to arXiv IDs (fetched from arXiv if new) or to --text.

    \b
    Examples:
      semdigest similar 2508.13073 -n 5
      semdigest similar 2508.13073 --since 2025-01-01 -c cs.RO
      semdigest similar --text "robot manipulation with vision-language models"
      semdigest similar 2508.13073 --among reading-list.txt
    """
    filters = Filters(day_of(since), day_of(until), categories, tuple(read_id_list(among)) if among else None)
    for result in home.similar(ids, text=text, n=count, filters=filters):
        _print_hits(result, as_json)


def _print_hits(result: Similar, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps({"query": result.query, "results": [hit_json(hit) for hit in result.hits]}, ensure_ascii=False)
        )
        return
    click.echo(printable(f"{result.query}  {result.paper.title}" if result.paper else f"like: {result.query}"))
    for rank, hit in enumerate(result.hits, start=1):
        day = first_released(hit.paper) or ""
        click.echo(f"{rank:3d}. {hit.score:5.2f}  {hit.paper.id:<12} {day:10}  {printable(hit.paper.title)}")
    click.echo()


@click.command()
@date_option()
@click.option("--from", "first", type=DAY, help="First day of a period.")
@click.option("--to", "last", type=DAY, help="Last day of a period (default: the latest day).")
@topics_option
@out_option
@click.option(
    "--all",
    "include_all",
    is_flag=True,
    help="Every paper of the period, ranked (no threshold, no cap); writes and remembers nothing.",
)
@click.option("--show-seen", is_flag=True, help="Keep papers earlier digests showed, marked as seen.")
@email_option
@json_option("Print the ranked lists as one JSON object.")
@with_home
def digest(
    home: Home,
    day: datetime | None,
    first: datetime | None,
    last: datetime | None,
    topics_file: Path | None,
    out: Path | None,
    include_all: bool,
    show_seen: bool,
    email: bool,
    as_json: bool,
) -> None:
    """Rank the period's papers for every topic and write the Markdown digest.

    \b
    Examples:
      semdigest digest                                  the latest listing day
      semdigest digest --date 2025-08-18 --out digests
      semdigest digest --from 2025-08-18 --to 2025-08-22
      semdigest digest --all --json | jq '.topics[0].papers[:3]'
      semdigest digest --email                          ... and mail it ([email] in config.toml)
    """
    result = home.digest(
        day=day_of(day),
        first=day_of(first),
        last=day_of(last),
        topics=topics_file,
        out=out,
        include_all=include_all,
        show_seen=show_seen,
        email=email,
    )
    if as_json:
        click.echo(json.dumps(digest_json(result.digest), ensure_ascii=False, indent=1))
    else:
        print_summary(result)
    report_mail(result)


def report_mail(result: DigestResult) -> None:
    """After the summary: where the mail went, or, when it failed, one `error:` line and exit code 2."""
    if result.mail is None:
        return
    if result.mail.sent:
        say(f"mailed {', '.join(result.mail.sent)} to {', '.join(result.mail.to)}")
    if result.mail.error:
        raise MailError(result.mail.error)


def print_summary(result: DigestResult) -> None:
    digest = result.digest
    click.echo(f"{digest.label}: {len(digest.topics)} topics, {digest.papers} papers")
    for topic in sorted(digest.topics, key=lambda t: -len(t.papers)):
        click.echo(f"  {topic.topic.name:<24} {len(topic.papers):4d}  ({topic.semantic_matches} semantic matches)")
    if result.index_page:
        click.echo(f"digest: {result.index_page}")


@click.command()
@categories_option("arXiv category or archive to fetch; default from config")
@topics_option
@out_option
@email_option
@json_option("Print the ranked lists as one JSON object.")
@with_home
def run(
    home: Home, categories: tuple[str, ...], topics_file: Path | None, out: Path | None, email: bool, as_json: bool
) -> None:
    """The daily job: fetch today's listing, index it, write the digest.

    \b
    Examples:
      semdigest run
      semdigest run -c cs.CL -c cs.LG --out digests --json
      semdigest run --email                 ... and mail the digest ([email] in config.toml)
    A crontab line (arXiv's RSS listing is refreshed at midnight US Eastern, Monday to Friday):
      CRON_TZ=America/New_York
      17 1 * * 1-5  $HOME/semdigest/.venv/bin/semdigest --home $HOME/digest/.semdigest run >> $HOME/digest/run.log 2>&1
    """
    result = home.run(categories, topics=topics_file, out=out, email=email)
    if result.digest is None:
        message = "no papers announced today (a weekend or holiday listing is empty): no digest"
        if as_json:
            day = result.fetched.day.isoformat() if result.fetched.day else None
            click.echo(
                json.dumps({"date": day, "from": day, "to": day, "topics": [], "announced": 0, "message": message})
            )
        else:
            click.echo(message)
        return
    counts = result.fetched.counts
    say(f"{result.fetched.day}: {result.fetched.total} papers ({counts.new} new, {counts.updated} updated)")
    if as_json:
        click.echo(json.dumps(digest_json(result.digest.digest), ensure_ascii=False, indent=1))
    else:
        print_summary(result.digest)
    report_mail(result.digest)


@click.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@with_home
def demo(home: Home, file: Path | None) -> None:
    """The daily job on the embedded default data (one real listing day, 2025-08-18) or FILE, with the
    keyword digest's topics imported when there is no topics file yet.

    \b
    Examples:
      semdigest demo                        the sample day (`semdigest paths`: where it went)
      semdigest --home .semdigest demo      ... into ./.semdigest, found by later commands here
      semdigest demo papers.jsonl           your own snapshot file instead
    """
    result = home.demo(file)
    counts = result.ingested.counts
    click.echo(
        f"{result.ingested.lines} lines: {counts.new} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {len(result.ingested.bad)} bad"
    )
    if result.imported:
        say(f"topics: imported the keyword digest's {len(result.imported)} topics into {home.layout.topics}")
    print_summary(result.digest)
