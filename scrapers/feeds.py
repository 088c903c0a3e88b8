"""Feed parsing: RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom bytes to `FeedEntry` records.

feedparser does the XML work; this module decides what an entry *is* for us: plain-text
title and summary, an absolute http(s) link, a stable GUID and an aware UTC date. Entries
that cannot become records are not dropped silently: `parse_feed_detailed` returns them
with a reason, so the caller can count drops per reason.

No I/O happens here: the bytes come from `scrapers.fetch.http`. feedparser is handed a stream,
never a string: it fetches a ``str`` that looks like a URL, and tries ``open()`` on any
``str`` or ``bytes`` (as a file path) before treating it as a document.

Choices that differ from feedparser's defaults, and why:

- The document's own declaration (BOM, then XML prolog, else UTF-8) decides the encoding;
  an HTTP ``Content-Type`` is not consulted. feedparser given no content type falls back
  to ISO-8859-1 (silent mojibake for an undeclared UTF-8 Japanese feed), and given
  ``text/xml`` without a charset it must use US-ASCII.
- Relative links are resolved here against the feed URL, not by feedparser. Handing
  feedparser the feed URL as base would also rewrite every permalink GUID that is not a
  URL (``<guid>12345</guid>``) into ``<feed dir>/12345``: a fake article URL, and a GUID
  that changes whenever the feed URL does.
- Dates are parsed from the entry's own string by :mod:`scrapers.text.dates`, the one
  date parser for feeds and pages. feedparser reads unknown
  zone names such as ``JST`` or ``MSK`` as UTC (hours off for exactly our sources) and
  its ISO 8601 parser fills a partial date such as ``2025/03/03`` from today's date
  (it becomes the 1st of the current month).
- A malformed feed whose trouble is a bare ``&`` ("Q&A", "M&A") is parsed again with those
  ampersands escaped: feedparser's lenient fallback parser would return "Q&A;".
- The prolog is defused first (:mod:`scrapers.text.xmlsafe`): feedparser and expat expand
  the entities a document declares for itself, and feedparser's prolog regexes backtrack.
- Every text field loses its C0 control characters and is capped; identifiers that would
  not fit a btree index are skipped (links) or hashed (GUIDs).
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from bs4 import BeautifulSoup

from scrapers.dedup.hashes import collapse_text, content_hash
from scrapers.models import FeedEntry
from scrapers.text.dates import parse_date_precision
from scrapers.text.encoding import (
    CHARSET_ALIASES,
    cyrillic_reading,
    detect_charset,
    strip_controls,
)
from scrapers.text.xmlsafe import UnsafeDocumentError, defuse_prolog

LOGGER = logging.getLogger(__name__)

#: Default bound on the entries read from one feed.
MAX_ENTRIES = 500

# Reasons an entry is skipped; the caller counts drops per reason.
SKIP_NO_LINK = "no_link"
SKIP_BAD_LINK = "bad_link"
SKIP_DUPLICATE_GUID = "duplicate_guid"
SKIP_OVER_LIMIT = "over_max_entries"
SKIP_LONG_LINK = "link_too_long"

# Caps on what one entry may carry. A headline runs to a few hundred characters and a
# feed's description is a teaser (the article text comes from its page); anything longer
# is a feed stuffing a whole page, or worse, into the field.
MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 10_000
MAX_AUTHOR_CHARS = 300
# Identifiers end up in btree indexes (feed_entries.url, UNIQUE (source_id, guid),
# article_urls), whose rows PostgreSQL refuses above about 2,700 bytes. A link is
# measured as it is stored: canonical, each byte outside the URL alphabet as "%XX".
MAX_LINK_BYTES = 2_000
MAX_GUID_BYTES = 512
MAX_OUTLET_BYTES = 512

_HTTP_SCHEMES = frozenset({"http", "https"})

# Passed instead of real response headers: "application/xml" makes feedparser follow the
# XML rules (BOM, then prolog, else UTF-8) and stops it flagging every feed as bozo for
# "no Content-type specified".
_RESPONSE_HEADERS: Mapping[str, str] = {"content-type": "application/xml"}

# Labels of Japanese encodings whose real-world content is a superset (WHATWG maps all of
# them to windows-31j); Python's strict shift_jis codec rejects ①, ㈱ or NEC/IBM kanji.
# Derived from the one charset table in scrapers.text.encoding.
_ENCODING_SUPERSETS: Mapping[str, str] = {
    label: codec for label, codec in CHARSET_ALIASES.items() if codec == "cp932"
}
_XML_DECL_ENCODING_RE = re.compile(
    rb"""\A<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
)
_XML_DECL_RE = re.compile(r"\A<\?xml[^>]{0,200}?\?>")
_UNICODE_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

# An "&" that begins no entity or character reference (to escape; CDATA is skipped in code,
# which finds each section's end once: a lazy regex rescans to the end from every opening
# that has none).
_BARE_AMPERSAND_RE = re.compile(
    rb"&(?!(?:[A-Za-z_][A-Za-z0-9._-]{0,40}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)"
)
_CDATA_OPEN, _CDATA_CLOSE = b"<![CDATA[", b"]]>"

# Bytes that stand for themselves in a canonical URL; any other byte is stored as "%XX".
_URL_BYTES = b"".join(bytes([c]) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}')
# How far a cap backs off to keep a letter with its combining marks.
_MAX_MARKS = 32

# A numeric character reference (its value is checked in code; the digits are bounded).
_CHARREF_RE = re.compile(rb"&#([0-9]{1,12}|[xX][0-9A-Fa-f]{1,12});")

_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip
_DROP_TAGS = ("script", "style", "noscript", "template")
_PLAIN_TYPES = frozenset({"text/plain"})

class FeedParseError(ValueError):
    """The bytes are not an RSS, RDF or Atom feed, or are too broken to yield any entry."""


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its entries, and every entry not kept with the reason why."""

    entries: list[FeedEntry]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)
    title: str = ""
    language: str | None = None
    version: str = ""  # feedparser's name for the format: "rss20", "rss10", "atom10"...
    encoding: str | None = None
    bozo: bool = False  # the document was not well-formed; entries are what was recovered
    bozo_exception: str | None = None


def parse_feed(data: bytes, url: str, *, max_entries: int = MAX_ENTRIES) -> list[FeedEntry]:
    """Parse feed bytes into entries; see `parse_feed_detailed` for what is skipped and why.

    :param data: the response body, undecoded.
    :param url: the feed URL, used to resolve relative links.
    :param max_entries: read at most this many entries, in document order.
    :raises FeedParseError: if `data` is not a feed.
    """
    return parse_feed_detailed(data, url, max_entries=max_entries).entries


def parse_feed_detailed(data: bytes, url: str, *, max_entries: int = MAX_ENTRIES,
                        naive_zone: tzinfo = UTC) -> ParsedFeed:
    """Parse feed bytes into entries, keeping the reason for every entry left out.

    A well-formed feed without items gives no entries; a malformed feed gives the entries
    that could be recovered, with ``bozo`` set.

    :param data: the response body, undecoded.
    :param url: the feed URL, used to resolve relative links.
    :param max_entries: read at most this many entries, in document order; the rest are
        reported as skipped with reason ``over_max_entries``.
    :param naive_zone: the zone an entry time without an offset is read in (the source's).
    :raises FeedParseError: if `data` is empty, is not RSS/RDF/Atom (an HTML page, a
        sitemap, JSON), is malformed before its first entry, or makes feedparser fail.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"feed data must be bytes, not {type(data).__name__}")
    if max_entries < 0:
        raise ValueError(f"max_entries must be >= 0, got {max_entries}")
    if not data.strip():
        raise FeedParseError(f"empty document at {url}")

    data, encoding_used, encoding_note = _transcode(bytes(data))
    try:
        defused = defuse_prolog(data)
    except UnsafeDocumentError as exc:
        raise FeedParseError(f"unsafe feed at {url}: {exc}") from exc
    data, encoding_used = defused.data, encoding_used or defused.transcoded_from
    parsed = _feedparser_parse(data, url)
    bozo = bool(parsed.get("bozo")) or encoding_note is not None or defused.note is not None
    # of the document as given, for the record
    notes = (encoding_note, defused.note, _error_text(parsed))
    error_text = "; ".join(filter(None, notes)) or None
    if _is_fatal(parsed):
        # The commonest breakage is a bare "&" ("Q&A", "M&A"). feedparser's fallback
        # parser would turn it into "Q&A;", so escape such ampersands and parse again.
        repaired = _escape_bare_ampersands(data)
        if repaired != data:
            parsed = _feedparser_parse(repaired, url)
    fatal = _is_fatal(parsed)
    version = parsed.get("version") or ""
    raw_entries = parsed.get("entries") or []
    if not version:
        detail = f" ({_error_text(parsed)})" if fatal else ""
        raise FeedParseError(f"not an RSS, RDF or Atom feed at {url}{detail}")
    if fatal and not raw_entries:
        raise FeedParseError(
            f"malformed {version} feed at {url} yielded no entries: {_error_text(parsed)}"
        )
    if bozo:
        LOGGER.warning(
            "Feed %s parsed with a problem (%s); %d entries recovered",
            url,
            error_text,
            len(raw_entries),
        )

    entries: list[FeedEntry] = []
    skipped: list[tuple[str, str]] = []
    seen_guids: set[str] = set()
    for index, raw in enumerate(raw_entries):
        if index >= max_entries:
            skipped.append((SKIP_OVER_LIMIT, _describe(raw)))
            continue
        entry, reason = _make_entry(raw, url, naive_zone)
        if entry is None:
            skipped.append((reason, _describe(raw)))
            continue
        if entry.guid in seen_guids:
            skipped.append((SKIP_DUPLICATE_GUID, entry.guid))
            continue
        seen_guids.add(entry.guid)
        entries.append(entry)

    feed = parsed.get("feed") or {}
    language = _plain(feed.get("language") or "").lower() or None
    return ParsedFeed(
        entries=entries,
        skipped=skipped,
        title=_capped(_text_of(feed.get("title"), feed.get("title_detail")), MAX_TITLE_CHARS),
        language=language,
        version=version,
        encoding=encoding_used or parsed.get("encoding") or None,
        bozo=bozo,
        bozo_exception=error_text,
    )


def _feedparser_parse(data: bytes, url: str) -> Any:
    """feedparser's result; a crash inside feedparser becomes a FeedParseError."""
    try:
        return feedparser.parse(
            io.BytesIO(_replace_bad_charrefs(data)),  # a stream: never a path or URL
            response_headers=dict(_RESPONSE_HEADERS),
            resolve_relative_uris=False,  # summaries become plain text; links are unused
            sanitize_html=True,  # drops <script>/<style> bodies before text extraction
        )
    except (ValueError, LookupError, UnicodeError, RecursionError) as exc:
        raise FeedParseError(
            f"feed parser failed at {url}: {type(exc).__name__}: {exc}"
        ) from exc


def _replace_bad_charrefs(data: bytes) -> bytes:
    """Replace character references to no character (``&#2000000;``, ``&#xD800;``) by U+FFFD.

    XML forbids them; feedparser's lenient parser then crashes on them (``chr()`` out of
    range, a surrogate it cannot encode) instead of skipping one character.
    """
    if b"&#" not in data or data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        return data
    return _CHARREF_RE.sub(_fix_charref, data)


def _fix_charref(match: re.Match[bytes]) -> bytes:
    digits = match.group(1)
    value = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _is_fatal(parsed: Any) -> bool:
    """Did parsing stop early? Encoding notes (declared X, decoded as Y) lose nothing."""
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    return error is not None and not isinstance(error, feedparser.ThingsNobodyCaresAboutButMe)


def _error_text(parsed: Any) -> str | None:
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    return f"{type(error).__name__}: {error}" if error is not None else None


def _escape_bare_ampersands(data: bytes) -> bytes:
    """Escape each "&" that starts no entity or character reference, outside CDATA.

    Only for ASCII-compatible encodings (in UTF-8, windows-1251 or Shift_JIS an 0x26
    byte is always "&"); UTF-16/32 documents are returned unchanged. A CDATA opening
    without its end is text, as is everything after it.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        return data
    parts: list[bytes] = []
    pos = 0
    while (start := data.find(_CDATA_OPEN, pos)) >= 0:
        end = data.find(_CDATA_CLOSE, start + len(_CDATA_OPEN))
        if end < 0:
            break  # no later opening has an end either
        end += len(_CDATA_CLOSE)
        parts += (_BARE_AMPERSAND_RE.sub(b"&amp;", data[pos:start]), data[start:end])
        pos = end
    parts.append(_BARE_AMPERSAND_RE.sub(b"&amp;", data[pos:]))
    return b"".join(parts)


def _transcode(data: bytes) -> tuple[bytes, str | None, str | None]:
    """Re-encode a feed as UTF-8 when its declared encoding is a poor fit for its bytes.

    - A Shift_JIS label is read as windows-31j, as browsers do.
    - No label (XML's default is UTF-8), or a label that does not decode the bytes, or a
      label Python does not know: the encoding is detected (charset-normalizer). Left to
      feedparser, such a Shift_JIS, windows-1251 or KOI8-R feed became windows-1252 or
      ISO-8859-2 mojibake.
    - windows-1251 and KOI8-R decode each other's bytes without error, swapping the case
      of nearly every letter; the reading in which Cyrillic letters are mostly lower-case
      (as in Russian prose) wins.

    Documents with a BOM or in UTF-16/32 are left to feedparser, which reads those right.

    :return: the bytes (re-encoded as UTF-8 if transcoded), the codec used (else None),
        and a note when the declaration was overridden (else None).
    """
    if data.startswith(_UNICODE_BOMS) or b"\x00" in data[:4]:
        return data, None, None
    match = _XML_DECL_ENCODING_RE.match(data)
    label = match.group(1).decode("ascii").lower() if match else None
    declared = "utf-8" if label is None else _ENCODING_SUPERSETS.get(label) or _codec(label)
    if declared == "utf-8" and _decodes(data, "utf-8"):
        return data, None, None
    codec: str | None = declared
    if codec is None or not _decodes(data, codec):
        codec = detect_charset(data)
    if codec is not None and _decodes(data, codec):
        codec = cyrillic_reading(data, codec)
    elif declared == "utf-8":
        codec = None  # mostly UTF-8 with bad bytes: replace those, keep the rest
    else:
        return data, None, None  # nothing fits: leave it to feedparser's fallbacks
    if codec is not None and codec == declared and label not in _ENCODING_SUPERSETS:
        return data, None, None  # the declaration is right: feedparser reads it as we would
    used = codec or "utf-8 (invalid bytes replaced)"
    note = None
    if codec != declared:
        stated = label or "utf-8 (no declaration)"
        note = f"CharacterEncodingOverride: document declared as {stated}, but parsed as {used}"
    text = data.decode(codec or "utf-8", errors="replace")
    text = _XML_DECL_RE.sub("", text.lstrip(), count=1)
    return ('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-8"), used, note


def _codec(label: str) -> str | None:
    """The Python codec of an XML encoding label, or None if Python does not know it."""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _make_entry(raw: Mapping[str, Any], feed_url: str,
                naive_zone: tzinfo = UTC) -> tuple[FeedEntry | None, str]:
    """Build one record, or return None and the reason it cannot be one."""
    title = _text_of(raw.get("title"), raw.get("title_detail"))
    summary = _text_of(raw.get("summary"), raw.get("summary_detail") or _first_content(raw))
    source = raw.get("source") or {}
    outlet = _plain(source.get("title") or "") or None
    outlet_url = _plain(source.get("href") or "").strip() or None
    if outlet_url and urlsplit(outlet_url).scheme not in ("http", "https"):
        outlet_url = None
    if outlet:
        # Search feeds repeat the publisher after the headline (and the description is
        # just "headline publisher"); left in, the name would match relevance terms for
        # every item of, say, "The Japan Times".
        title = _strip_outlet_suffix(title, outlet, " - ")
        bare_summary = _strip_outlet_suffix(summary, outlet, " ")
        if bare_summary.casefold() == title.casefold():
            summary = bare_summary

    link, reason = _entry_link(raw, feed_url)
    published_at, precision = _entry_date(raw, naive_zone)
    guid = _plain(raw.get("id") or "") or link or _hash_guid(title, summary)
    if link is None:
        return None, reason
    return (
        FeedEntry(
            url=link,
            title=_capped(title, MAX_TITLE_CHARS),
            summary=_capped(summary, MAX_SUMMARY_CHARS),
            published_at=published_at,
            published_precision=precision,
            guid=_bounded_guid(guid),
            outlet=_capped_utf8(outlet, MAX_OUTLET_BYTES) if outlet else None,
            outlet_url=outlet_url if outlet_url and len(outlet_url) <= 2048 else None,
            authors=_unique(_capped(name, MAX_AUTHOR_CHARS) for name in _author_names(raw)),
            tags=_unique(_tag_names(raw)),
        ),
        "",
    )


def _entry_link(raw: Mapping[str, Any], feed_url: str) -> tuple[str | None, str]:
    """Return the entry's absolute http(s) link, or None and why there is none."""
    link = strip_controls(raw.get("link") or "").strip()
    if not link:
        for candidate in raw.get("links") or []:
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = strip_controls(candidate["href"]).strip()
                break
    if not link:
        return None, SKIP_NO_LINK
    # feedparser copies a permalink <guid> into `link` when there is no <link>; RSS says
    # such a GUID is a full URL, so a relative one is an id, not a page address.
    from_guid = bool(raw.get("guidislink")) and link == strip_controls(raw.get("id") or "").strip()
    try:
        if not from_guid:
            link = urljoin(feed_url, link)
        parts = urlsplit(link)
    except ValueError:  # e.g. "http://[" (a malformed IPv6 host)
        return None, SKIP_BAD_LINK
    if parts.scheme.lower() not in _HTTP_SCHEMES or not parts.hostname:
        return None, SKIP_BAD_LINK
    if _stored_size(link) > MAX_LINK_BYTES:
        return None, SKIP_LONG_LINK
    return link, ""


def _stored_size(link: str) -> int:
    """Bytes of `link` once percent-encoded: three for each byte outside the URL alphabet."""
    encoded = link.encode("utf-8", errors="replace")
    return len(encoded) + 2 * len(encoded.translate(None, _URL_BYTES))


def _hash_guid(title: str, summary: str) -> str:
    """A GUID for an entry that has neither id nor link: stable while its text is."""
    return f"sha256:{content_hash(title, summary)}"


def _bounded_guid(guid: str) -> str:
    """`guid`, or a hash of it (stable while it is) if too long for its unique index."""
    encoded = guid.encode("utf-8", errors="replace")
    if len(encoded) <= MAX_GUID_BYTES:
        return guid
    return f"sha256:{hashlib.sha256(encoded).hexdigest()}"


def _plain(text: str) -> str:
    """Control characters removed, then `collapse_text` (so no double space is left)."""
    return collapse_text(strip_controls(text))


def _capped(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, never between a letter and its marks."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > limit - _MAX_MARKS and unicodedata.category(text[cut]).startswith("M"):
        cut -= 1  # text[cut] is the first character left out
    if unicodedata.category(text[cut]).startswith("M"):
        cut = limit  # marks on marks: no letter in reach to cut before
    return text[:cut].rstrip()


def _capped_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, at a character boundary."""
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= limit:
        return text
    return _capped(text, len(encoded[:limit].decode("utf-8", errors="ignore")))


def _strip_outlet_suffix(text: str, outlet: str, separator: str) -> str:
    """Drop a trailing ``<separator><outlet>``, as in "Headline - Publisher"."""
    suffix = separator + outlet
    if len(text) > len(suffix) and text.casefold().endswith(suffix.casefold()):
        return text[: -len(suffix)].strip()
    return text


def _first_content(raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
    content = raw.get("content") or []
    return content[0] if content else None


def _text_of(value: str | None, detail: Mapping[str, Any] | None) -> str:
    """Plain text of a feed text construct, whatever markup it was declared with."""
    if not value:
        return ""
    value = strip_controls(value)  # before the HTML parser, which turns NUL into U+FFFD
    content_type = (detail or {}).get("type") or "text/html"
    if content_type in _PLAIN_TYPES:
        return collapse_text(value)
    return _html_to_text(value)


def _html_to_text(markup: str) -> str:
    """Tags removed, entities decoded, one space where a block element ended."""
    if "<" not in markup:
        return _plain(html.unescape(markup))
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before(" ")
        tag.insert_after(" ")
    return _plain(soup.get_text())  # it decodes "&#1;" and the like


def _author_names(raw: Mapping[str, Any]) -> Iterable[str]:
    authors = raw.get("authors") or []
    if authors:
        return (_plain(author.get("name") or "") for author in authors)
    return [_plain(raw.get("author") or "")]


def _tag_names(raw: Mapping[str, Any]) -> Iterable[str]:
    return (_plain(tag.get("term") or tag.get("label") or "")
            for tag in raw.get("tags") or [])


def _unique(values: Iterable[str]) -> list[str]:
    """Non-empty values, first occurrence kept, order preserved."""
    return list(dict.fromkeys(value for value in values if value))


def _describe(raw: Mapping[str, Any]) -> str:
    """A short, human-readable handle for a skipped entry."""
    for key in ("id", "link", "title"):
        value = raw.get(key)
        if value:
            return _plain(str(value))[:200]
    return "(entry without id, link or title)"


def _entry_date(raw: Mapping[str, Any], naive_zone: tzinfo) -> tuple[datetime | None, str]:
    """Publication time as aware UTC and its precision: `published`, else `updated`, else
    (None, "none"); a time without an offset is read in `naive_zone`, the source's zone."""
    for key in ("published", "updated"):
        text = raw.get(key)
        if not text:
            continue
        parsed = parse_date_precision(text, raw.get(f"{key}_parsed"), naive_zone)
        if parsed is not None:
            return parsed
    return None, "none"
