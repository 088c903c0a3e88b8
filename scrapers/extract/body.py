"""Turn one article page into an :class:`~scrapers.models.Article`.

Main text comes from trafilatura, which is good at finding the article body; metadata comes
from what the page states explicitly (``<link rel=canonical>``, Open Graph and article meta tags,
JSON-LD ``NewsArticle``), read from the same lxml tree, so the page is parsed once (trafilatura
works on its own copy of that tree, not a second parse).

Two measured choices (130 readability test pages, token F1 against the reference text):
trafilatura's default balanced mode beats ``favor_precision`` (0.921 vs 0.908), and its own
metadata pass is skipped: it costs ~60% on top of text extraction and guesses dates from page
text, where we want only what the page declares.

The text is then cleaned (:mod:`scrapers.extract.clean`): interface text, bylines and photo captions
leave the body; captions are returned apart, once each. The cleaned paragraphs are checked
against the page (:mod:`scrapers.extract.fusion`): repeated paragraphs the extractor collapsed come
back, teasers of other stories and final link lists leave, a lost standfirst returns. Pages
that ship the article as JSON-LD ``articleBody`` and show little of it get that body.

Pure function, no I/O.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.etree import XPath
from lxml.html import HtmlElement, fromstring, tostring
from trafilatura.json_metadata import normalize_authors
from trafilatura.readability_lxml import Document as ReadabilityDocument
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from scrapers.extract.adapters import adapter_blocks, adapter_for
from scrapers.extract.clean import CleanedText, clean_text, is_paywall, normalize_line
from scrapers.extract.fusion import (
    drop_teasers,
    drop_trailing_links,
    restore_repeats,
    restore_standfirst,
)
from scrapers.models import Article
from scrapers.text.encoding import decode_html

LOGGER = logging.getLogger(__name__)


class ExtractionError(ValueError):
    """The input is empty or is not an HTML document at all."""


# -- input checks -----------------------------------------------------------------------------
#: Some tag an HTML document or fragment cannot do without.
HTML_MARKUP = re.compile(
    r"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article|main|section|span|h[1-6]|a"
    r"|br|table|ul|ol|script|link|header|footer|nav)\b",
    re.IGNORECASE,
)
#: Magic numbers of binary formats servers send in place of a page.
BINARY_SIGNATURES: tuple[bytes, ...] = (
    b"%PDF-",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"ID3",
    b"OggS",
    b"\x00\x00\x00",
)
#: MIME types that may carry HTML (octet-stream: servers that do not know; the body decides).
#: A body declared as anything else (PDF, image, JSON, ...) is refused.
HTML_MIME = re.compile(
    r"^\s*(?:text/[\w.+-]+|[\w.+-]+/(?:[\w.+-]*\+)?(?:x?html|xml)\b|[\w-]+/octet-stream\b)",
    re.IGNORECASE,
)

# -- metadata ---------------------------------------------------------------------------------
ARTICLE_LD_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
        "socialmediaposting",
    }
)
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
SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})")
SPACE_BEFORE_OFFSET = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2}|Z)$")
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
#: Matched in one pass over the elements (`_marked_up_bylines`): as three XPath queries they
#: cost 2 ms apiece on a large page.
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
#: How deep JSON-LD lists, ``@graph`` and ``mainEntity`` are searched for article nodes.
MAX_LD_DEPTH = 8
#: What pages wrap JSON-LD in for old parsers: an HTML comment or a CDATA section, each
#: marker possibly behind a JavaScript line comment (``//<![CDATA[`` ... ``//]]>``). Anchored
#: at the ends (`_unwrap_ld`): a script can be large, so no pattern scans all of it.
LD_OPENERS = re.compile(r"(?://\s*)?(?:<!--|<!\[CDATA\[)")
LD_CLOSERS = re.compile(r"(?://\s*)?(?:-->|\]\]>)$")
MAX_CAPTION_CHARS = 500
MIN_YEAR, MAX_YEAR = 1990, 2100

# -- main text and page kind ------------------------------------------------------------------
#: Below this many characters of trafilatura text, a readability-style candidate is tried too.
FALLBACK_BELOW_CHARS = 250
#: trafilatura runs first in its fast mode (its own extractor only). When that text looks
#: incomplete (under this share of the page's paragraph text, or short), it runs again in
#: full mode, which also weighs its readability and jusText ports against its own result:
#: about twice the time, spent on the pages that need a second opinion.
FAST_MIN_SHARE = 0.5
FULL_MODE_BELOW_CHARS = 2 * FALLBACK_BELOW_CHARS
#: ``hidden`` attributes and styles that may hide (attributes: one cheap pass over the tree).
HIDDEN_ATTRIBUTES = XPath(
    "//body//@hidden|//body//@style[contains(., 'none') or contains(., 'hidden')]"
)
HIDDEN_STYLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.IGNORECASE)
#: Tables whose link text makes up this share of their text are menus.
MAX_TABLE_LINK_SHARE = 0.5
#: Bodies shorter than this are marked truncated (teasers, stubs); CJK text is denser.
MIN_COMPLETE_CHARS = 300
MIN_COMPLETE_CHARS_CJK = 150
CJK_LANGUAGES = frozenset({"ja", "zh", "ko"})
#: A JSON-LD ``articleBody`` replaces the text extracted from the HTML when that text is
#: less than this share of it and the body is at least `MIN_LD_BODY_CHARS` long: pages
#: rendered by script ship the article as data and show little of it in the HTML.
MAX_HTML_SHARE_OF_LD_BODY = 0.5
MIN_LD_BODY_CHARS = 500
#: Markup inside a JSON-LD text value.
HTML_IN_TEXT = re.compile(r"</?(?:p|br|div|h[1-6]|ul|ol|li|blockquote|strong|em|a)\b[^>]*>", re.I)
#: Forms with a control a reader uses (sign-up, search and comment boxes) ...
FORM_CONTROLS = ("input", "button", "select", "textarea")
ELEMENT_NAMES = XPath("//body//@class|//body//@id", smart_strings=False)
#: ... and consent and newsletter boxes (by class/id), dropped under this many characters.
WIDGET_WORDS: tuple[str, ...] = ("cookie", "consent", "gdpr", "newsletter")


def _widget_boxes(words: tuple[str, ...]) -> XPath:
    return XPath("//body//*[" + " or ".join(
        f"contains(@class,'{w}') or contains(@id,'{w}')" for w in words) + "]")


WIDGET_BOXES = _widget_boxes(WIDGET_WORDS)
#: One query per word, for pages whose class/id names show which words to look for (each
#: contains() test is a pass over the page's elements).
WIDGET_BOXES_BY_WORD = {w: _widget_boxes((w,)) for w in WIDGET_WORDS}
WIDGET_NAMES = re.compile(r"(?<![a-z])(?:" + "|".join(WIDGET_WORDS) + ")", re.IGNORECASE)
MAX_WIDGET_CHARS = 1000
#: MathML: TeX source trafilatura keeps, and the text of a formula without it.
MATH_TEX_ANNOTATION = XPath('.//*[local-name()="annotation"][@encoding="application/x-tex"]')
MATH_TEXT = XPath(
    './/text()[not(ancestor::*[local-name()="annotation" or local-name()="annotation-xml"])]',
    smart_strings=False,
)
#: Lists inside table cells (outermost ones).
LISTS_IN_CELLS = XPath(
    "//body//*[self::ul or self::ol][ancestor::td or ancestor::th]"
    "[not(ancestor::ul or ancestor::ol)]"
)
#: Tables holding tables: page grids, not data.
LAYOUT_TABLES = XPath("//table[.//table]")
#: A line break of the HTML source, with the indentation around it.
SOURCE_NEWLINE = re.compile(r"\s*\n\s*")
BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header li main nav ol p pre section table tr ul".split()
)
#: Elements whose class/id names a paywall or registration wall.
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
#: An index page links this many headlines ...
MIN_LISTING_HEADLINES = 8
#: ... and this many (and this share) of the body's paragraphs are headline links.
MIN_LISTING_HEADLINES_IN_BODY = 5
MIN_LISTING_LINKED_SHARE = 0.4
#: ... or the body is short teasers, about one per headline.
MIN_LISTING_TEASER_SHARE = 0.6
MAX_TEASER_CHARS, MAX_TEASER_CHARS_CJK = 200, 100
#: ... and no more teaser text than this many times the headline text.
MAX_LISTING_BODY_RATIO = 3.0

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
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# -- language ---------------------------------------------------------------------------------
LANGUAGE_CODE = re.compile(r"^([a-z]{2,3})(?:[-_].*)?$")
THREE_LETTER_LANGUAGES = {"jpn": "ja", "rus": "ru", "eng": "en"}
KANA_CHARS = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
HAN_CHARS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CYRILLIC_CHARS = re.compile(r"[\u0400-\u04ff]")
LATIN_CHARS = re.compile(r"[A-Za-z\u00c0-\u024f]")
LANGUAGE_SAMPLE_CHARS = 3000
#: Han characters with no kana among this many are Chinese: Japanese prose always has kana.
MIN_HAN_FOR_CHINESE = 50


def extract_article(
    html: str | bytes, url: str, content_type: str | None = None, *, use_adapters: bool = True
) -> Article:
    """Extract text and stated metadata from an article page.

    ``published_at`` is the publication time the page states (JSON-LD ``datePublished``, then
    ``article:published_time`` and similar meta tags), ISO 8601 or RFC 2822, converted to UTC
    from the offset the page gives. ``published_precision`` says how much of it is stated:
    ``"datetime"``; ``"date"`` when the page gives a day only (``published_at`` is then 00:00
    UTC of that day, a day and not an instant); ``"none"`` when no date is stated
    (``published_at`` is None). A time without an offset is taken as UTC.

    Hard pages are marked, not refused: ``paywalled`` when the page states a paywall (a
    subscribers-only notice in the text or in a paywall-classed element, or JSON-LD
    ``isAccessibleForFree`` false: metered sites say so on complete articles too);
    ``truncated`` when the text we have is not the whole article: shorter than 300 characters
    (150 for Chinese/Japanese/Korean), ending on a "continue reading" link, or cut by a
    subscribers-only notice inside the text; ``page_kind="listing"`` for index pages.

    ``text`` comes from the HTML, or from the page's JSON-LD ``articleBody`` when the HTML shows
    less than half of it (pages rendered by script); see :func:`prefer_ld_body`.

    :param html: the page, as received bytes (decoded with :func:`decode_html`) or text.
    :param url: the URL the page was fetched from; relative links resolve against it.
    :param content_type: the HTTP ``Content-Type`` header, used for the charset and to refuse
        bodies that are not HTML.
    :param use_adapters: read the body with the outlet's site adapter when it has one
        (:mod:`scrapers.extract.adapters`); False gives the generic path, to measure an
        adapter's gain.
    :raises ExtractionError: the input is empty or not HTML at all. A page that is HTML but has
        no article text gives an Article with ``text == ""``.
    """
    tree = parse_html(html, content_type)
    meta = PageMetadata(tree, url)
    site_name = meta.site_name()
    title = meta.title(site_name)
    captions = meta.captions()
    # read before main_text changes the tree; only needed for pages that may be listings
    headlines = set() if meta.declares_article() else meta.headline_links()
    paywall_marked = meta.paywall_marked()

    adapter = adapter_for(url) if use_adapters else None
    blocks = adapter_blocks(adapter, tostring(tree, encoding="unicode")) if adapter else []
    if blocks:  # the outlet's adapter found its article; the generic cleaning still applies
        cleaned = clean_text("\n".join(blocks), title=title, site_name=site_name,
                             known_captions=captions)
    else:
        raw_text = main_text(tree, url, meta.element_names())
        cleaned = clean_text(raw_text, title=title, site_name=site_name,
                             known_captions=captions)
        paragraphs = restore_repeats(tree, cleaned.paragraphs)
        paragraphs = drop_trailing_links(tree, drop_teasers(tree, paragraphs))
        paragraphs = restore_standfirst(tree, paragraphs, meta.summary())
        if paragraphs != cleaned.paragraphs:
            cleaned = replace(cleaned, paragraphs=paragraphs)
    from_html = cleaned
    cleaned = prefer_ld_body(cleaned, meta.ld_body(), title, site_name, captions)
    text = cleaned.text
    language = meta.language(f"{title}\n{text}")
    published_at, precision = meta.published()
    paywalled = paywall_marked or cleaned.paywalled or from_html.paywalled
    canonical_url, summary, tags = meta.canonical_url(), meta.summary(), meta.tags()
    kind = page_kind(meta, cleaned, headlines, language)
    authors = meta.authors()
    text = "\n\n".join(drop_author_lines(list(cleaned.paragraphs), authors))
    return Article(
        url=url,
        title=title,
        text=text,
        authors=authors,
        published_at=published_at,
        language=language,
        canonical_url=canonical_url,
        summary=summary,
        site_name=site_name,
        tags=tags,
        captions=list(cleaned.captions),
        published_precision=precision,
        page_kind=kind,
        truncated=cleaned.paywalled or cleaned.continued or is_short(text, language),
        paywalled=paywalled,
    )


def prefer_ld_body(
    cleaned: CleanedText,
    ld_body: str,
    title: str | None,
    site_name: str | None,
    captions: list[str],
) -> CleanedText:
    """The cleaned JSON-LD ``articleBody`` in place of the text from the HTML, when better.

    Pages rendered by script ship the article as data and show little of it in the HTML:
    the JSON-LD body (at least `MIN_LD_BODY_CHARS`) is taken when the HTML text is under
    `MAX_HTML_SHARE_OF_LD_BODY` of it. trafilatura itself falls back to that body when the
    HTML has no text, but as one run-on block: when the HTML text holds the same words, the
    JSON-LD version is taken for its paragraphs.
    """
    if len(ld_body) < MIN_LD_BODY_CHARS:
        return cleaned
    shorter = len(cleaned.text) < MAX_HTML_SHARE_OF_LD_BODY * len(ld_body)
    if not shorter and len(cleaned.paragraphs) > 1:
        return cleaned
    from_ld = clean_text(ld_body, title=title, site_name=site_name, known_captions=captions)
    same_words = "".join(from_ld.text.split()) == "".join(cleaned.text.split())
    if (shorter and len(from_ld.text) > len(cleaned.text)) or (
        same_words and len(from_ld.paragraphs) > len(cleaned.paragraphs)
    ):
        LOGGER.debug("JSON-LD articleBody used: %d chars", len(from_ld.text))
        return from_ld
    return cleaned


def main_text(tree: HtmlElement, url: str, element_names: str | None = None) -> str:
    """The article text, one block per line: trafilatura, else a readability-style candidate.

    trafilatura (balanced mode, tables kept: Japanese sites still lay pages out in tables)
    decides: its fast mode first, its full mode when that looks incomplete (see
    `FAST_MIN_SHARE`); when it finds little or nothing, or only one run-on block (its last-resort
    baseline, which joins all page text), the densest-block candidate of its readability port
    is taken if it holds more text (or, for the run-on block, at least half as much).
    """
    drop_hidden(tree)
    drop_link_tables(tree)
    drop_widgets(tree, element_names)
    linearize_math(tree)
    open_lists_in_cells(tree)
    unwrap_layout_tables(tree)
    text = _trafilatura_text(tree, url, fast=True)
    if needs_full_mode(len(text), paragraph_chars(tree)):
        text = _trafilatura_text(tree, url, fast=False)
    one_block = "\n" not in text.strip()
    if len(text) >= FALLBACK_BELOW_CHARS and not one_block:
        return text
    candidate = readability_text(tree)
    if len(candidate) > 2 * max(len(text), FALLBACK_BELOW_CHARS // 2) or (
        # a single run-on block is trafilatura's last-resort baseline (all page text joined)
        one_block and text and len(candidate.strip()) >= len(text) // 2
    ):
        LOGGER.debug("trafilatura found %d chars, readability %d", len(text), len(candidate))
        return candidate
    return text


def _trafilatura_text(tree: HtmlElement, url: str, *, fast: bool) -> str:
    document = trafilatura.bare_extraction(
        tree, url=url, fast=fast, include_comments=False, include_tables=True,
        with_metadata=False,
    )
    return render_body(document)


def paragraph_chars(tree: HtmlElement) -> int:
    """Visible characters in the page's ``<p>`` elements: about the size of an article body."""
    return sum(len("".join(p.text_content().split())) for p in tree.iter("p"))


def needs_full_mode(fast_text_chars: int, page_paragraph_chars: int) -> bool:
    """Whether trafilatura's fast-mode text looks incomplete: short, or well under the
    page's paragraph text (measured on 153 real pages: the same mean F1 as always running
    the full mode, which 26 of them needed; docs/extraction.md)."""
    return (fast_text_chars < FULL_MODE_BELOW_CHARS
            or fast_text_chars < FAST_MIN_SHARE * page_paragraph_chars)


def drop_hidden(tree: HtmlElement) -> None:
    """Remove elements a browser does not show (``hidden``, ``display:none``,
    ``visibility:hidden``), in place: a reader never sees their text."""
    elements = [attribute.getparent() for attribute in HIDDEN_ATTRIBUTES(tree)]
    for element in elements:
        if element.getparent() is not None and (
            element.get("hidden") is not None or HIDDEN_STYLE.search(element.get("style", ""))
        ):
            element.drop_tree()


def linearize_math(tree: HtmlElement) -> None:
    """Replace MathML formulas that carry no TeX source by their text, in place.

    trafilatura keeps a formula as TeX when the ``<math>`` element holds it (a TeX
    ``<annotation>`` or ``alttext``) and drops the element otherwise, which leaves holes in
    the sentences around it ("When , there are two solutions to"). Without TeX, the formula
    becomes what a reader copies from it: the text of its token elements (identifiers,
    numbers, operators), one space apart.
    """
    for math in list(tree.iter("math")):
        parent = math.getparent()
        if parent is None or math.get("alttext") or MATH_TEX_ANNOTATION(math):
            continue
        tokens = [token for node in MATH_TEXT(math) for token in str(node).split()]
        text = " ".join(tokens)
        # renderers (MathJax) wrap the formula in elements that show it as drawings: the
        # outermost wrapper holding no other text is replaced
        target, key = math, "".join(tokens)
        while (
            (above := target.getparent()) is not None
            and above.tag not in BLOCK_TAGS
            and above.tag not in ("body", "td", "th")
            and "".join(above.text_content().split()) == key
        ):
            target = above
        parent = target.getparent()
        previous = target.getprevious()
        before = (parent.text if previous is None else previous.tail) or ""
        after = target.tail or ""
        # a word written against the formula stays a word apart ("0and they are")
        span = math.makeelement("span")
        span.text = (" " if before[-1:].isalnum() else "") + text
        span.tail = (" " if after[:1].isalnum() else "") + after
        parent.replace(target, span)


def drop_widgets(tree: HtmlElement, element_names: str | None = None) -> None:
    """Remove small forms and consent/newsletter boxes, in place.

    A ``<form>`` with a visible control (input, button, select, textarea) and under
    `MAX_WIDGET_CHARS` of text is a sign-up, search or comment box, not article text (a form
    wrapping the whole page, as ASP.NET sites do, is longer and stays). An element whose
    class or id names a cookie/consent/GDPR notice or a newsletter box, under the same size,
    goes too.

    :param element_names: the page's class/id values (:meth:`PageMetadata.element_names`),
        to skip the element scan on pages that name no such box.
    """
    for form in list(tree.iter("form")):
        if (
            form.getparent() is not None
            and len(form.text_content()) < MAX_WIDGET_CHARS
            and any(
                control.tag != "input" or (control.get("type") or "").lower() != "hidden"
                for control in form.iter(*FORM_CONTROLS)
            )
        ):
            form.drop_tree()
    if element_names is None:
        boxes = WIDGET_BOXES(tree)
    else:
        words = {m.lower() for m in WIDGET_NAMES.findall(element_names)}
        boxes = [e for w in sorted(words) for e in WIDGET_BOXES_BY_WORD[w](tree)]
    for element in boxes:
        if element.getparent() is None:
            continue
        label = f"{element.get('class') or ''} {element.get('id') or ''}"
        if WIDGET_NAMES.search(label) and len(element.text_content()) < MAX_WIDGET_CHARS:
            element.drop_tree()


def render_body(document: Any) -> str:
    """trafilatura's text of a result, with line breaks of the HTML source undone.

    trafilatura keeps the newlines of the source inside some blocks (a ``<div>`` read as a
    paragraph), so one paragraph became several lines. A browser shows them as spaces: only
    ``<br>`` and block boundaries separate lines. Code blocks keep their lines.
    """
    text = str(getattr(document, "text", None) or "")
    body = getattr(document, "body", None)
    if body is None:
        return text
    changed = False
    for element in body.iter():
        if element.tag == "code" or any(a.tag == "code" for a in element.iterancestors()):
            continue
        if element.text and "\n" in element.text.strip():
            element.text = SOURCE_NEWLINE.sub(" ", element.text)
            changed = True
        parent = element.getparent()
        if (
            element.tail
            and "\n" in element.tail.strip()
            and parent is not None
            and parent is not body
        ):
            element.tail = SOURCE_NEWLINE.sub(" ", element.tail)
            changed = True
    return xmltotxt(body, include_formatting=False) if changed else text


def drop_link_tables(tree: HtmlElement) -> None:
    """Remove tables that are mostly link text (menus laid out as tables), in place.

    Tables are kept for their text (old Japanese sites lay whole articles out in them), so
    navigation tables must go first: a table whose link text is at least half its text.
    """
    for table in list(tree.iter("table")):
        if table.getparent() is None:
            continue
        text = len("".join(table.text_content().split()))
        if text == 0:
            continue
        links = sum(len("".join(a.text_content().split())) for a in table.iter("a"))
        if links >= MAX_TABLE_LINK_SHARE * text:
            table.drop_tree()


def open_lists_in_cells(tree: HtmlElement) -> None:
    """Turn lists inside table cells into paragraphs, in place, unless they are menus.

    trafilatura reads a table cell's paragraphs but drops the lists in it, so a page laid out
    in a table loses its lists. A list whose link text is under half its text is content:
    its items become paragraphs of the cell. Lists of links (menus) stay lists.
    """
    for cell_list in LISTS_IN_CELLS(tree):
        text = len("".join(cell_list.text_content().split()))
        links = sum(len("".join(a.text_content().split())) for a in cell_list.iter("a"))
        if text == 0 or links >= MAX_TABLE_LINK_SHARE * text:
            continue
        for element in cell_list.iter("ul", "ol", "li"):
            element.tag = "p" if element.tag == "li" else "div"


def unwrap_layout_tables(tree: HtmlElement) -> None:
    """Read tables that hold other tables as plain blocks, in place.

    A table with a table inside it is a page grid (navigation, article, sidebar cells), not
    data; extractors read each row of it as one line and drop the tables inside its cells,
    which are the data tables of the article. The grid's own rows and cells become
    ``<div>`` elements; the tables inside stay tables.
    """
    for table in LAYOUT_TABLES(tree):
        frame = [
            element
            for element in table.iter("tbody", "thead", "tfoot", "tr", "td", "th")
            if next(element.iterancestors("table"), None) is table
        ]
        for element in (table, *frame):
            element.tag = "div"


def readability_text(tree: HtmlElement) -> str:
    """Text of the densest block (trafilatura's readability port), one block per line."""
    try:
        summary = ReadabilityDocument(deepcopy(tree)).summary()
    except (ValueError, TypeError) as exc:  # malformed trees; the primary result stands
        LOGGER.debug("readability candidate failed: %s", exc)
        return ""
    if not summary.strip():
        return ""
    return block_text(fromstring(summary))


def block_text(root: HtmlElement) -> str:
    """Text of an HTML tree with one line per block (and ``<br>``), as a browser lays it out:
    line breaks of the source inside a block are spaces; ``<pre>`` keeps its lines."""
    for element in root.iter():
        if element.tag != "pre" and not any(a.tag == "pre" for a in element.iterancestors()):
            # source line breaks are spaces to a reader; blocks and <br> make the lines
            if element.text and "\n" in element.text:
                element.text = SOURCE_NEWLINE.sub(" ", element.text)
            if element.tail and "\n" in element.tail:
                element.tail = SOURCE_NEWLINE.sub(" ", element.tail)
        if isinstance(element.tag, str) and element.tag in BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            element.text = "\n" + (element.text or "")
        elif element.tag == "br":
            element.tail = "\n" + (element.tail or "")
    return str(root.text_content())


def is_short(text: str, language: str | None) -> bool:
    """True if a body is too short to be a whole article (a teaser or a stub)."""
    limit = MIN_COMPLETE_CHARS_CJK if language in CJK_LANGUAGES else MIN_COMPLETE_CHARS
    return len(text) < limit


def page_kind(
    meta: PageMetadata, cleaned: CleanedText, headlines: set[str], language: str | None
) -> str:
    """``"listing"`` for index pages (many headlines, no body), else ``"article"``.

    A page that declares itself an article (JSON-LD article type, ``og:type`` article) is one.
    Otherwise it is a listing when it links at least 8 headlines outside nav/header/footer and
    what the extractor took for its body is made of them: either almost nothing is left (less
    than 300 characters), or at least 40% of the body's paragraphs (and 5 or more) are
    themselves link texts of the page, i.e. headlines with teasers in between; or the body is
    a run of short paragraphs (all under 200 characters, 100 in CJK text), at least one for
    every 0.6 headline links and at most 3 times their text: teasers whose headlines the
    extractor dropped as links.
    """
    if meta.declares_article() or len(headlines) < MIN_LISTING_HEADLINES:
        return "article"
    paragraphs = cleaned.paragraphs
    if sum(len(p) for p in paragraphs) < MIN_COMPLETE_CHARS:
        return "listing"
    linked = sum(1 for p in paragraphs if p in headlines)
    if linked >= MIN_LISTING_HEADLINES_IN_BODY and linked >= MIN_LISTING_LINKED_SHARE * len(
        paragraphs
    ):
        return "listing"
    # teasers without their (link) headlines: one short paragraph per headline
    longest = max(len(p) for p in paragraphs)
    limit = MAX_TEASER_CHARS_CJK if language in CJK_LANGUAGES else MAX_TEASER_CHARS
    if (
        len(paragraphs) >= MIN_LISTING_HEADLINES
        and len(paragraphs) >= MIN_LISTING_TEASER_SHARE * len(headlines)
        and longest < limit
        and sum(len(p) for p in paragraphs) <= MAX_LISTING_BODY_RATIO * sum(map(len, headlines))
    ):
        return "listing"
    return "article"


def parse_html(html: str | bytes, content_type: str | None = None) -> HtmlElement:
    """Decode and parse a page into an lxml tree, refusing input that is not HTML.

    :raises ExtractionError: empty input, a non-HTML content type, binary data, or text
        without any HTML markup.
    """
    return _parse_text(decode_input(html, content_type))


def decode_input(html: str | bytes, content_type: str | None = None) -> str:
    """The page as text, refusing input that is not HTML (see :func:`parse_html`)."""
    if content_type and not HTML_MIME.match(content_type):
        raise ExtractionError(f"not an HTML content type: {content_type}")
    if isinstance(html, bytes):
        if html.lstrip()[:8].startswith(BINARY_SIGNATURES):
            raise ExtractionError("binary data, not HTML")
        text = decode_html(html, content_type)
    else:
        text = html
    if not text.strip():
        raise ExtractionError("empty document")
    if not HTML_MARKUP.search(text):
        raise ExtractionError("no HTML markup in document")
    return text


def _parse_text(text: str) -> HtmlElement:
    tree = load_html(text)
    if tree is None:
        # trafilatura refuses fragments without an <html> tag; they are HTML all the same
        tree = load_html(f"<html><body>{text}</body></html>")
    if tree is None:
        raise ExtractionError("document could not be parsed as HTML")
    return tree


def parse_date(value: str | None) -> datetime | None:
    """Parse an ISO 8601 or RFC 2822 date as stated by a page into an aware UTC datetime.

    A date alone becomes midnight UTC and a time without an offset is taken as UTC (see
    :func:`extract_article`). Unparseable or implausible values give None.
    """
    parsed = parse_date_precision(value)
    return parsed[0] if parsed else None


def parse_date_precision(value: str | None) -> tuple[datetime, str] | None:
    """Like :func:`parse_date`, with the precision stated: ``"date"`` or ``"datetime"``.

    ``"2024-05-10"`` (or ``2024/05/10``) gives that day at 00:00 UTC with ``"date"``: the
    page named a day, and converting an invented local midnight would move it to the day
    before east of Greenwich. Anything with a time gives ``"datetime"``, converted to UTC from
    the offset the page states.
    """
    if not value:
        return None
    value = value.strip()
    if not value:
        return None
    iso = SLASH_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", value)
    iso = SPACE_BEFORE_OFFSET.sub(r"\1\2", iso)
    precision = "date" if DATE_ONLY.match(iso) else "datetime"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            LOGGER.debug("unparseable date %r", value)
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return parsed.astimezone(UTC), precision


def normalize_language(value: str | None) -> str | None:
    """Reduce a declared language (``ja-JP``, ``ru_RU``, ``jpn``) to a two-letter code."""
    if not value:
        return None
    match = LANGUAGE_CODE.match(value.strip().lower())
    if not match:
        return None
    code = match.group(1)
    if len(code) == 3:
        return THREE_LETTER_LANGUAGES.get(code)
    return code


def detect_language(text: str) -> str | None:
    """Guess the language from the dominant script: kana/kanji → ja, Cyrillic → ru, else en.

    One refinement: a long text of Han characters without a single kana is Chinese ("zh"),
    not Japanese. Returns None when the text has no letters at all.
    """
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    kana = len(KANA_CHARS.findall(sample))
    han = len(HAN_CHARS.findall(sample))
    counts = {
        "ja": kana + han,
        "ru": len(CYRILLIC_CHARS.findall(sample)),
        "en": len(LATIN_CHARS.findall(sample)),
    }
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        return None
    if best == "ja" and kana == 0 and han >= MIN_HAN_FOR_CHINESE:
        return "zh"
    return best


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
        self.ld, self.ld_is_article = _article_ld(ld_scripts)
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
        names = list(_ld_names(publisher))
        return names[0] if names else None

    def title(self, site_name: str | None) -> str:
        """og:title, then JSON-LD headline, then ``<title>`` (or the h1 it starts with).

        The JSON-LD headline counts only when the page shows it (in ``<title>`` or the first
        h1) or shows neither: some sites put a tagline there (Wikipedia: the short
        description), which no reader would call the title.
        """
        h1 = self._first_text("h1")
        page_title = self._first_text("title")
        headline = _ld_text(self.ld_value("headline"))
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
        for name in _ld_names(self.ld_value("author")):
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

    def published(self) -> tuple[datetime | None, str]:
        """The stated publication time and its precision (``datetime``/``date``/``none``).

        The first candidate that parses wins, except that a day-only value gives way to a
        later candidate with a time on that same day (pages often put the day in one tag and
        the full timestamp in another).
        """
        found: tuple[datetime, str] | None = None
        for value in self._date_candidates():
            parsed = parse_date_precision(value)
            if parsed is None:
                continue
            if found is None:
                found = parsed
                if parsed[1] == "datetime":
                    break
            elif parsed[1] == "datetime" and parsed[0].date() == found[0].date():
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
            or normalize_language(_ld_text(self.ld_value("inLanguage")))
        )
        detected = detect_language(text)
        if declared is None or (declared == "en" and detected in ("ja", "ru")):
            return detected
        return declared

    def summary(self) -> str:
        return self.first_meta(
            "og:description", "description", "twitter:description"
        ) or normalize_line(_ld_text(self.ld_value("description")) or "")

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
        ld_date = _ld_text(self.ld_value("datePublished"))
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


def _unwrap_ld(script: str) -> str:
    """The JSON of a ``<script type=application/ld+json>`` without its comment/CDATA wrapper."""
    payload = script.strip()
    opener = LD_OPENERS.match(payload)
    if opener:
        payload = payload[opener.end():].rstrip()
        closer = LD_CLOSERS.search(payload, max(0, len(payload) - 40))
        if closer:
            payload = payload[:closer.start()]
    return payload.strip()


def _article_ld(scripts: Iterable[str]) -> tuple[dict[str, Any] | None, bool]:
    """The first JSON-LD node typed as an article, else the first node with a headline.

    :return: the node and whether it is typed as an article.
    """
    fallback = None
    for script in scripts:
        payload = _unwrap_ld(script)
        try:
            data = json.loads(payload, strict=False)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            LOGGER.debug("invalid JSON-LD skipped")
            continue
        for node in _ld_nodes(data):
            types = node.get("@type")
            type_list = types if isinstance(types, list) else [types]
            if any(isinstance(t, str) and t.lower() in ARTICLE_LD_TYPES for t in type_list):
                return node, True
            if fallback is None and "headline" in node:
                fallback = node
    return fallback, False


def _ld_nodes(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Top-level JSON-LD objects, looking into lists, ``@graph`` and ``mainEntity``.

    Only `MAX_LD_DEPTH` levels deep: real pages nest two or three, and a hostile page
    nesting hundreds would otherwise exhaust the stack.
    """
    if depth > MAX_LD_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _ld_nodes(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity"):
            if key in data:
                yield from _ld_nodes(data[key], depth + 1)


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _ld_names(value: Any) -> Iterator[str]:
    """Names out of a JSON-LD author/publisher: string, object with ``name``, or a list."""
    if isinstance(value, list):
        for item in value:
            yield from _ld_names(item)
    elif isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name.strip():
            yield normalize_line(name)
    elif isinstance(value, str) and value.strip():
        yield normalize_line(value)


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
