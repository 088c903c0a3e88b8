"""Matching the rules' terms in a text: normalisation and alternations anchored on literals.

Every rule and every text is matched in one form (:func:`normalize`). Each rule file's
terms are compiled into one alternation per group (:func:`_alternation`, called by
:mod:`scrapers.relevance.rules`), which :mod:`scrapers.relevance.scoring` runs over a
:class:`_Text` per field.

Speed: rules are compiled once per rules directory (cached). Each alternation is matched
only where one of its literal prefixes occurs (see :class:`_Alternation`): `str.find`
skips the rest of the text, which the regex engine would try position by position
(docs/relevance.md, "Moved from code comments").
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_KEY_LENGTH = 4  # characters of a literal prefix used to find candidate match starts
_MAX_KEYS = 64  # a regex with more literal prefixes than this is scanned for everywhere

# `re`'s own parser, used only to derive literal prefixes (speed); without it, scan all.
try:
    _SRE_PARSER: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - CPython 3.11+ has it
    _SRE_PARSER = None


def normalize(text: str) -> str:
    """NFKC plus ё→е folding: the form every rule and every text is matched in."""
    return unicodedata.normalize("NFKC", text).replace("ё", "е").replace("Ё", "Е")


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

    Why: a big alternation with named groups and IGNORECASE is slow in `re`, because every
    branch is tried at every position. Every match starts with one of a few
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
