"""Relevance scoring: is a news item about the relationship Nichiro monitors?

Why rules live in data: analysts tune terms, weights and tags without touching code, and
this module holds no topic word at all (a test checks). Rules are one TOML file per
language in ``scrapers/relevance/rules/`` (``en.toml``, ``ja.toml``, ``ru.toml``) plus the tag
vocabulary ``tags.toml``; set ``NICHIRO_RULES_DIR`` to a directory holding such files to
use another set. A broken file raises :class:`RulesError` naming the file and every
problem in it. docs/relevance.md is the analyst's guide.

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

    [groups.japan]           # groups: bilateral, japan, russia (the two sides), topic
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

A term has ``name`` and exactly one of ``phrase`` (literal; spaces match any whitespace)
or ``regex``; ``weight`` defaults to the group's ``default_weight`` (0: the term only
tags). Regexes may not use named groups or backreferences: each group's terms are
compiled into one alternation (earlier terms win at the same position, so list longer
forms first). Term names are unique within a file. All text is NFKC-normalised and ``ё``
is folded to ``е`` (patterns too), so full-width Latin and half-width kana need no rules
of their own. A file's exclusions guard that file's terms only.

Tags: ``tags.toml`` declares every tag, ``kind:id`` with kind theme/place/person/org and a
meaning; a term may only carry declared tags, so one concept has one id in all three
languages. An item gets the tags of every term that matched it (sorted, unique), whether
or not it is relevant: masked text matches nothing, and a term weakened by a scale
exclusion gives no tags unless that exclusion has ``keep_tags = true``.

Decision (why: a lone capital or nationality says nothing about bilateral relations):

- bilateral terms (the disputed places, "A-B" compounds ...) count on their own;
- japan and russia terms only count as a pair: ``pair_factor * min(J, R) + topic +
  title bonus``; one-sided evidence counts ``unpaired_factor`` (``supported_factor``
  when a bilateral term matched too) and, with no bilateral term, is capped at
  ``unpaired_cap`` so it can never make an item relevant;
- each term counts once, at its best field; score = raw / (raw + half_score) in [0, 1),
  which only grows as positive evidence is added.

Two stages: the pipeline scores a feed entry's title and summary and fetches the page
when :func:`is_fetch_candidate` says so (``candidate_threshold``, looser than
``threshold``), then scores title, summary and body for the stored decision.

Language: the item's language (given, else detected from its script) selects the full rule
set and the scoring settings. The *bilateral* terms of the other two languages are always
applied as well, because articles quote the other side's names (a text citing a place
name in the other side's script); japan/russia/topic terms of other languages are not,
since a stray foreign word is weak evidence and would only add false positives.

Speed: rules are compiled once per rules directory (cached). Each alternation is matched
only where one of its literal prefixes occurs (see :class:`_Alternation`): about 1 ms for
a 5 KB body that matches many terms, well under for one that matches few.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapers.models import Evidence, Relevance

LOGGER = logging.getLogger(__name__)

RULES_ENV = "NICHIRO_RULES_DIR"
PACKAGED_RULES_DIR = Path(__file__).resolve().parent / "rules"
RULE_LANGUAGES: tuple[str, ...] = ("en", "ja", "ru")
GROUPS: tuple[str, ...] = ("bilateral", "japan", "russia", "topic")
FIELDS: tuple[str, ...] = ("title", "summary", "body")
TAGS_FILE = "tags.toml"  # the tag vocabulary, next to the three language files
TAG_KINDS: tuple[str, ...] = ("theme", "place", "person", "org")

_TOP_KEYS = frozenset(
    {"language", "word_boundaries", "ignore_case", "scoring", "groups", "exclude"}
)
_GROUP_KEYS = frozenset({"default_weight", "terms"})
_TERM_KEYS = frozenset({"name", "phrase", "regex", "weight", "tags"})
_EXCLUDE_KEYS = frozenset({"name", "phrase", "regex", "action", "applies_to", "scale", "keep_tags"})
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
_KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_DETECT_SAMPLE = 4000  # characters; enough to tell scripts apart, cheap on long bodies
_KEY_LENGTH = 4  # characters of a literal prefix used to find candidate match starts
_MAX_KEYS = 64  # a regex with more literal prefixes than this is scanned for everywhere
_WORD_START = r"(?<!\w)"

# `re`'s own parser, used only to derive literal prefixes (speed); without it, scan all.
try:
    _SRE_PARSER: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - CPython 3.11+ has it
    _SRE_PARSER = None


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


class _Text:
    """A text and its lower-cased form, with key positions found once and shared.

    Every alternation, mask and trigger of every rule file asks the same text for the
    start positions of its literal keys; each key is searched once per text.
    """

    __slots__ = ("text", "lowered", "chars", "_starts")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()
        self.chars = frozenset(self.lowered)
        self._starts: dict[str, list[int]] = {}

    def starts(self, key: str) -> list[int]:
        """Positions where `key` occurs in the lower-cased text."""
        found = self._starts.get(key)
        if found is None:
            found = []
            index = self.lowered.find(key)
            while index >= 0:
                found.append(index)
                index = self.lowered.find(key, index + 1)
            self._starts[key] = found
        return found


@dataclass(frozen=True)
class _Alternation:
    """One compiled alternation, tried only where one of its literal keys occurs.

    Why: a big alternation with named groups and IGNORECASE costs ~2 ms per 5 KB in `re`,
    because every branch is tried at every position. Every match starts with one of a few
    literal keys derived from the regexes at load time, so `str.find` locates the candidate
    starts and the pattern is matched there only, resuming after each match: exactly the
    matches of ``pattern.finditer(text)``. Without keys the whole text is scanned.
    """

    pattern: re.Pattern[str]  # ``prefix(?:(?P<t0>...)|(?P<t1>...))``
    keys: Mapping[str, tuple[str, ...]] | None  # first char -> lower-cased keys; None: scan all

    def finditer(self, text: _Text) -> Iterator[tuple[str, int, int]]:
        """(alternative id, start, end) of each non-overlapping match in `text`."""
        if self.keys is None or len(text.lowered) != len(text.text):
            matches: Iterable[re.Match[str]] = self.pattern.finditer(text.text)
        else:
            matches = self._anchored(text)
        for match in matches:
            if match.lastgroup is not None:
                yield match.lastgroup, match.start(), match.end()

    def _anchored(self, text: _Text) -> Iterator[re.Match[str]]:
        assert self.keys is not None
        starts: set[int] = set()
        for first in text.chars.intersection(self.keys):  # e.g. no Cyrillic keys in English
            for key in self.keys[first]:
                starts.update(text.starts(key))
        end = 0
        for start in sorted(starts):
            if start < end:
                continue
            match = self.pattern.match(text.text, start)
            if match is not None:
                end = match.end()
                yield match

    def search(self, text: _Text) -> bool:
        return next(self.finditer(text), None) is not None


@dataclass(frozen=True)
class _Context:
    """A scale exclusion: when `trigger` occurs, `targets` (groups or terms) count `scale`."""

    name: str
    trigger: _Alternation
    targets: frozenset[str]
    scale: float
    keep_tags: bool = False  # scaled terms still give their tags (default: they give none)


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


def normalize(text: str) -> str:
    """NFKC plus ё→е folding: the form every rule and every text is matched in."""
    return unicodedata.normalize("NFKC", text).replace("ё", "е").replace("Ё", "Е")


def detect_language(text: str) -> str:
    """Guess en/ja/ru from the script of a text sample (kana/kanji → ja, Cyrillic → ru).

    Why so cheap: feeds declare a language per source; this only settles unlabelled or
    mixed items. CJK characters count double since one carries about a word's meaning.
    """
    sample = text[:_DETECT_SAMPLE]
    ja = 2 * (len(_KANA_RE.findall(sample)) + len(_CJK_RE.findall(sample)))
    ru = len(_CYRILLIC_RE.findall(sample))
    en = len(_LATIN_RE.findall(sample))
    if ja > max(ru, en):
        return "ja"
    if ru > en:
        return "ru"
    return "en"


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


def is_fetch_candidate(relevance: Relevance, language: str | None = None) -> bool:
    """Stage 1: whether a feed entry's title/summary score justifies fetching its page.

    Why looser than ``relevant``: a feed gives a headline and at most a short summary, and
    the body often carries the decisive terms; ``[scoring] candidate_threshold`` (at most
    ``threshold``) keeps recall while most clearly unrelated entries are still not fetched.

    :param relevance: the stage-1 result, ``score_relevance(title, "", lang, summary=...)``.
    :param language: the entry's language; without it the lowest candidate threshold of
        the three rule files applies.
    """
    if relevance.relevant:
        return True
    rules = load_rules()
    code = _language_code(language)
    if code in rules:
        threshold = rules[code].scoring.candidate_threshold
    else:
        threshold = min(ruleset.scoring.candidate_threshold for ruleset in rules.values())
    return relevance.score >= threshold


def clear_rules_cache() -> None:
    """Forget compiled rules, e.g. after an analyst edited a rule file in a long process."""
    _CACHE.clear()
    _TAG_CACHE.clear()


def score_relevance(
    title: str, text: str, language: str | None = None, summary: str = ""
) -> Relevance:
    """Score how strongly an item concerns the monitored relationship.

    :param title: headline.
    :param text: body or lead text.
    :param language: "en", "ja" or "ru" (a region suffix such as "ja-JP" is ignored);
        detected from the script when missing or unknown.
    :param summary: feed summary, scored as its own field.
    """
    rules = load_rules()
    fields = {"title": normalize(title), "summary": normalize(summary), "body": normalize(text)}
    lang = _primary_language(language, fields)
    primary = rules[lang]
    scoring = primary.scoring

    hits: list[tuple[_Term, str]] = []  # (term, field)
    scales: dict[_Term, float] = {}  # product of the scale exclusions that fired
    untagged: set[_Term] = set()  # scaled by an exclusion without keep_tags
    fired: list[str] = []  # names of exclusions that changed something
    texts = {name: _Text(value) for name, value in fields.items() if value}
    for ruleset in (primary, *(rules[other] for other in RULE_LANGUAGES if other != lang)):
        groups = GROUPS if ruleset is primary else ("bilateral",)
        found = _scan(ruleset, texts, groups, fired)
        _apply_contexts(ruleset, texts.values(), found, scales, untagged, fired)
        hits.extend(found)
    # Masked text never matched; a term an exclusion doubted tags nothing (see keep_tags).
    tags = sorted({tag for term, _field in hits if term not in untagged for tag in term.tags})

    evidence: list[Evidence] = []
    best: dict[str, tuple[float, str]] = {}  # term name -> (best contribution, group)
    title_side: dict[str, float] = {"japan": 0.0, "russia": 0.0}
    seen: set[tuple[str, str]] = set()
    for term, field in hits:
        if (term.name, field) in seen:
            continue
        seen.add((term.name, field))
        scaled = term.weight * scales.get(term, 1.0)
        weight = round(scaled * scoring.factor(field), 4)
        if weight <= 0:
            continue
        evidence.append(Evidence(term=term.name, field=field, group=term.group, weight=weight))
        if weight > best.get(term.name, (0.0, ""))[0]:
            best[term.name] = (weight, term.group)
        if field == "title" and term.group in title_side:
            title_side[term.group] += scaled
    evidence.sort(key=lambda e: (FIELDS.index(e.field), GROUPS.index(e.group), e.term))

    sums = dict.fromkeys(GROUPS, 0.0)
    for weight, group in best.values():
        sums[group] += weight
    bilateral, japan, russia, topic = (sums[g] for g in GROUPS)
    paired = japan > 0 and russia > 0
    one_sided = scoring.supported_factor if bilateral > 0 else scoring.unpaired_factor
    unpaired = one_sided * (japan + russia + topic)
    pair = 0.0
    if paired:
        bonus = scoring.title_pair_bonus * min(1.0, title_side["japan"], title_side["russia"])
        pair = scoring.pair_factor * min(japan, russia) + topic + bonus
    raw = bilateral + max(pair, unpaired)
    score = raw / (raw + scoring.half_score) if raw > 0 else 0.0
    if not (bilateral > 0 or paired):
        score = min(score, scoring.unpaired_cap)  # below threshold: checked at load
    score = round(score, 4)
    relevant = score >= scoring.threshold

    return Relevance(
        score=score,
        relevant=relevant,
        matched=sorted(best),
        evidence=evidence,
        reason=_reason(relevant, score, lang, best, sums, paired, fired),
        tags=tags,
    )


# --- matching -------------------------------------------------------------------------


def _language_code(language: str | None) -> str:
    """The primary subtag of a language tag: ja-JP, JA and ja_JP give ja; "" when missing."""
    return (language or "").strip().lower().replace("_", "-").split("-")[0]


def _primary_language(language: str | None, fields: Mapping[str, str]) -> str:
    if language:
        code = _language_code(language)
        if code in RULE_LANGUAGES:
            return code
        LOGGER.debug("unknown language %r; detecting from text", language)
    return detect_language(" ".join(fields.values()))


def _scan(
    ruleset: RuleSet, texts: Mapping[str, _Text], groups: Iterable[str], fired: list[str]
) -> list[tuple[_Term, str]]:
    """`ruleset`'s term hits per field, after its masks blanked their false friends."""
    hits: list[tuple[_Term, str]] = []
    alternations = [ruleset.groups[g] for g in groups if g in ruleset.groups]
    for field, text in texts.items():
        if ruleset.mask is not None:
            spans = list(ruleset.mask.finditer(text))
            if spans:
                text = _Text(_blank(ruleset, text.text, spans, fired))
        for alternation in alternations:
            for key, _start, _end in alternation.finditer(text):
                hits.append((ruleset.terms[key], field))
    return hits


def _blank(ruleset: RuleSet, text: str, spans: list[tuple[str, int, int]], fired: list[str]) -> str:
    """Replace each masked span by one space, remembering which exclusions fired."""
    pieces: list[str] = []
    previous = 0
    for key, start, end in spans:
        pieces.append(text[previous:start])
        pieces.append(" ")
        previous = end
        name = ruleset.mask_names.get(key)
        if name is not None and name not in fired:
            fired.append(name)
    pieces.append(text[previous:])
    return "".join(pieces)


def _apply_contexts(
    ruleset: RuleSet,
    texts: Collection[_Text],
    hits: list[tuple[_Term, str]],
    scales: dict[_Term, float],
    untagged: set[_Term],
    fired: list[str],
) -> None:
    """Multiply into `scales` the scale exclusions of `ruleset` whose trigger occurs in a field.

    Why per file: a file's exclusions guard that file's terms, the same as its masks, so
    an analyst can reason about one file at a time (and an English trigger word does not
    also fire the guards of the other two files).
    """
    if not hits:
        return
    for context in ruleset.contexts:
        targets = {
            term
            for term, _field in hits
            if term.group in context.targets or term.name in context.targets
        }
        if not targets or not any(context.trigger.search(text) for text in texts):
            continue
        for term in targets:
            scales[term] = scales.get(term, 1.0) * context.scale
            if not context.keep_tags and context.scale < 1.0:
                untagged.add(term)
        if context.name not in fired:
            fired.append(context.name)


def _reason(
    relevant: bool,
    score: float,
    language: str,
    best: Mapping[str, tuple[float, str]],
    sums: Mapping[str, float],
    paired: bool,
    fired: list[str],
) -> str:
    """One line saying which evidence decided, for analysts reading the rejections."""

    def top(group: str) -> str:
        names = sorted((-w, n) for n, (w, g) in best.items() if g == group)
        return ", ".join(n for _w, n in names[:4])

    verdict = f"{'relevant' if relevant else 'not relevant'} ({score:.2f}, {language})"
    parts: list[str] = []
    if sums["bilateral"] > 0:
        parts.append(f"bilateral: {top('bilateral')}")
    if paired:
        parts.append(f"japan: {top('japan')} + russia: {top('russia')}")
    else:
        for side in ("japan", "russia"):
            if sums[side] > 0 and sums["bilateral"] > 0:
                parts.append(f"{side}: {top(side)}")
            elif sums[side] > 0:
                parts.append(f"only {side}-side terms ({top(side)})")
    if sums["topic"] > 0 and (paired or sums["bilateral"] > 0):
        parts.append(f"topic: {top('topic')}")
    if not best:
        parts.append("no rule term matched")
    elif not relevant and (paired or sums["bilateral"] > 0):
        parts.append("evidence too weak")
    elif not relevant:
        parts.append("needs a bilateral term or both Japan and Russia")
    if fired:
        parts.append(f"exclusions: {', '.join(fired)}")
    return f"{verdict}: {'; '.join(parts)}"


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
        if group not in GROUPS:
            problems.append(f"{where}: unknown group (expected one of {', '.join(GROUPS)})")
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
            if "applies_to" in entry or "scale" in entry or "keep_tags" in entry:
                problems.append(
                    f"{at}: 'applies_to'/'scale'/'keep_tags' only go with action = \"scale\""
                )
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
            if source is not None:
                trigger = _alternation([("c", source)], "", flags, at, problems)
                contexts.append(_Context(name, trigger, frozenset(targets), scale, keep_tags))
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


def _alternation(
    alternatives: list[tuple[str, str]], prefix: str, flags: int, at: str, problems: list[str]
) -> _Alternation:
    """Compile ``prefix(?:(?P<id>source)|...)`` and the literal keys its matches start with."""
    body = "|".join(f"(?P<{name}>{source})" for name, source in alternatives)
    try:
        pattern = re.compile(f"{prefix}(?:{body})", flags)
    except re.error as exc:  # each source compiled alone already; report, don't crash
        problems.append(f"{at}: terms do not combine into one regex: {exc}")
        pattern = re.compile("(?!)")
    keys: set[str] | None = set()
    for _name, source in alternatives:
        found = _leading_literals(source, flags)
        if found is None or keys is None:
            keys = None
            break
        keys |= found
    if keys is None:
        return _Alternation(pattern, None)
    by_first: dict[str, list[str]] = {}
    for key in sorted(keys):  # sorted: a key's own prefixes come before it
        known = by_first.setdefault(key[0], [])
        if not any(key.startswith(shorter) for shorter in known):  # "eu" covers "eu,"
            known.append(key)
    return _Alternation(pattern, {first: tuple(ks) for first, ks in by_first.items()})


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


def _leading_literals(source: str, flags: int) -> set[str] | None:
    """Lower-cased literal strings of which every match of `source` starts with one.

    Each is at most ``_KEY_LENGTH`` long. None when that cannot be told (the pattern may
    start with a character class, ``.``, or ``\\w*``): then its alternation scans the whole
    text, which is slower but gives the same matches. Uses ``re``'s own parser; anything
    it does not expect also falls back to None.
    """
    if _SRE_PARSER is None:
        return None
    try:
        states = _extend({("", True)}, list(_SRE_PARSER.parse(source, flags)))
    except Exception:  # noqa: BLE001 - private parser API; any surprise means "unknown"
        return None
    if states is None:
        return None
    prefixes = {prefix for prefix, _open in states}
    return None if "" in prefixes else prefixes


def _extend(
    states: set[tuple[str, bool]], items: list[tuple[Any, Any]]
) -> set[tuple[str, bool]] | None:
    """Grow (prefix, still-open) states through a parsed sequence; None if too many."""
    for op, av in items:
        kind = str(op)
        open_states = {s for s in states if s[1]}
        if not open_states:
            return states
        closed = states - open_states
        if kind in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero-width
        if kind == "LITERAL":
            grown = {(p + chr(av).lower(), True) for p, _o in open_states}
        elif kind == "IN" and av and all(str(o) == "LITERAL" for o, _a in av):
            grown = {(p + chr(c).lower(), True) for p, _o in open_states for _l, c in av}
        elif kind == "SUBPATTERN":
            result = _extend(open_states, list(av[-1]))
            if result is None:
                return None
            grown = result
        elif kind == "BRANCH":
            grown = set()
            for branch in av[1]:
                result = _extend(open_states, list(branch))
                if result is None:
                    return None
                grown |= result
        elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            result = _extend(open_states, list(av[2]))
            if result is None:
                return None
            # After one repetition the count is unknown: stop growing those prefixes.
            grown = {(p, False) for p, _o in result}
            if av[0] == 0:
                grown |= open_states
        else:
            grown = {(p, False) for p, _o in open_states}
        states = closed | {(p[:_KEY_LENGTH], o and len(p) < _KEY_LENGTH) for p, o in grown}
        if len(states) > _MAX_KEYS:
            return None
    return states


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
