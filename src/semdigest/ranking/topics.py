"""Seed topics: what a user cares about, kept in `topics.toml`, and the seed digest's keyword rules.

A keyword is a tuple of terms that must all match (an AND-group; a plain keyword is a 1-tuple). By
default a term matches as a case-insensitive substring of `title + " " + abstract`, exactly as the
keyword digest our users come from; `whole_words = true` makes `r1` stop matching "PXR150".
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomli_w

from ..errors import SemdigestError, TopicsError
from ..files import atomic_write_text
from ..indexes.lexical import tokenize
from ..paper import Paper
from ..sources.ids import parse_id

Keyword = tuple[str, ...]
DEFAULT_THRESHOLD = 0.99  # a calibrated score: more relevant than 99% of a sample of arXiv (indexes/sample.py)


SNIPPET_CONTEXT = 50  # characters shown each side of a keyword's match: enough to see a false hit


@dataclass(frozen=True)
class KeywordHit:
    keyword: Keyword
    where: str  # "title", "abstract" or "title+abstract"
    # the first term's first match in context: (text before, the match, text after), "…" where cut
    context: tuple[str, str, str] = ("", "", "")

    @property
    def label(self) -> str:
        return "+".join(self.keyword)


@dataclass(frozen=True)
class Topic:
    name: str
    description: str = ""
    keywords: tuple[Keyword, ...] = ()
    filters: tuple[Keyword, ...] = ()
    categories: tuple[str, ...] = ()  # when set, only papers in one of these categories
    examples: tuple[str, ...] = ()  # arXiv ids of papers the user wants more of
    negatives: tuple[str, ...] = ()  # ... and of papers they do not want
    weight: float = 1.0  # how much semantic evidence counts next to keyword evidence
    threshold: float = DEFAULT_THRESHOLD  # score a paper without keyword hits needs to join
    max_papers: int | None = None
    whole_words: bool = False
    _patterns: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def keyword_hits(self, paper: Paper) -> list[KeywordHit]:
        """Each keyword (group) that matches the paper, and where."""
        return [
            KeywordHit(keyword, self._where(keyword, paper), self._context(keyword[0], paper))
            for keyword in self.keywords
            if self._matches(keyword, paper.text)
        ]

    def words_in(self, paper: Paper) -> tuple[str, ...]:
        """The words of the topic's name and description that the paper's text holds (as BM25 matches
        them: case, plurals and stop words aside): what a match without a keyword has in common with it."""
        present = _terms(paper.text)
        words = _word_terms(f"{self.name.replace('_', ' ')} {self.description}")
        return tuple(word for word, term in words if term in present)

    def filtered(self, paper: Paper) -> bool:
        """True when a filter hits: the seed digest drops such a paper whatever else it matches."""
        return any(self._matches(keyword, paper.text) for keyword in self.filters)

    def filters_hit(self, paper: Paper) -> list[Keyword]:
        return [keyword for keyword in self.filters if self._matches(keyword, paper.text)]

    def in_scope(self, paper: Paper) -> bool:
        return not self.categories or any(category in self.categories for category in paper.categories)

    def seed_selects(self, paper: Paper) -> bool:
        """The keyword digest's rule: any keyword matches and no filter does."""
        return self.in_scope(paper) and not self.filtered(paper) and bool(self.keyword_hits(paper))

    def _matches(self, keyword: Keyword, text: str) -> bool:
        return all(self._pattern(term).search(text) for term in keyword)

    def _context(self, term: str, paper: Paper) -> tuple[str, str, str]:
        for text in (paper.title, paper.abstract):
            match = self._pattern(term).search(text)
            if match:
                before = text[max(match.start() - SNIPPET_CONTEXT, 0) : match.start()]
                after = text[match.end() : match.end() + SNIPPET_CONTEXT]
                if match.start() > SNIPPET_CONTEXT:  # cut at a word's start, not inside it
                    before = "…" + before[before.find(" ") + 1 :]
                if match.end() + SNIPPET_CONTEXT < len(text):
                    after = after[: after.rfind(" ")] + "…" if " " in after else after + "…"
                return before, match.group(), after
        return "", "", ""  # the term matches only across the joint of title and abstract

    def _where(self, keyword: Keyword, paper: Paper) -> str:
        if self._matches(keyword, paper.title):
            return "title"
        return "abstract" if self._matches(keyword, paper.abstract) else "title+abstract"

    def _pattern(self, term: str) -> re.Pattern[str]:
        if term not in self._patterns:
            escaped = re.escape(term)
            source = rf"(?<![^\W_]){escaped}(?![^\W_])" if self.whole_words else escaped
            self._patterns[term] = re.compile(source, re.IGNORECASE)
        return self._patterns[term]


@lru_cache(maxsize=65536)
def _terms(text: str) -> frozenset[str]:
    """A paper's BM25 terms, tokenized once for all topics: eight topics' words_in took 1.2 ms a paper
    tokenizing each time, 0.19 ms so (the real day, 5 interleaved runs, 5.4-7.3x)."""
    return frozenset(tokenize(text))


@lru_cache(maxsize=1024)
def _word_terms(text: str) -> tuple[tuple[str, str], ...]:
    """A topic's words (once each, as written) with their BM25 terms; stop words have none."""
    found = {tokenize(word)[0]: word for word in reversed(re.findall(r"\w\w+", text)) if tokenize(word)}
    return tuple((word, term) for term, word in reversed(found.items()))


def load_topics(path: Path) -> list[Topic]:
    """Read and validate a topics.toml; a broken file gets a one-line error naming the topic and field."""
    if not path.exists():
        raise TopicsError(
            f"no topics file at {path} (create one: semdigest topics add NAME, or semdigest topics import FILE)"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise TopicsError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:  # a folder named topics.toml, a file we may not read
        raise TopicsError(f"cannot read {path}: {error.strerror or error}") from None
    entries = raw.get("topic", [])
    if not isinstance(entries, list) or set(raw) - {"topic"}:
        raise TopicsError(f"{path}: expected only [[topic]] tables")
    topics = [_topic_from_table(path, number, entry) for number, entry in enumerate(entries, start=1)]
    _check_unique([topic.name for topic in topics], path)
    return topics


def save_topics(path: Path, topics: Sequence[Topic]) -> None:
    _check_unique([topic.name for topic in topics], path)
    tables = [_topic_to_table(topic) for topic in topics]
    atomic_write_text(path, tomli_w.dumps({"topic": tables}))


def import_topics(path: Path) -> list[Topic]:
    """Topics from the keyword digest's config: its `config.yml` or the `seed-topics.json` form of it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TopicsError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else _load_yaml(text)
    except ValueError as error:
        raise TopicsError(f"{path}: cannot be parsed ({str(error).splitlines()[0]})") from None
    table = raw.get("topics", raw.get("topic")) if isinstance(raw, dict) else None
    if not isinstance(table, dict):
        raise TopicsError(f"{path}: no 'topic' (config.yml) or 'topics' (json) mapping")
    topics: list[Topic] = []
    for name, spec in table.items():
        spec = spec or {}
        entry = {"name": str(name), "keywords": spec.get("keywords") or [], "filters": spec.get("filters") or []}
        topics.append(_topic_from_table(path, len(topics) + 1, entry))
    return topics


def parse_keyword(text: str) -> Keyword:
    """`"LLM+Reasoning"` is the AND-group (LLM, Reasoning), as on the command line."""
    terms = tuple(term.strip() for term in text.split("+"))
    if not all(terms):
        raise TopicsError(f"empty term in keyword {text!r}")
    return terms


def find_topic(topics: Iterable[Topic], name: str) -> Topic:
    for topic in topics:
        if topic.name == name:
            return topic
    known = ", ".join(topic.name for topic in topics) or "none yet"
    raise TopicsError(f"no topic named {name!r} (topics: {known})")


SETTABLE = ("description", "keywords", "filters", "categories", "weight", "threshold", "max_papers", "whole_words")


def with_setting(topic: Topic, key: str, raw: str) -> Topic:
    """`topics set NAME KEY VALUE`: lists are comma-separated (a keyword "A+B" is an AND-group),
    `max_papers none` removes the cap. Validated exactly like the topics file."""
    if key not in SETTABLE:
        raise TopicsError(f"cannot set {key!r} (settable: {', '.join(SETTABLE)}; examples: topics like/unlike)")
    value: Any = raw
    if key in ("keywords", "filters"):
        value = [list(parse_keyword(item)) for item in raw.split(",") if item.strip()]
    elif key == "categories":
        value = [item.strip() for item in raw.split(",") if item.strip()]
    elif key in ("weight", "threshold"):
        value = _number(raw, key, float)
    elif key == "max_papers":
        if raw.strip().lower() in ("none", ""):
            return replace(topic, max_papers=None)
        value = _number(raw, key, int)
    elif key == "whole_words":
        if raw.strip().lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise TopicsError(f"topic {topic.name!r}: field 'whole_words' must be true or false, not {raw!r}")
        value = raw.strip().lower() in ("true", "yes", "1")
    return replace(topic, **{key: _checked(f"topic {topic.name!r}", key, value)})


def with_examples(topic: Topic, liked: Sequence[str] = (), unliked: Sequence[str] = ()) -> Topic:
    """Liking a paper makes it an example (and no longer a negative), unliking the reverse."""
    liked_ids = [parse_id(raw).id for raw in liked]
    unliked_ids = [parse_id(raw).id for raw in unliked]
    examples = [i for i in dict.fromkeys([*topic.examples, *liked_ids]) if i not in unliked_ids]
    negatives = [i for i in dict.fromkeys([*topic.negatives, *unliked_ids]) if i not in liked_ids]
    return replace(topic, examples=tuple(examples), negatives=tuple(negatives))


@dataclass(frozen=True)
class TopicChange:
    """An edit of one topic, as `topics preview` takes it: fields to set, papers to (un)like, keywords and
    filters to add. Applied to whatever the topic is when it is saved (a read-modify-write)."""

    settings: tuple[tuple[str, str], ...] = ()
    liked: tuple[str, ...] = ()
    unliked: tuple[str, ...] = ()
    add_keywords: tuple[str, ...] = ()
    add_filters: tuple[str, ...] = ()

    def apply(self, topic: Topic) -> Topic:
        changed = with_examples(topic, self.liked, self.unliked)
        for key, value in self.settings:
            changed = with_setting(changed, key, value)
        return replace(
            changed,
            keywords=changed.keywords + tuple(map(parse_keyword, self.add_keywords)),
            filters=changed.filters + tuple(map(parse_keyword, self.add_filters)),
        )


def replace_topic(topics: Sequence[Topic], topic: Topic) -> list[Topic]:
    """The list with `topic` in place of the topic of the same name (appended if new)."""
    names = [t.name for t in topics]
    if topic.name in names:
        return [topic if t.name == topic.name else t for t in topics]
    return [*topics, topic]


def _number(raw: str, key: str, kind: type) -> object:
    try:
        return kind(raw)
    except ValueError:
        raise TopicsError(f"{key} must be a {'whole ' if kind is int else ''}number, not {raw!r}") from None


def _load_yaml(text: str) -> object:
    import yaml  # only `topics import` of a config.yml needs it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None


_FIELD_TYPES = {field.name: field.type for field in fields(Topic) if not field.name.startswith("_")}


def _topic_from_table(path: Path, number: int, entry: object) -> Topic:
    if not isinstance(entry, dict):
        raise TopicsError(f"{path}: topic #{number} is not a table")
    name = entry.get("name")
    where = f"{path}: topic {name!r}" if isinstance(name, str) and name.strip() else f"{path}: topic #{number}"
    if not isinstance(name, str) or not name.strip():
        raise TopicsError(f"{where}: field 'name' must be a non-empty string")
    unknown = sorted(set(entry) - set(_FIELD_TYPES))
    if unknown:
        raise TopicsError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(_FIELD_TYPES)})")
    values: dict[str, Any] = {key: _checked(where, key, value) for key, value in entry.items()}
    return Topic(**values)


def _checked(where: str, key: str, value: object) -> Any:
    def fail(expected: str) -> TopicsError:
        return TopicsError(f"{where}: field {key!r} must be {expected}, not {value!r}"[:300])

    if key in ("name", "description"):
        if not isinstance(value, str):
            raise fail("a string")
        return value.strip()
    if key in ("keywords", "filters"):
        return _keywords(value, fail)
    if key in ("categories", "examples", "negatives"):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise fail("a list of strings")
        return tuple(_paper_id(item, fail) for item in value) if key != "categories" else tuple(value)
    if key in ("weight", "threshold"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail("a number >= 0")
        return float(value)
    if key == "max_papers":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise fail("a whole number >= 1")
        return value
    if not isinstance(value, bool):
        raise fail("true or false")
    return value


def _keywords(value: object, fail: Callable[[str], TopicsError]) -> tuple[Keyword, ...]:
    if not isinstance(value, list):
        raise fail("a list of keywords (a nested list is an AND-group)")
    keywords: list[Keyword] = []
    for item in value:
        terms = [item] if isinstance(item, str | int | float) and not isinstance(item, bool) else item
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str | int | float) for t in terms):
            raise fail("a list of keywords (a nested list is an AND-group)")
        # YAML reads a keyword like `o1` as text but `2024` as a number: the seed meant text
        texts = [str(term).strip() for term in terms]
        if not all(texts):
            raise fail("a list of non-empty keywords")
        keywords.append(tuple(texts))
    return tuple(keywords)


def _paper_id(raw: str, fail: Callable[[str], TopicsError]) -> str:
    try:
        return parse_id(raw).id
    except SemdigestError:
        raise fail("a list of arXiv ids") from None


def _topic_to_table(topic: Topic) -> dict[str, object]:
    table: dict[str, object] = {"name": topic.name}
    defaults = Topic(name=topic.name)
    for key, value in asdict(topic).items():
        if key.startswith("_") or key == "name" or value == getattr(defaults, key) or value is None:
            continue
        if key in ("keywords", "filters"):
            value = [list(k) if len(k) > 1 else k[0] for k in value]
        table[key] = list(value) if isinstance(value, tuple) else value
    return table


def _check_unique(names: list[str], path: Path) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise TopicsError(f"{path}: topic {name!r} is defined twice")
        seen.add(name)
