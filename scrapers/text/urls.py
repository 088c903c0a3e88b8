"""URL normalisation: one spelling per page to show, one dedup key per article.

Feeds, search engines and share buttons hand out the same article under many spellings
(``http`` vs ``https``, ``utm_*`` tails, ``#comments``, ``%7e`` vs ``~``, Unicode hosts).
Two functions share one normalisation and differ only in the scheme:

- `normalize_url` gives the spelling stored and shown (``articles.url``): the scheme is
  kept as served, so a site that answers only on ``http`` gets a link that opens;
- `canonicalize_url` gives the dedup key (``article_urls.url``, ``feed_entries.url``):
  the same spelling with ``http`` folded into ``https``, so both schemes are one article.

Both are pure and use only `urllib.parse`: no network, no redirects followed (a later stage
does that). `same_site` tells whether a page's rel=canonical may stand for the page.

Deliberately *not* done here: stripping ``www.``/``m.`` and lower-casing paths, because
whether two such spellings name the same page is a per-site fact that needs evidence.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from urllib.parse import SplitResult, quote, unquote_plus, urlsplit, urlunsplit

LOGGER = logging.getLogger(__name__)

#: Query parameters that only say how a reader arrived, never which page they read.
#: Matched case-insensitively on the decoded key. The first group is the agreed list;
#: the second adds unambiguous ad-click identifiers of the same kind.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "yclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "igshid",
        "ref_src",
        "cmpid",
        "ocid",
        "spm",
        "at_medium",
        "at_campaign",
        # click ids of other ad networks and mailers
        "gclsrc",
        "gbraid",
        "wbraid",
        "twclid",
        "ttclid",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
    }
)
#: Any parameter whose key starts with one of these is tracking (``utm_source``, ``utm_id``...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)

ALLOWED_SCHEMES: frozenset[str] = frozenset({"http", "https"})
CANONICAL_SCHEME = "https"
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}
#: Host prefixes that name the same site as the bare host (`same_site`).
_SITE_PREFIXES: tuple[str, ...] = ("www.", "m.")

# RFC 3986 character classes.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_SUB_DELIMS = "!$&'()*+,;="
# Characters left as they are in a path; everything else (bar valid escapes) is encoded.
_PATH_SAFE = _UNRESERVED + _SUB_DELIMS + ":@/"
# In a query key or value '&' separates pairs, so it must stay encoded inside one.
_QUERY_PART_SAFE = _UNRESERVED + _SUB_DELIMS.replace("&", "") + ":@/?"


def _escape_pattern(safe: str) -> re.Pattern[str]:
    """Match a percent-escape, or one character that is not allowed raw."""
    return re.compile(r"%[0-9A-Fa-f]{2}|[^" + re.escape(safe) + "]")


_PATH_TOKEN_RE = _escape_pattern(_PATH_SAFE)
_QUERY_TOKEN_RE = _escape_pattern(_QUERY_PART_SAFE)
# Characters WHATWG URL parsing drops anywhere in a URL.
_INNER_STRIP_RE = re.compile(r"[\t\n\r]")
# What an ASCII host may contain (RFC 3986 reg-name, plus '_' which real sites use).
_HOST_RE = re.compile(r"[a-z0-9\-._~!$&'()*+,;=]+")


def _fix_token(match: re.Match[str]) -> str:
    """Normalise one token: decode unreserved escapes, upper-case the rest, encode raw bytes."""
    token = match.group(0)
    if token.startswith("%") and len(token) == 3:
        char = chr(int(token[1:], 16))
        return char if char in _UNRESERVED else token.upper()
    # A raw character that must be escaped ('%' without hex digits, space, non-ASCII...).
    return quote(token, safe="", errors="strict")


def _normalize_escapes(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(_fix_token, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: ``/a/./b/../c`` is ``/a/c``."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _canonical_query(query: str) -> str:
    """Drop tracking pairs, normalise escapes, sort by key; keep repeats and blank values."""
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        key = _normalize_escapes(key, _QUERY_TOKEN_RE)
        if _is_tracking(unquote_plus(key)):
            continue
        # Keep "key" and "key=" apart: some servers treat them differently.
        pairs.append((key, sep + _normalize_escapes(value, _QUERY_TOKEN_RE)))
    pairs.sort(key=lambda pair: pair[0])  # stable: repeated keys keep their order
    return "&".join(key + rest for key, rest in pairs)


def _split(url: str) -> SplitResult:
    """Split a URL after stripping whitespace, refusing anything but absolute http(s)."""
    if not isinstance(url, str):
        raise TypeError(f"URL must be str, not {type(url).__name__}")
    cleaned = _INNER_STRIP_RE.sub("", url.strip())
    parts = urlsplit(cleaned)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return parts._replace(scheme=scheme)


def ascii_host(host: str) -> str:
    """A host name as it is resolved and connected to: IDNA 2008 with UTS 46 mapping.

    :raises ValueError: the name is not a valid international host name.
    """
    if host.isascii():
        return host
    import idna

    try:
        return str(idna.encode(host, uts46=True).decode("ascii"))
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(str(exc)) from exc


def _canonical_host(parts: SplitResult, original: str) -> str:
    """Lower-case, drop the trailing dot, and encode an IDN host as punycode.

    IDNA 2008 with UTS 46 mapping (the `idna` package), as browsers resolve names: Python's
    own codec is IDNA 2003, which maps `faß.de` to `fass.de`, a different domain.
    """
    host = parts.hostname  # lower-cased, brackets of an IPv6 literal removed
    if not host:
        raise ValueError(f"URL has no host: {original!r}")
    host = host.rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {original!r}")
    if ":" in host:  # IPv6 literal
        return f"[{host}]"
    if not host.isascii():
        try:
            host = ascii_host(host)
        except ValueError as exc:
            raise ValueError(f"invalid international host in {original!r}: {exc}") from exc
    host = host.lower()
    if not _HOST_RE.fullmatch(host):
        raise ValueError(f"invalid host in {original!r}")
    return host


def _normalized_parts(url: str) -> tuple[str, str, int | None, str, str]:
    """(scheme, host, port, path, query) of `url`, normalised; port None when it is the
    scheme's default. The one normalisation behind `normalize_url` and `canonicalize_url`.
    """
    parts = _split(url)
    host = _canonical_host(parts, url)
    try:
        port = parts.port
    except ValueError as exc:  # non-numeric or out of range
        raise ValueError(f"bad port in {url!r}: {exc}") from exc
    if port == DEFAULT_PORTS[parts.scheme]:
        port = None
    # Credentials are never part of an article's identity and must not be stored.
    path = _remove_dot_segments(_normalize_escapes(parts.path, _PATH_TOKEN_RE)) or "/"
    return parts.scheme, host, port, path, _canonical_query(parts.query)


def _unsplit(scheme: str, host: str, port: int | None, path: str, query: str) -> str:
    return urlunsplit((scheme, host if port is None else f"{host}:{port}", path, query, ""))


def normalize_url(url: str) -> str:
    """Return `url` as it is stored and shown: normalised, with the scheme it was served on.

    Host case and IDN, default port, escapes, dot segments, tracking parameters, query order
    and fragment as in `canonicalize_url`, but ``http`` stays ``http``.

    :param url: an absolute ``http`` or ``https`` URL (surrounding whitespace is ignored).
    :raises ValueError: if the URL is not absolute http(s), has no host, or a bad port.
    """
    return _unsplit(*_normalized_parts(url))


def canonicalize_url(url: str) -> str:
    """Return the dedup key of `url`: its `normalize_url` spelling with the scheme folded.

    ``http`` and ``https`` name one article, so the key is always ``https``, and a port that
    is the default of either scheme is dropped (else ``http://h:443`` would key as
    ``https://h:443/``, which keys again as ``https://h/``).

    :param url: an absolute ``http`` or ``https`` URL (surrounding whitespace is ignored).
    :raises ValueError: if the URL is not absolute http(s), has no host, or a bad port.
    """
    _scheme, host, port, path, query = _normalized_parts(url)
    if port == DEFAULT_PORTS[CANONICAL_SCHEME]:
        port = None
    return _unsplit(CANONICAL_SCHEME, host, port, path, query)


def same_site(url: str, other: str) -> bool:
    """Whether two URLs are on one site: the same host, give or take a ``www.`` or ``m.``.

    A page's rel=canonical on its own site may stand for the page's address; one on another
    site (a syndicated copy naming the original) says which story it is, not where it opens.
    False when either URL is not a valid http(s) URL.
    """
    try:
        return _site_host(url) == _site_host(other)
    except ValueError:
        return False


def _site_host(url: str) -> str:
    host = host_of(url)
    for prefix in _SITE_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            return host[len(prefix):]
    return host


def host_of(url: str) -> str:
    """Return the canonical host of `url` (no port), e.g. to group articles by site.

    :raises ValueError: like `canonicalize_url`.
    """
    parts = _split(url)
    return _canonical_host(parts, url)


# Search-engine article stubs whose id carries the publisher's URL. Google News' older ids
# ("CBMi…") are a protobuf message: field 4 (tag 0x22) holds the URL as a length-prefixed
# string. Newer ids are opaque; for those the stub is fetched and its redirect target or
# rel=canonical tells the publisher URL (see scrapers.pipeline).
_SEARCH_STUB_RE = re.compile(
    r"^https?://news\.google\.com/(?:rss/)?(?:articles|read)/([A-Za-z0-9_-]{8,})", re.I
)


def search_stub_target(url: str) -> str | None:
    """The publisher URL inside a search-feed stub link, if it can be read without fetching."""
    match = _SEARCH_STUB_RE.match(url.strip())
    if not match:
        return None
    token = match.group(1)
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    position = data.find(b"\x22")
    while 0 <= position < len(data) - 2:
        length, start = _varint(data, position + 1)
        candidate = data[start:start + length]
        if length > 10 and candidate.startswith((b"http://", b"https://")):
            try:
                text = candidate.decode("utf-8")
                canonicalize_url(text)
            except (UnicodeDecodeError, ValueError):
                return None
            return text
        position = data.find(b"\x22", position + 1)
    return None


def is_search_stub(url: str) -> bool:
    """Whether `url` is a search engine's article stub, a page that stands for another site's."""
    return _SEARCH_STUB_RE.match(url.strip()) is not None


def _varint(data: bytes, start: int) -> tuple[int, int]:
    """Decode a protobuf varint at `start`; returns (value, index after it)."""
    value = shift = 0
    index = start
    while index < len(data) and shift < 35:
        byte = data[index]
        value |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            break
        shift += 7
    return value, index
