"""Relevance scoring: is a news item about the relationship Nichiro monitors?

Why rules live in data: analysts tune terms, weights and tags without touching code, and
this package holds no topic word at all (a test checks). Rules are one TOML file per
language in ``scrapers/relevance/rules/`` (``en.toml``, ``ja.toml``, ``ru.toml``) plus the tag
vocabulary ``tags.toml``; set ``NICHIRO_RULES_DIR`` to a directory holding such files to
use another set. A broken file raises :class:`scrapers.relevance.rules.RulesError` naming
the file and every problem in it. docs/relevance.md is the analyst's guide.
The rule file format and the tag vocabulary: :mod:`scrapers.relevance.rules`; how terms
are matched: :mod:`scrapers.relevance.matching`.

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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping

from scrapers.models import Evidence, Relevance
from scrapers.relevance.matching import _Text, normalize
from scrapers.relevance.rules import (
    GROUPS,
    RULE_LANGUAGES,
    TAG_GROUP,
    RuleSet,
    _Term,
    load_rules,
)
from scrapers.text.language import detect_language

LOGGER = logging.getLogger(__name__)

FIELDS: tuple[str, ...] = ("title", "summary", "body")

def rules_language(text: str) -> str:
    """The rule file to score `text` with when its language is not given: the script it is
    written in (`scrapers.text.language.detect_language`, the one detector); Han text
    without kana ("zh" there) is read with the "ja" rules, and text with no letters with
    the "en" ones."""
    detected = detect_language(text)
    if detected == "zh":
        return "ja"
    return detected if detected in RULE_LANGUAGES else "en"


#: The end of a lede: a sentence's end, or the paragraph's.
_LEDE_END = re.compile(r"[。！？]|[.!?](?=\s)|\n")


def lede(text: str) -> str:
    """The first sentence of a text: a news item without a headline (a lead-only feed
    entry or page) leads with what a headline would say, so it is weighed as one."""
    text = text.strip()
    end = _LEDE_END.search(text)
    return text[:end.end()] if end else text


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
    if not title.strip():
        title = lede(text or summary)
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
        groups = (*GROUPS, TAG_GROUP) if ruleset is primary else ("bilateral",)
        found = _scan(ruleset, texts, groups, fired)
        _apply_contexts(ruleset, texts.values(), found, scales, untagged, fired)
        hits.extend(found)
    # Masked text never matched; a term an exclusion doubted tags nothing (see keep_tags).
    # The tag-only group's tags are event evidence, not the analysts' article tags.
    tagged = [term for term, _field in hits if term not in untagged]
    tags = sorted({tag for term in tagged if term.group != TAG_GROUP for tag in term.tags})
    every_tag = {tag for term in tagged for tag in term.tags}

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
        event_tags=sorted(every_tag),
    )


# --- applying the rules (term matching itself: scrapers.relevance.matching) -----------


def _language_code(language: str | None) -> str:
    """The primary subtag of a language tag: ja-JP, JA and ja_JP give ja; "" when missing."""
    return (language or "").strip().lower().replace("_", "-").split("-")[0]


def _primary_language(language: str | None, fields: Mapping[str, str]) -> str:
    if language:
        code = _language_code(language)
        if code in RULE_LANGUAGES:
            return code
        LOGGER.debug("unknown language %r; detecting from text", language)
    return rules_language(" ".join(fields.values()))


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
        if context.unless is not None and any(context.unless.search(text) for text in texts):
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
