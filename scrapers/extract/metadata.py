"""What a page states about itself: title, authors, dates, language, canonical URL,
section, tags, captions and JSON-LD, read from the parsed tree (:class:`PageMetadata`).
Pure, no I/O."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import XPath
from lxml.html import HtmlElement, fromstring
from trafilatura.json_metadata import normalize_authors

from scrapers.extract.clean import is_paywall, normalize_line
from scrapers.extract.html import block_text
from scrapers.extract.jsonld import article_ld, ld_names, ld_text
from scrapers.text.dates import WITH_TIME, parse_date_precision
from scrapers.text.language import detect_language, normalize_language

LOGGER = logging.getLogger(__name__)

DATE_META_KEYS: tuple[str, ...] = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "cxenseparse:recs:publishtime",  # cXense, common on Japanese news sites
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dc.date",
    "dcterms.issued",
    "dcterms.created",
    "date",
)
AUTHOR_META_KEYS: tuple[str, ...] = (
    "author",
    "article:author",
    "og:article:author",
    "byl",
    "dc.creator",
    "parsely-author",
    "sailthru.author",
)
TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•»]\s+|\s*[｜|]\s*|\s*::\s*")
AUTHOR_SEPARATORS = re.compile(
    r"\s*(?:[;,、/|]|(?<![ァ-ヺー])・(?![ァ-ヺー])|\s+and\s+|\s+&\s+|\s+и\s+|\s+with\s+)\s*",
    re.IGNORECASE,
)
BYLINE_PREFIX = re.compile(
    r"^(?:(?:written |posted |reported |text |words )?by|автор(?:ы)?|текст|文|記者|筆者)"
    r"(?:\s*[:：]\s*|\s+)",
    re.IGNORECASE,
)
TAG_SEPARATORS = re.compile(r"\s*[,;、，]\s*")
#: Figure captions: <figcaption>, or a "caption" class next to an image (not "share-caption").
CAPTION_XPATH = (
    "//figcaption|//*[contains(@class,'caption') and not(contains(@class,'share'))]"
    "[not(ancestor::figcaption)][ancestor::figure or ../img or ../picture or ../*//img]"
)
MAX_BYLINE_CHARS = 80
#: Pages whose markup may hold a byline (class/id names, item properties): only these pay for
#: trafilatura's byline patterns, whose regular expressions are slow on large pages.
BYLINE_NAMES = re.compile(r"author|byline|\bbyl\b|writer|screenname|username|journalist|"
                          r"posted-by|submitted-by|zuozhe|bianji|xiaobian")


#: trafilatura's author patterns (trafilatura.xpaths.AUTHOR_XPATHS), most specific first:
#: (tags, exact attribute values, class pattern, id pattern, itemprop contains "author").
#: Matched in one pass over the elements (`_marked_up_bylines`): three XPath queries would
#: each scan the whole page (docs/extraction.md, "Moved from code comments").
BYLINE_LEVELS: tuple[tuple[frozenset[str] | None, frozenset[tuple[str, str]],
                           re.Pattern[str] | None, re.Pattern[str] | None, bool], ...] = (
    (frozenset("a address div link p span strong".split()),
     frozenset({("rel", "author"), ("id", "author"), ("class", "author"),
                ("itemprop", "author name"), ("data-testid", "AuthorCard"),
                ("data-testid", "AuthorURL")}),
     re.compile("author-?name|AuthorName|authorName"), None, False),
    (frozenset("a div h3 h4 p span".split()),
     frozenset({("class", "byline"), ("class", "username"), ("class", "byl"),
                ("class", "BBL")}),
     re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|"
                "journalist-name"),
     re.compile("author|zuozhe|bianji|xiaobian"), True),
    (None, frozenset(), re.compile("[Aa]uthor|screenname|writer|[Bb]yline"),
     re.compile("[Aa]uthor"), True),
)
BYLINE_MARKUP_ATTRIBUTES = ("class", "id", "itemprop", "rel", "data-testid", "data-component")
BYLINE_ATTRIBUTES = XPath("//*[contains(@itemprop,'author') or contains(@data-component,"
                          "'Byline') or @rel='me'] | //author")
MAX_CAPTION_CHARS = 500

# -- authors ----------------------------------------------------------------------------------
#: Job titles and desks that follow or replace a name in bylines (en, ja, ru).
AUTHOR_ROLE = re.compile(
    r"^(?:(?:[\w.-]+ ){0,2}"  # "Tokyo correspondent", "senior staff writer"
    r"(?:reporter|correspondent|writer|editor|columnist|contributor|analyst|producer"
    r"|bureau chief)s?"
    r"|staff|news desk|wire(?: services?)?|special to .+|for .+|with .+|"
    r"(?:специальный |собственный |собкор )?(?:корреспондент|обозреватель|редактор|журналист)"
    r"|(?:記者|特派員|編集委員|論説委員|支局長|解説委員|ジャーナリスト))$",
    re.IGNORECASE,
)
AUTHOR_ROLE_SUFFIX = re.compile(
    r"\s*(?:[,|–—-]\s*)?(?:記者|特派員|編集委員|論説委員|支局長|解説委員|"
    r"(?:staff |senior )?(?:reporter|correspondent|staff writer|writer|editor|columnist))\s*$",
    re.IGNORECASE,
)
AUTHOR_ROLE_PREFIX = re.compile(
    r"^(?:(?:специальный |собственный )?корреспондент|обозреватель|редактор|"
    r"(?:staff |senior )?(?:reporter|correspondent|writer|editor))\s*[:：]?\s+",
    re.IGNORECASE,
)
#: Markup inside a JSON-LD text value.
HTML_IN_TEXT = re.compile(r"</?(?:p|br|div|h[1-6]|ul|ol|li|blockquote|strong|em|a)\b[^>]*>", re.I)
ELEMENT_NAMES = XPath("//body//@class|//body//@id", smart_strings=False)
#: Class/id words of paywall and registration-wall elements (lower case).
PAYWALL_CLASS_WORDS: tuple[str, ...] = (
    "paywall",
    "premium",
    "subscriber",
    "regwall",
    "meterwall",
    "meter-wall",
    "piano",
)
MAX_PAYWALL_NOTICE_CHARS = 2000
#: Links outside page chrome whose text reads like a headline (listing detection).
CHROME_ANCESTORS = "ancestor::nav or ancestor::footer or ancestor::header or ancestor::aside"
MIN_HEADLINE_CHARS_CJK = 10


class PageMetadata:
    """Metadata a page states about itself, read from one parsed tree.

    The tree is scanned once for ``<meta>``, ``<link>`` and JSON-LD; the accessors then pick
    from those in order of reliability.
    """

    def __init__(self, tree: HtmlElement, url: str) -> None:
        self.tree = tree
        self.url = url
        self._element_names: str | None = None
        self.meta: dict[str, list[str]] = {}
        self.links: list[HtmlElement] = []
        self.base_url = url
        ld_scripts: list[str] = []
        for element in tree.iter("meta", "link", "script", "base"):
            tag = element.tag
            if tag == "meta":
                content = element.get("content")
                if content is None or not content.strip():
                    continue
                for attr in ("property", "name", "itemprop", "http-equiv"):
                    key = element.get(attr)
                    if key:
                        self.meta.setdefault(key.strip().lower(), []).append(content.strip())
            elif tag == "link":
                self.links.append(element)
            elif tag == "script":
                if (element.get("type") or "").strip().lower() == "application/ld+json":
                    ld_scripts.append(element.text or "")
            elif tag == "base" and element.get("href"):
                self.base_url = _resolve(url, element.get("href", "").strip()) or url
        self.ld, self.ld_is_article = article_ld(ld_scripts)
        # paywall statements sit in the article node or in its hasPart (schema.org WebPageElement)
        parts = self.ld_value("hasPart")
        self.ld_parts: list[dict[str, Any]] = [
            p for p in (parts if isinstance(parts, list) else [parts]) if isinstance(p, dict)
        ]

    # -- helpers --
    def first_meta(self, *keys: str) -> str | None:
        """The first non-empty content among meta tags named/propertied ``keys``, in order."""
        for key in keys:
            for value in self.meta.get(key, ()):
                text = normalize_line(value)
                if text:
                    return text
        return None

    def ld_value(self, key: str) -> Any:
        return self.ld.get(key) if self.ld else None

    # -- fields --
    def canonical_url(self) -> str | None:
        """``<link rel=canonical>`` resolved against the page URL; None if not http(s)."""
        for link in self.links:
            rel = (link.get("rel") or "").lower().split()
            href = (link.get("href") or "").strip()
            if "canonical" in rel and href:
                return _resolve(self.base_url, href)
        return None

    def site_name(self) -> str | None:
        name = self.first_meta("og:site_name", "application-name")
        if name:
            return name
        publisher = self.ld_value("publisher")
        names = list(ld_names(publisher))
        return names[0] if names else None

    def title(self, site_name: str | None) -> str:
        """og:title, then JSON-LD headline, then ``<title>`` (or the h1 it starts with).

        The JSON-LD headline counts only when the page shows it (in ``<title>`` or the first
        h1) or shows neither: some sites put a tagline there (Wikipedia: the short
        description), which no reader would call the title.
        """
        h1 = self._first_text("h1")
        page_title = self._first_text("title")
        headline = ld_text(self.ld_value("headline"))
        if headline and (page_title or h1):
            shown = f"{page_title or ''}\n{h1 or ''}".casefold()
            if normalize_line(headline).casefold() not in shown:
                headline = None
        candidates: list[str | None] = [
            self.first_meta("og:title", "twitter:title"),
            headline,
        ]
        if page_title and h1 and page_title.startswith(h1):
            # "<h1> | Some Site": the h1 is the title without the (unnamed) site suffix
            if TITLE_SEPARATORS.match(page_title, len(h1)):
                candidates.append(h1)
        candidates.extend([page_title, h1])
        for candidate in candidates:
            if candidate:
                return _strip_site_name(normalize_line(candidate), site_name)
        return ""

    def authors(self) -> list[str]:
        """JSON-LD author names, else meta author tags, else a rel=author or byline element.

        Names are cleaned: "By" and job titles ("Staff Writer", "記者", "корреспондент") are
        dropped, an outlet named as author is kept; lists are split on commas, "and", "и",
        "・" between kanji names (not inside katakana names) and similar separators.
        """
        names: list[str] = []
        for name in ld_names(self.ld_value("author")):
            names.extend(_split_names(name))
        if not names:
            for key in AUTHOR_META_KEYS:
                for value in self.meta.get(key, ()):
                    names.extend(_split_names(value))
        if not names:
            names = self._byline_names()
        if not names and (BYLINE_NAMES.search(self.element_names())
                          or BYLINE_ATTRIBUTES(self.tree)):
            names = _marked_up_bylines(self.tree)
        return _unique(n for n in (_clean_author(n) for n in names) if n)

    def published(self, naive_zone: tzinfo = UTC) -> tuple[datetime | None, str]:
        """The stated publication time and its precision (``datetime``/``zone_assumed``/
        ``date``/``none``); a time without an offset is read in `naive_zone`.

        The first candidate that parses wins, except that a day-only value gives way to a
        later candidate with a time on that same day (pages often put the day in one tag and
        the full timestamp in another).
        """
        found: tuple[datetime, str] | None = None
        for value in self._date_candidates():
            parsed = parse_date_precision(value, naive_zone=naive_zone)
            if parsed is None:
                continue
            if found is None:
                found = parsed
                if parsed[1] in WITH_TIME:
                    break
            elif parsed[1] in WITH_TIME and parsed[0].date() == found[0].date():
                found = parsed
                break
        if found is None:
            return None, "none"
        return found

    def published_at(self) -> datetime | None:
        return self.published()[0]

    def declares_article(self) -> bool:
        """True if the page says it is an article (JSON-LD article type or og:type)."""
        if self.ld is not None and self.ld_is_article:
            return True
        og_type = (self.first_meta("og:type") or "").casefold()
        return og_type == "article" or og_type.startswith("article")

    def paywall_marked(self) -> bool:
        """True if the page states a paywall: JSON-LD ``isAccessibleForFree`` false, or an
        element classed as a paywall (``paywall``, ``premium``, ``regwall``, ...) whose text
        says so in words (a class name alone is not enough: "premium" is also an ad slot)."""
        for node in (self.ld, *self.ld_parts):
            if node is None:
                continue
            free = node.get("isAccessibleForFree")
            if free is False or (isinstance(free, str) and free.strip().lower() == "false"):
                return True
        # one pass over attribute values first: most pages have no such class at all
        names = self.element_names()
        for word in PAYWALL_CLASS_WORDS:
            if word not in names:
                continue
            xpath = f"//body//*[contains(@class,'{word}') or contains(@id,'{word}')]"
            for element in self.tree.xpath(xpath):
                text = element.text_content()
                if len(text) > MAX_PAYWALL_NOTICE_CHARS:
                    continue  # a container holding the article, not the notice itself
                if any(is_paywall(normalize_line(line)) for line in text.splitlines()):
                    return True
        return False

    def headline_links(self) -> set[str]:
        """Link texts outside page chrome (nav/header/footer/aside): candidate headlines."""
        texts = set()
        for link in self.tree.xpath(f"//body//a[@href][not({CHROME_ANCESTORS})]"):
            text = normalize_line(link.text_content())
            if len(text) >= MIN_HEADLINE_CHARS_CJK:
                texts.add(text)
        return texts

    def language(self, text: str) -> str | None:
        """The declared language, else the script of the text.

        A declared ``en`` is overridden by Japanese or Cyrillic text: templates often keep an
        English default in ``<html lang>``.
        """
        declared = (
            normalize_language(self.tree.get("lang"))
            or normalize_language(self.tree.get("{http://www.w3.org/XML/1998/namespace}lang"))
            or normalize_language(self.first_meta("content-language", "language"))
            or normalize_language(self.first_meta("og:locale"))
            or normalize_language(ld_text(self.ld_value("inLanguage")))
        )
        detected = detect_language(text)
        if declared is None or (declared == "en" and detected in ("ja", "ru")):
            return detected
        return declared

    def summary(self) -> str:
        return self.first_meta(
            "og:description", "description", "twitter:description"
        ) or normalize_line(ld_text(self.ld_value("description")) or "")

    def tags(self) -> list[str]:
        """meta keywords and article:tag, then JSON-LD keywords and articleSection."""
        tags: list[str] = []
        for value in self.meta.get("keywords", []) + self.meta.get("news_keywords", []):
            tags.extend(TAG_SEPARATORS.split(value))
        tags.extend(self.meta.get("article:tag", ()))
        tags.extend(self.meta.get("article:section", ()))
        for key in ("keywords", "articleSection"):
            value = self.ld_value(key)
            if isinstance(value, str):
                tags.extend(TAG_SEPARATORS.split(value))
            elif isinstance(value, list):
                tags.extend(v for v in value if isinstance(v, str))
        return _unique(normalize_line(t) for t in tags)

    def captions(self) -> list[str]:
        """Texts the page marks up as figure captions, to recognise them in the body."""
        found = []
        # the class test walks every element: only on pages that name a caption class
        if "caption" in self.element_names():
            elements = self.tree.xpath(CAPTION_XPATH)
        else:
            elements = list(self.tree.iter("figcaption"))
        for element in elements:
            text = normalize_line(element.text_content())
            if text and len(text) <= MAX_CAPTION_CHARS:
                found.append(text)
        return found

    def ld_body(self) -> str:
        """The JSON-LD ``articleBody``, one paragraph per line ("" if the page gives none).

        Some CMSs put HTML in it: then it is read as HTML, one line per block.
        """
        value = self.ld_value("articleBody")
        if isinstance(value, list):
            value = "\n".join(v for v in value if isinstance(v, str))
        if not isinstance(value, str) or not value.strip():
            return ""
        if HTML_IN_TEXT.search(value):
            try:
                return block_text(fromstring(f"<div>{value}</div>"))
            except (ValueError, TypeError):  # lxml refuses some fragments; read it as text
                LOGGER.debug("articleBody is not parseable HTML")
        return value

    def element_names(self) -> str:
        """The class and id values of the body's elements, lower case, space-joined (cached):
        one pass to tell whether any element is named e.g. "paywall" or "cookie"."""
        if self._element_names is None:
            self._element_names = " ".join(ELEMENT_NAMES(self.tree)).lower()
        return self._element_names

    # -- internals --
    def _first_text(self, tag: str) -> str | None:
        for element in self.tree.iter(tag):
            text = normalize_line(element.text_content())
            if text:
                return text
        return None

    def _date_candidates(self) -> Iterator[str]:
        ld_date = ld_text(self.ld_value("datePublished"))
        if ld_date:
            yield ld_date
        for key in DATE_META_KEYS:
            yield from self.meta.get(key, ())
        for element in self.tree.xpath(
            "//time[@itemprop='datePublished' or @pubdate]|//*[@itemprop='datePublished']"
        ):
            value = element.get("datetime") or element.get("content")
            if value:
                yield value

    def _byline_names(self) -> list[str]:
        names = []
        for element in self.tree.xpath(
            "//*[@rel='author']|//*[contains(concat(' ',normalize-space(@class),' '),' byline ')]"
        ):
            text = normalize_line(element.text_content())
            if text and len(text) <= MAX_BYLINE_CHARS and not any(c.isdigit() for c in text):
                names.extend(_split_names(text))
        return names


def drop_author_lines(paragraphs: list[str], authors: list[str]) -> list[str]:
    """Paragraphs near the top or at the end that only name the page's authors ("By Anna
    Severova", "Hazel Sheffield") are a byline the markup kept, not article text."""
    if not authors:
        return paragraphs
    known = {a.casefold() for a in authors}

    def names_only_authors(paragraph: str) -> bool:
        if len(paragraph) > MAX_BYLINE_CHARS:
            return False
        names = [n.casefold() for n in map(_clean_author, _split_names(paragraph)) if n]
        return bool(names) and set(names) <= known

    last = len(paragraphs) - 1
    return [p for i, p in enumerate(paragraphs)
            if not ((i < 3 or i == last) and names_only_authors(p))]


def _marked_up_bylines(tree: HtmlElement) -> list[str]:
    """Names in byline markup the page does not state as metadata: trafilatura's author
    patterns (`BYLINE_LEVELS`: ``itemprop=author``, ``class*=author/byline``, ...), the most
    specific pattern first, each taking its first usable match in document order (an
    article's byline comes before any comment section's).
    """
    found: list[str | None] = [None] * len(BYLINE_LEVELS)
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        values = {a: v for a in BYLINE_MARKUP_ATTRIBUTES if (v := element.get(a)) is not None}
        if not values and tag != "author":
            continue
        for level, (tags, exact, classes, ids, itemprop) in enumerate(BYLINE_LEVELS):
            if found[level] is not None or (tags is not None and tag not in tags):
                continue
            if (any((a, v) in exact for a, v in values.items())
                    or (classes is not None and classes.search(values.get("class", "")))
                    or (ids is not None and ids.search(values.get("id", "")))
                    or (itemprop and "author" in values.get("itemprop", ""))
                    or (level == 0 and tag == "author")
                    or (level == 2 and "Byline" in values.get("data-component", ""))):
                content = " ".join(" ".join(element.itertext()).split())
                if 2 < len(content) < 120:
                    found[level] = content
        if found[0] is not None:
            break
    best = next((f for f in found if f is not None), None)
    if best is None:
        return []
    return [n for part in (normalize_authors(None, best) or "").split(";")
            for n in _split_names(part)]


def _resolve(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``; None unless it is a well-formed http(s) URL."""
    try:
        resolved = urljoin(base, href)
        parts = urlsplit(resolved)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return resolved if parts.scheme in ("http", "https") and parts.netloc else None


def _split_names(value: str) -> list[str]:
    """A byline split into names; a URL (profile link) is returned whole, to be dropped."""
    if "://" in value or value.strip().startswith("www."):
        return [value]
    return AUTHOR_SEPARATORS.split(BYLINE_PREFIX.sub("", normalize_line(value)))


def _clean_author(name: str) -> str | None:
    """A person's name out of a byline fragment, or None for roles, URLs and noise."""
    name = normalize_line(BYLINE_PREFIX.sub("", normalize_line(name)))
    if AUTHOR_ROLE.match(name):
        return None
    name = AUTHOR_ROLE_PREFIX.sub("", name)
    name = AUTHOR_ROLE_SUFFIX.sub("", name).strip(" ,;:|-–—")
    if not name or "://" in name or name.startswith("www.") or len(name) > MAX_BYLINE_CHARS:
        return None
    if "@" in name or AUTHOR_ROLE.match(name) or not any(c.isalpha() for c in name):
        return None
    return name


def _strip_site_name(title: str, site_name: str | None) -> str:
    """Drop a leading or trailing "| Site" (or "| Site Section") from a title."""
    if not site_name:
        return title
    parts = TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if _names_site(parts[-1], site_name):
        return title[: title.rfind(parts[-1])].rstrip(" |-–—:·•»｜").strip() or title
    if _names_site(parts[0], site_name):
        return title[len(parts[0]) :].lstrip(" |-–—:·•»｜").strip() or title
    return title


def _names_site(part: str, site_name: str) -> bool:
    """True for "CNN" or a section of it ("CNN Politics") when the site is "CNN"."""
    part, site = part.casefold().strip(), site_name.casefold().strip()
    return part == site or part.startswith(site + " ")


def _unique(values: Iterable[str]) -> list[str]:
    """Non-empty values in first-seen order, compared case-insensitively."""
    seen: set[str] = set()
    out = []
    for value in values:
        key = value.casefold()
        if value and key not in seen:
            seen.add(key)
            out.append(value)
    return out
