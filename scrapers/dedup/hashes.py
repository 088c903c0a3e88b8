"""Content hashes: notice when an article or a feed entry really changed.

A page re-fetched an hour later often differs only in whitespace or letter case (a
re-run of extraction, a CMS re-render); those must not count as edits. Both hashes are
pure functions of their input, so reruns of a task produce the same keys.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import unicodedata
from datetime import UTC, datetime

from scrapers.models import FeedEntry

LOGGER = logging.getLogger(__name__)

# \s in a str pattern covers Unicode spaces too (NBSP, the ideographic space U+3000...).
_WHITESPACE_RE = re.compile(r"\s+")
# Invisible characters that CMSs insert and remove at will.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def collapse_text(text: str) -> str:
    """NFC, zero-width characters removed, whitespace runs collapsed to one space."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE_RE.sub("", text)
    return _WHITESPACE_RE.sub(" ", text).strip()


def normalize_for_hash(text: str) -> str:
    """collapse_text, then case-folded: what counts as the same content."""
    text = collapse_text(text)
    # Case folding can itself denormalise (e.g. U+01F0), so normalise once more.
    return unicodedata.normalize("NFC", text.casefold())


def _sha256(*parts: str) -> str:
    # After normalisation no part contains "\n", so joining on it is unambiguous.
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def content_hash(title: str, text: str) -> str:
    """Return the sha256 hex of normalised ``title + "\\n" + text``.

    Differences only in whitespace, letter case, Unicode composition or zero-width
    characters give the same hash; any other edit does not.
    """
    return _sha256(normalize_for_hash(title), normalize_for_hash(text))


def entry_fingerprint(entry: FeedEntry) -> str:
    """Return a hash of what a feed may silently change in an entry: title, summary, date.

    Compared against the stored fingerprint of the same GUID to notice an updated entry.

    :raises ValueError: if `entry.published_at` is a naive datetime.
    """
    published = ""
    if entry.published_at is not None:
        published = _utc_iso(entry.published_at)
    return _sha256(normalize_for_hash(entry.title), normalize_for_hash(entry.summary), published)


def _utc_iso(moment: datetime) -> str:
    """Same instant, same string, whatever zone it was given in."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: records carry aware UTC times")
    return moment.astimezone(UTC).isoformat()


def diff_summary(old_title: str, old_body: str, new_title: str, new_body: str) -> str:
    """A one-line account of an edit, for analysts: what changed, in paragraphs.

    Paragraphs are compared after the same normalisation as the content hash, so a
    re-rendered but identical paragraph does not count as changed.
    """
    parts: list[str] = []
    if normalize_for_hash(old_title) != normalize_for_hash(new_title):
        parts.append("title changed")
    old = [normalize_for_hash(p) for p in old_body.split("\n\n") if p.strip()]
    new = [normalize_for_hash(p) for p in new_body.split("\n\n") if p.strip()]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    added = removed = changed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            added += j2 - j1
        elif tag == "delete":
            removed += i2 - i1
        elif tag == "replace":
            common = min(i2 - i1, j2 - j1)
            changed += common
            added += (j2 - j1) - common
            removed += (i2 - i1) - common
    if added or removed or changed:
        counts = [f"{n} paragraph{'s' if n != 1 else ''} {what}"
                  for n, what in ((changed, "changed"), (added, "added"), (removed, "removed"))
                  if n]
        parts.append(", ".join(counts))
    delta = len(new_body) - len(old_body)
    parts.append(f"body {'+' if delta >= 0 else ''}{delta} chars")
    return "; ".join(parts)
