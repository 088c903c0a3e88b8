"""Turn one article page into an :class:`~scrapers.models.Article`.

Main text comes from trafilatura, which is good at finding the article body; metadata comes
from what the page states explicitly (``<link rel=canonical>``, Open Graph and article meta tags,
JSON-LD ``NewsArticle``), read from the same lxml tree, so the page is parsed once (trafilatura
works on its own copy of that tree, not a second parse).

Two measured choices (docs/extraction.md, "Moved from code comments"):
trafilatura's default balanced mode beats ``favor_precision`` on token F1, and its own
metadata pass is skipped: it adds much to the time of text extraction and guesses dates from
page text, where we want only what the page declares.

The text is then cleaned (:mod:`scrapers.extract.clean`): interface text, bylines and photo captions
leave the body; captions are returned apart, once each. The cleaned paragraphs are checked
against the page (:mod:`scrapers.extract.fusion`): repeated paragraphs the extractor collapsed come
back, teasers of other stories and final link lists leave, a lost standfirst returns. Pages
that ship the article as JSON-LD ``articleBody`` and show little of it get that body.

Pure function, no I/O.
"""

from __future__ import annotations

import logging
import re
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, tzinfo
from typing import Any

import trafilatura
from lxml.etree import XPath
from lxml.html import HtmlElement, fromstring, tostring
from trafilatura.readability_lxml import Document as ReadabilityDocument
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from scrapers.extract.adapters import adapter_blocks, adapter_for
from scrapers.extract.clean import CleanedText, clean_text
from scrapers.extract.fusion import (
    drop_teasers,
    drop_trailing_links,
    restore_repeats,
    restore_standfirst,
)
from scrapers.extract.html import BLOCK_TAGS, SOURCE_NEWLINE, block_text
from scrapers.extract.metadata import PageMetadata, drop_author_lines
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

#: Pages with more elements than this are not extracted: trafilatura's time grows faster
#: than the page, and real pages have a tenth of this (docs/extraction.md, "Page size").
MAX_PAGE_ELEMENTS = 100_000

# -- main text and page kind ------------------------------------------------------------------
#: Below this many characters of trafilatura text, a readability-style candidate is tried too.
FALLBACK_BELOW_CHARS = 250
#: trafilatura runs first in its fast mode (its own extractor only). When that text looks
#: incomplete (under this share of the page's paragraph text, or short), it runs again in
#: full mode, which also weighs its readability and jusText ports against its own result:
#: slower, so spent only on the pages that need a second opinion (docs/extraction.md,
#: "Round 4").
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
#: Forms with a control a reader uses (sign-up, search and comment boxes) ...
FORM_CONTROLS = ("input", "button", "select", "textarea")
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

def extract_article(
    html: str | bytes, url: str, content_type: str | None = None, *, use_adapters: bool = True,
    naive_zone: tzinfo = UTC,
) -> Article:
    """Extract text and stated metadata from an article page.

    ``published_at`` is the publication time the page states (JSON-LD ``datePublished``, then
    ``article:published_time`` and similar meta tags), ISO 8601 or RFC 2822, converted to UTC
    from the offset the page gives. ``published_precision`` says how much of it is stated:
    ``"datetime"``; ``"date"`` when the page gives a day only (``published_at`` is then 00:00
    UTC of that day, a day and not an instant); ``"none"`` when no date is stated
    (``published_at`` is None); ``"zone_assumed"`` when the time has no offset and was read
    in `naive_zone`, the source's zone (the catalog's ``timezone``; UTC by default).

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
    published_at, precision = meta.published(naive_zone)
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
    page's paragraph text. Measured to keep the mean F1 of always running the full mode
    (docs/extraction.md, "Round 4")."""
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
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_PAGE_ELEMENTS:
        raise ExtractionError(f"page too large to extract: {elements} elements "
                              f"(limit {MAX_PAGE_ELEMENTS})")
    return tree
