"""Publisher sitemaps, the pure part: what a sitemap says about a site's past articles.

A feed shows the last few dozen items; a publisher's sitemap lists its past articles, often
with the day they changed (`<lastmod>`) and, in a Google News sitemap, their headline and
publication time. That is how a new deployment finds history (issue 23). No I/O here:
`discover` walks a site's sitemaps through a fetch function the caller gives, so every
request keeps the same politeness and limits as any other.

Formats read (matched by local name, so a missing or odd namespace does not lose them):

- the sitemaps.org protocol 0.9: `<urlset>` of `<url>` (`<loc>`, `<lastmod>`) and
  `<sitemapindex>` of `<sitemap>` (`<loc>`, `<lastmod>`);
- Google News sitemaps: `<news:news>` in a `<url>`, with `<news:publication_date>`,
  `<news:title>` and `<news:publication><news:language>`;
- either one gzipped (a `.xml.gz` file, or a body that starts with gzip's magic bytes).

Bounds, because a sitemap is input from a site we do not control: the protocol's own limits
(50,000 URLs, 50 MB uncompressed) are the caps; gzip is inflated in steps that stop at the
cap, so a gzip bomb costs the cap, not its expansion; the XML parser resolves no entity,
loads no DTD and reaches no network, and elements are dropped as soon as they are read.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from lxml import etree

from scrapers.fetch.http import decoded
from scrapers.text.dates import parse_date

#: The protocol's limits for one sitemap file (sitemaps.org): the caps we read up to.
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """The document is not a sitemap we can read: not XML, neither a urlset nor an index,
    or larger than the protocol allows."""


@dataclass(frozen=True)
class SitemapEntry:
    """One `<url>` of a urlset, or one `<sitemap>` of an index."""

    loc: str
    lastmod: datetime | None = None  # aware UTC
    news_title: str | None = None
    news_published_at: datetime | None = None  # aware UTC
    news_language: str | None = None

    @property
    def dated(self) -> datetime | None:
        """The best date the sitemap gives: the news publication time, else lastmod."""
        return self.news_published_at or self.lastmod


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: ``kind`` is "urlset" (articles) or "index" (more sitemaps)."""

    kind: str
    entries: list[SitemapEntry]
    #: Entries left out, with why: ("not_http", loc), ("over_max_urls", ""), ...
    skipped: list[tuple[str, str]] = field(default_factory=list)


def inflate(data: bytes, limit: int = MAX_BYTES) -> bytes:
    """`data` itself, or its gzip content when it starts with gzip's magic bytes, inflated
    in steps that stop at `limit` bytes.

    :raises SitemapError: the content is larger than `limit`, or the gzip data is broken.
    """
    if not data.startswith(_GZIP_MAGIC):
        if len(data) > limit:
            raise SitemapError(f"sitemap larger than {limit} bytes")
        return data
    out = io.BytesIO()
    try:
        for piece in decoded([data], "gzip"):  # the fetcher's bounded inflater
            out.write(piece)
            if out.tell() > limit:
                raise SitemapError(f"gzipped sitemap inflates past {limit} bytes")
    except zlib.error as exc:
        raise SitemapError(f"broken gzip data: {exc}") from exc
    return out.getvalue()


def parse_sitemap(data: bytes, url: str, *, max_urls: int = MAX_URLS,
                  limit: int = MAX_BYTES, naive_zone: tzinfo = UTC) -> Sitemap:
    """Read a sitemap or sitemap index (gzipped or not).

    :param url: where it came from: relative `<loc>`s resolve against it.
    :param naive_zone: the zone a `<lastmod>` or publication time without an offset is in.
    :raises SitemapError: not XML, neither a urlset nor an index, or over `limit` bytes.
    """
    text = inflate(data, limit)
    parser_args = {"resolve_entities": False, "no_network": True, "load_dtd": False,
                   "huge_tree": False, "recover": False}
    kind: str | None = None
    entries: list[SitemapEntry] = []
    skipped: list[tuple[str, str]] = []
    try:
        for event, element in etree.iterparse(io.BytesIO(text), events=("start", "end"),
                                              **parser_args):
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if event == "start":
                if kind is None:
                    if name not in ("urlset", "sitemapindex"):
                        raise SitemapError(f"not a sitemap at {url}: root <{name}>")
                    kind = "urlset" if name == "urlset" else "index"
                continue
            if name not in ("url", "sitemap"):
                continue
            if len(entries) >= max_urls:
                skipped.append(("over_max_urls", ""))
            else:
                entry, reason = _entry(element, url, naive_zone)
                if entry is None:
                    skipped.append((reason, _text(element, "loc") or ""))
                else:
                    entries.append(entry)
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        if kind is None:
            raise SitemapError(f"not XML at {url}: {exc}") from exc
        skipped.append(("malformed", str(exc)[:200]))  # the entries before the break stay
    assert kind is not None  # lxml raised before any element otherwise
    return Sitemap(kind, entries, skipped)


def robots_sitemaps(robots_txt: str, base_url: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt, as absolute URLs, in order, once each."""
    from protego import Protego

    return absolute_sitemaps(Protego.parse(robots_txt).sitemaps, base_url)


def absolute_sitemaps(values: Iterable[str], base_url: str) -> list[str]:
    """Sitemap locations as absolute http(s) URLs, in order, once each."""
    seen: dict[str, None] = {}
    for value in values:
        absolute = urljoin(base_url, value.strip())
        if urlsplit(absolute).scheme in ("http", "https"):
            seen.setdefault(absolute, None)
    return list(seen)


def within(entries: Iterable[SitemapEntry], start: datetime, end: datetime,
           undated: bool = False) -> list[SitemapEntry]:
    """The entries dated in [start, end) (aware datetimes); undated ones only if asked."""
    return [e for e in entries
            if (e.dated is None and undated) or (e.dated is not None and start <= e.dated < end)]


def _entry(element: etree._Element, base_url: str,
           naive_zone: tzinfo) -> tuple[SitemapEntry | None, str]:
    loc = _text(element, "loc")
    if not loc:
        return None, "no_loc"
    absolute = urljoin(base_url, loc)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None, "not_http"
    news = _child(element, "news")
    title = published = language = None
    if news is not None:
        title = _text(news, "title")
        published = _date(_text(news, "publication_date"), naive_zone)
        publication = _child(news, "publication")
        language = _text(publication, "language") if publication is not None else None
    return SitemapEntry(absolute, _date(_text(element, "lastmod"), naive_zone), title,
                        published, language.lower() if language else None), ""


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child
    return None


def _text(element: etree._Element, name: str) -> str | None:
    child = _child(element, name)
    value = (child.text or "").strip() if child is not None else ""
    return " ".join(value.split()) or None


def _date(value: str | None, naive_zone: tzinfo) -> datetime | None:
    return parse_date(value, naive_zone=naive_zone) if value else None


#: Where a site's sitemaps usually are when robots.txt names none.
USUAL_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml", "/sitemap-news.xml")
#: Sitemap files one discovery reads at most (an index of indexes can name thousands).
MAX_SITEMAPS = 200


@dataclass
class Discovery:
    """What `discover` found: the dated entries in range, and what it read or refused."""

    entries: list[SitemapEntry] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    #: (sitemap URL, why): unreachable, not a sitemap, a loop, over the bound, ...
    problems: list[tuple[str, str]] = field(default_factory=list)


def discover(site_url: str, fetch: Callable[[str], bytes | None], start: datetime,
             end: datetime, *, roots: Sequence[str] = (), undated: bool = False,
             max_sitemaps: int = MAX_SITEMAPS, naive_zone: tzinfo = UTC) -> Discovery:
    """The site's article URLs dated in [start, end), from its sitemaps.

    The sitemaps are `roots` (robots.txt's `Sitemap:` lines: `robots_sitemaps`), else the
    usual paths. Indexes are
    followed, each sitemap read once (an index that names itself or an ancestor is a
    loop, reported and not followed), at most `max_sitemaps` files; a child whose
    `<lastmod>` is before `start` is skipped (nothing in it changed since). An entry on
    another host than the sitemap's is left out, as the protocol says.

    :param fetch: the body at a URL, or None when it is missing (404, refused by robots);
        it may raise: the sitemap is then reported and the walk goes on.
    """
    found = Discovery()
    guesses = [] if roots else [urljoin(site_url, path) for path in USUAL_PATHS]
    queue = list(roots) or list(guesses)
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            found.problems.append((url, "already read (a loop or a repeat)"))
            continue
        if len(found.read) >= max_sitemaps:
            found.problems.append((url, f"over {max_sitemaps} sitemaps"))
            continue
        seen.add(url)
        try:
            body = fetch(url)
            if body is None:
                if url not in guesses:  # a usual path that is not there is no problem
                    found.problems.append((url, "missing"))
                continue
            sitemap = parse_sitemap(body, url, naive_zone=naive_zone)
        except Exception as exc:  # one bad sitemap must not cost the site its others
            found.problems.append((url, f"{type(exc).__name__}: {exc}"))
            continue
        found.read.append(url)
        host = urlsplit(url).hostname
        if sitemap.kind == "index":
            queue += [e.loc for e in sitemap.entries
                      if e.lastmod is None or e.lastmod >= start]
        else:
            found.entries += [e for e in within(sitemap.entries, start, end, undated)
                              if urlsplit(e.loc).hostname == host]
    return found
