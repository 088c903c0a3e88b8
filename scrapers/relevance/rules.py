"""Relevance rules: load, validate and compile the TOML rule files and the tag vocabulary.

Why rules are data, where they live and how they decide: :mod:`scrapers.relevance.scoring`;
docs/relevance.md is the analyst's guide. Compiled rules are cached per rules directory.

Rule file format (each file's header comment repeats this; the examples are made up)::

    language = "en"          # must equal the file stem
    word_boundaries = true   # terms and masks match only at the start of a word, and
                             # `phrase` terms only end at the end of one (false for ja)
    ignore_case = true       # case-insensitive; (?-i:...) makes a part case-sensitive

    [scoring]                # used when this file's language is the item's language
    threshold = 0.5          # relevant = score >= threshold
    half_score = 2.0         # evidence weight that gives score 0.5: raw / (raw + half_score)
    title_factor = 1.5       # weight multipliers by field
    summary_factor = 1.2
    body_factor = 1.0
    pair_factor = 1.0        # multiplies min(side A, side B) when both sides are named
    title_pair_bonus = 1.0   # added when both sides are in the title, times min(1, each side)
    unpaired_factor = 0.25   # one-sided evidence counts this much ...
    unpaired_cap = 0.3       # ... and its score never exceeds this (must be < threshold)
    supported_factor = 0.5   # one-sided evidence next to a bilateral term (default: unpaired)
    candidate_threshold = 0.35  # stage 1 fetches the page at this score (default: threshold)

    [groups.japan]           # groups: bilateral, japan, russia (the two sides), topic,
                             # and tags (tag-only terms: weight 0, matched on their own)
    default_weight = 1.0
    terms = [
      { name = "Ruritania", phrase = "Ruritania" },                      # literal text
      { name = "Rassendyll", regex = '\\bRassendyll\\b', weight = 1.0,   # a Python regex
        tags = ["person:rudolf_rassendyll"] },                          # analyst tags
    ]

    [[exclude]]              # a false-positive guard
    name = "Zenda cheese"
    regex = '\\bZenda cheese\\b'
    action = "mask"          # blank the matched text before any term is matched

    [[exclude]]
    name = "chess context"
    regex = '\\bchess\\b|\\bgrandmaster\\b'
    action = "scale"         # when the trigger occurs in any field ...
    applies_to = ["japan", "russia"]   # ... these groups / term names ...
    scale = 0.2              # ... count this fraction of their weight (0 cancels them)
    keep_tags = false        # ... and give no tags (true: the names are still right)
    unless = '\\bchess boxing\\b'   # ... except when this regex occurs anywhere

A term has ``name`` and exactly one of ``phrase`` (literal; spaces match any whitespace)
or ``regex``; ``weight`` defaults to the group's ``default_weight`` (0: the term only
tags). Regexes may not use named groups or backreferences: each group's terms are
compiled into one alternation (earlier terms win at the same position, so list longer
forms first). Term names are unique within a file. All text is NFKC-normalised and ``ё``
is folded to ``е`` (patterns too), so full-width Latin and half-width kana need no rules
of their own. A file's exclusions guard that file's terms only.

The ``tags`` group holds terms that only tag (the people, places, organisations and
actions event linking needs, scrapers.dedup.events): their weight is 0, and they are
matched in an alternation of their own, so they never hide or displace a scoring term.

Tags: ``tags.toml`` declares every tag, ``kind:id`` with kind theme/place/person/org/action
and a meaning; a term may only carry declared tags, so one concept has one id in all three
languages. An item gets the tags of every term that matched it (sorted, unique), whether
or not it is relevant: masked text matches nothing, and a term weakened by a scale
exclusion gives no tags unless that exclusion has ``keep_tags = true``.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapers.relevance.matching import _Alternation, _alternation, normalize

LOGGER = logging.getLogger(__name__)

RULES_ENV = "NICHIRO_RULES_DIR"
PACKAGED_RULES_DIR = Path(__file__).resolve().parent / "rules"
RULE_LANGUAGES: tuple[str, ...] = ("en", "ja", "ru")
GROUPS: tuple[str, ...] = ("bilateral", "japan", "russia", "topic")
#: The group of tag-only terms (weight 0), matched apart from the scoring groups.
TAG_GROUP = "tags"
TAGS_FILE = "tags.toml"  # the tag vocabulary, next to the three language files
TAG_KINDS: tuple[str, ...] = ("theme", "place", "person", "org", "action")

_TOP_KEYS = frozenset(
    {"language", "word_boundaries", "ignore_case", "scoring", "groups", "exclude"}
)
_GROUP_KEYS = frozenset({"default_weight", "terms"})
_TERM_KEYS = frozenset({"name", "phrase", "regex", "weight", "tags"})
_EXCLUDE_KEYS = frozenset({"name", "phrase", "regex", "action", "applies_to", "scale", "keep_tags",
                           "unless"})
_SCORING_DEFAULTS: dict[str, float] = {
    "threshold": 0.5,
    "half_score": 2.0,
    "title_factor": 1.5,
    "summary_factor": 1.2,
    "body_factor": 1.0,
    "pair_factor": 1.0,
    "title_pair_bonus": 1.0,
    "unpaired_factor": 0.25,
    "unpaired_cap": 0.3,
}
# Optional settings whose default is another setting's value.
_SCORING_FALLBACKS: dict[str, str] = {
    "supported_factor": "unpaired_factor",
    "candidate_threshold": "threshold",
}
_TAG_ID_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")

_NAMED_OR_BACKREF_RE = re.compile(r"\(\?P[<=]|\\[1-9]|\\g<")
_WORD_START = r"(?<!\w)"


class RulesError(ValueError):
    """A rule file is missing or malformed; the message names the file and every problem."""


@dataclass(frozen=True)
class Scoring:
    """Scoring settings of one language file (see the module docstring)."""

    threshold: float
    half_score: float
    title_factor: float
    summary_factor: float
    body_factor: float
    pair_factor: float
    title_pair_bonus: float
    unpaired_factor: float
    unpaired_cap: float
    supported_factor: float  # one-sided evidence next to a bilateral term counts this much
    candidate_threshold: float  # stage 1: fetch the page when score >= this

    def factor(self, field: str) -> float:
        return {
            "title": self.title_factor,
            "summary": self.summary_factor,
            "body": self.body_factor,
        }[field]


@dataclass(frozen=True, eq=False)  # identity: the same name in two files is two terms
class _Term:
    name: str
    group: str
    weight: float
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Context:
    """A scale exclusion: when `trigger` occurs, `targets` (groups or terms) count `scale`."""

    name: str
    trigger: _Alternation
    targets: frozenset[str]
    scale: float
    keep_tags: bool = False  # scaled terms still give their tags (default: they give none)
    #: When this occurs anywhere in the item, the exclusion does not fire.
    unless: _Alternation | None = None


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules of one language file."""

    language: str
    path: Path
    scoring: Scoring
    groups: Mapping[str, _Alternation]  # one alternation per group
    terms: Mapping[str, _Term]  # regex group key ("t12") -> term
    mask: _Alternation | None  # all mask exclusions
    mask_names: Mapping[str, str]  # regex group key ("m3") -> exclusion name
    contexts: tuple[_Context, ...]


_CACHE: dict[str, dict[str, RuleSet]] = {}
_TAG_CACHE: dict[str, dict[str, str]] = {}


def rules_dir() -> Path:
    """The rules directory in effect: ``$NICHIRO_RULES_DIR`` or the packaged one."""
    override = os.environ.get(RULES_ENV)
    return Path(override) if override else PACKAGED_RULES_DIR


def load_rules(directory: str | Path | None = None) -> dict[str, RuleSet]:
    """Load and compile en/ja/ru rules from `directory` (default: :func:`rules_dir`), cached.

    :param directory: a directory holding ``en.toml``, ``ja.toml`` and ``ru.toml``.
    :raises RulesError: a file is missing, is not valid TOML, or breaks the format.
    """
    path = Path(directory) if directory is not None else rules_dir()
    key = os.path.abspath(path)  # no filesystem access: this runs once per scored item
    cached = _CACHE.get(key)
    if cached is None:
        vocabulary = tag_vocabulary(path)
        cached = {
            lang: _load_file(path / f"{lang}.toml", lang, vocabulary) for lang in RULE_LANGUAGES
        }
        _CACHE[key] = cached
        LOGGER.debug("loaded relevance rules from %s", key)
    return cached


def tag_vocabulary(directory: str | Path | None = None) -> dict[str, str]:
    """Every tag the rules may emit, ``"kind:id"`` -> meaning, from ``tags.toml`` (cached).

    Why a vocabulary: a tag is one analyst concept across three languages, so the term
    files may only use tags declared here; a typo is a load error, not a new tag.
    A rules directory without ``tags.toml`` has an empty vocabulary (its terms carry no tags).

    :param directory: a rules directory (default: :func:`rules_dir`).
    :raises RulesError: ``tags.toml`` is not valid TOML or breaks the format.
    """
    path = Path(directory) if directory is not None else rules_dir()
    key = os.path.abspath(path)
    cached = _TAG_CACHE.get(key)
    if cached is None:
        cached = _load_vocabulary(path / TAGS_FILE)
        _TAG_CACHE[key] = cached
    return dict(cached)


def clear_rules_cache() -> None:
    """Forget compiled rules, e.g. after an analyst edited a rule file in a long process."""
    _CACHE.clear()
    _TAG_CACHE.clear()


# --- loading --------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RulesError(f"{path}: rule file not found (expected en/ja/ru.toml)") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from exc


def _load_vocabulary(path: Path) -> dict[str, str]:
    """Read ``tags.toml``: one table per kind, ``id = "meaning"``; {} when there is none."""
    if not path.exists():
        return {}
    data = _read_toml(path)
    problems: list[str] = []
    vocabulary: dict[str, str] = {}
    for kind, table in data.items():
        if kind not in TAG_KINDS:
            problems.append(f"unknown tag kind [{kind}] (expected one of {', '.join(TAG_KINDS)})")
            continue
        if not isinstance(table, dict):
            problems.append(f'[{kind}] must be a table of id = "meaning"')
            continue
        for ident, meaning in table.items():
            if not _TAG_ID_RE.fullmatch(ident):
                problems.append(f"{kind}.{ident}: tag id must be snake_case ascii")
            elif not isinstance(meaning, str) or not meaning.strip():
                problems.append(f"{kind}.{ident}: meaning must be a non-empty string")
            else:
                vocabulary[f"{kind}:{ident}"] = meaning.strip()
    if problems:
        listing = "\n  - ".join(problems)
        raise RulesError(f"{path}: {len(problems)} problem(s) in tag vocabulary:\n  - {listing}")
    return vocabulary


def _load_file(path: Path, language: str, vocabulary: Mapping[str, str]) -> RuleSet:
    """Read, validate and compile one rule file; every problem goes into one RulesError."""
    data = _read_toml(path)
    problems: list[str] = []
    ruleset = _compile(data, path, language, problems, vocabulary)
    if problems or ruleset is None:
        listing = "\n  - ".join(problems)
        raise RulesError(f"{path}: {len(problems)} problem(s) in rule file:\n  - {listing}")
    return ruleset


def _compile(
    data: dict[str, Any],
    path: Path,
    language: str,
    problems: list[str],
    vocabulary: Mapping[str, str],
) -> RuleSet | None:
    """Validate one parsed rule file, appending to `problems`; compile it if clean."""
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"unknown top-level key {key!r}")
    if data.get("language") != language:
        problems.append(f"language = {data.get('language')!r}, expected {language!r}")
    boundaries = _bool(data, "word_boundaries", True, "", problems)
    flags = re.IGNORECASE if _bool(data, "ignore_case", True, "", problems) else 0
    prefix = _WORD_START if boundaries else ""
    scoring = _scoring(data.get("scoring", {}), problems)

    groups: dict[str, _Alternation] = {}
    terms: dict[str, _Term] = {}
    names: set[str] = set()
    group_specs = data.get("groups", {})
    if not isinstance(group_specs, dict) or not group_specs:
        problems.append("[groups] must be a table with at least one group")
        group_specs = {}
    for group, spec in group_specs.items():
        where = f"groups.{group}"
        if group not in GROUPS and group != TAG_GROUP:
            problems.append(f"{where}: unknown group "
                            f"(expected one of {', '.join((*GROUPS, TAG_GROUP))})")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a table")
            continue
        for key in sorted(set(spec) - _GROUP_KEYS):
            problems.append(f"{where}: unknown key {key!r}")
        default = _number(spec, "default_weight", 1.0, where, problems)
        entries = spec.get("terms")
        if not isinstance(entries, list) or not entries:
            problems.append(f"{where}: 'terms' must be a non-empty array of tables")
            continue
        alternatives: list[tuple[str, str]] = []
        for index, entry in enumerate(entries):
            named = _named_table(entry, f"{where}.terms[{index}]", _TERM_KEYS, problems,
                                 "a table like { name = ..., phrase = ... }")
            if named is None:
                continue
            name, at = named
            if name in names:
                problems.append(f"{at}: duplicate term name")
            names.add(name)
            weight = _number(entry, "weight", default, at, problems)
            if group == TAG_GROUP and weight != 0:
                problems.append(f"{at}: terms of [groups.{TAG_GROUP}] only tag (weight 0)")
            tags = _term_tags(entry, vocabulary, at, problems)
            source = _pattern_source(entry, boundaries, flags, at, problems)
            if source is None:
                continue
            key = f"t{len(terms)}"
            terms[key] = _Term(name=name, group=group, weight=weight, tags=tags)
            alternatives.append((key, source))
        if alternatives:
            groups[group] = _alternation(alternatives, prefix, flags, where, problems)

    masks: list[tuple[str, str]] = []
    mask_names: dict[str, str] = {}
    contexts: list[_Context] = []
    excludes = data.get("exclude", [])
    if not isinstance(excludes, list):
        problems.append("'exclude' must be an array of tables ([[exclude]])")
        excludes = []
    for index, entry in enumerate(excludes):
        named = _named_table(entry, f"exclude[{index}]", _EXCLUDE_KEYS, problems, "a table")
        if named is None:
            continue
        name, at = named
        source = _pattern_source(entry, boundaries, flags, at, problems)
        action = entry.get("action", "mask")
        if action == "mask":
            if any(key in entry for key in ("applies_to", "scale", "keep_tags", "unless")):
                problems.append(f"{at}: 'applies_to'/'scale'/'keep_tags'/'unless' only go "
                                'with action = "scale"')
            if source is not None:
                key = f"m{len(mask_names)}"
                mask_names[key] = name
                masks.append((key, source))
        elif action == "scale":
            targets = entry.get("applies_to")
            if (
                not isinstance(targets, list)
                or not targets
                or not all(isinstance(t, str) for t in targets)
            ):
                problems.append(f"{at}: 'applies_to' must be a non-empty list of strings")
                continue
            for target in targets:
                if target not in GROUPS and target not in names:
                    problems.append(f"{at}: applies_to names unknown group or term {target!r}")
            scale = _number(entry, "scale", 0.0, at, problems)
            if not 0.0 <= scale <= 1.0:
                problems.append(f"{at}: 'scale' must be between 0 and 1, got {scale}")
            keep_tags = _bool(entry, "keep_tags", False, at, problems)
            unless = None
            if "unless" in entry:
                unless_source = _pattern_source({"regex": entry["unless"]}, boundaries, flags,
                                                f"{at} (unless)", problems)
                if unless_source is not None:
                    unless = _alternation([("u", unless_source)], "", flags, at, problems)
            if source is not None:
                trigger = _alternation([("c", source)], "", flags, at, problems)
                contexts.append(_Context(name, trigger, frozenset(targets), scale, keep_tags,
                                         unless))
        else:
            problems.append(f'{at}: \'action\' must be "mask" or "scale", got {action!r}')

    mask = _alternation(masks, prefix, flags, "exclude", problems) if masks else None
    if problems:
        return None
    return RuleSet(
        language=language,
        path=path,
        scoring=scoring,
        groups=groups,
        terms=terms,
        mask=mask,
        mask_names=mask_names,
        contexts=tuple(contexts),
    )


def _named_table(
    entry: object, at: str, allowed: frozenset[str] | set[str], problems: list[str],
    shape: str,
) -> tuple[str, str] | None:
    """Check one rule table's shape and name; returns (name, location) or None."""
    if not isinstance(entry, dict):
        problems.append(f"{at}: must be {shape}")
        return None
    for key in sorted(set(entry) - allowed):
        problems.append(f"{at}: unknown key {key!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{at}: 'name' must be a non-empty string")
        return None
    return name, f"{at} ({name!r})"


def _pattern_source(
    entry: Mapping[str, Any], boundaries: bool, flags: int, at: str, problems: list[str]
) -> str | None:
    """The regex source of a term or exclusion, checked alone so errors name the entry."""
    phrase, regex = entry.get("phrase"), entry.get("regex")
    if (phrase is None) == (regex is None):
        problems.append(f"{at}: give exactly one of 'phrase' or 'regex'")
        return None
    if phrase is not None:
        if not isinstance(phrase, str) or not phrase.strip():
            problems.append(f"{at}: 'phrase' must be a non-empty string")
            return None
        words = normalize(phrase).split()
        source = r"\s+".join(re.escape(word) for word in words)
        return rf"(?<!\w){source}(?!\w)" if boundaries else source
    if not isinstance(regex, str) or not regex:
        problems.append(f"{at}: 'regex' must be a non-empty string")
        return None
    source = normalize(regex)
    if _NAMED_OR_BACKREF_RE.search(source):
        problems.append(f"{at}: regex may not use named groups or backreferences")
        return None
    try:
        # Wrapped as it will be combined, so e.g. a mid-pattern global flag fails here.
        compiled = re.compile(f"(?:x)|(?:{source})", flags)
    except re.error as exc:
        problems.append(f"{at}: invalid regex {regex!r}: {exc}")
        return None
    if compiled.fullmatch("") is not None or re.compile(source, flags).search("") is not None:
        problems.append(f"{at}: regex {regex!r} matches the empty string")
        return None
    return source


def _term_tags(
    entry: Mapping[str, Any], vocabulary: Mapping[str, str], at: str, problems: list[str]
) -> tuple[str, ...]:
    """A term's ``tags``: a list of vocabulary tags, each at most once."""
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.append(f"{at}: 'tags' must be a list of \"kind:id\" strings")
        return ()
    for tag in tags:
        if tag not in vocabulary:
            problems.append(f"{at}: unknown tag {tag!r} (declare it in {TAGS_FILE})")
    if len(set(tags)) != len(tags):
        problems.append(f"{at}: a tag is listed twice")
    return tuple(tags)


def _scoring(spec: Any, problems: list[str]) -> Scoring:
    if not isinstance(spec, dict):
        problems.append("[scoring] must be a table")
        spec = {}
    for key in sorted(set(spec) - set(_SCORING_DEFAULTS) - set(_SCORING_FALLBACKS)):
        problems.append(f"scoring: unknown key {key!r}")
    values = {k: _number(spec, k, v, "scoring", problems) for k, v in _SCORING_DEFAULTS.items()}
    for key, fallback in _SCORING_FALLBACKS.items():
        values[key] = _number(spec, key, values[fallback], "scoring", problems)
    if not 0.0 < values["threshold"] <= 1.0:
        problems.append(f"scoring: 'threshold' must be in (0, 1], got {values['threshold']}")
    if values["half_score"] <= 0:
        problems.append(f"scoring: 'half_score' must be positive, got {values['half_score']}")
    if not 0.0 < values["candidate_threshold"] <= values["threshold"]:
        problems.append(
            "scoring: 'candidate_threshold' must be in (0, threshold]: stage 1 may be looser"
            f" than the final decision, never stricter; got {values['candidate_threshold']}"
        )
    if values["unpaired_cap"] >= values["threshold"]:
        problems.append(
            "scoring: 'unpaired_cap' must be below 'threshold' (one-sided evidence may never"
            " make an item relevant)"
        )
    return Scoring(**values)


def _number(
    spec: Mapping[str, Any], key: str, default: float, at: str, problems: list[str]
) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{at}: {key!r} must be a number, got {value!r}")
        return default
    if value < 0:
        problems.append(f"{at}: {key!r} must not be negative, got {value}")
        return default
    return float(value)


def _bool(spec: Mapping[str, Any], key: str, default: bool, at: str, problems: list[str]) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        problems.append(f"{at + ': ' if at else ''}{key!r} must be true or false, got {value!r}")
        return default
    return value
