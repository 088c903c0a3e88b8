"""Check extracted paragraphs against the page they came from.

The extractor returns text; the page still holds the structure that text came from. Four
paragraph-level corrections use it, all generic (no site names):

- :func:`restore_repeats`: extractors collapse a paragraph printed several times in a row, as
  a guard against layout duplicates. When the page holds the same long paragraph as several
  sibling elements of one container (visible: hidden copies were removed before), the
  repetition is the author's and the copies come back, next to the one that was kept.
- :func:`drop_teasers`: a paragraph that sits in a small box with a linked headline (a
  teaser of another story: headline link, then its summary) is not article text, wherever it
  is; extractors drop the headline as a link and keep the summary.
- :func:`restore_standfirst`: the standfirst (the summary under the headline) is a block of
  the ``<article>`` whose text is the page's description; extractors sometimes skip it.
- :func:`drop_trailing_links`: a body that ends in a run of paragraphs that are link text on
  the page ("More stories" lists, headline rivers) ends before that run; a short heading just
  above the run goes with it.

Pure functions over an lxml tree and a paragraph list; no I/O.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from lxml.etree import XPath
from lxml.html import HtmlElement

LOGGER = logging.getLogger(__name__)

#: Only paragraphs at least this long are restored when repeated (short ones are captions,
#: labels and buttons, which are printed twice by design).
MIN_REPEAT_CHARS = 100
#: More distinct repeated paragraphs than this: the page is laid out twice, nothing restored.
MAX_REPEAT_CANDIDATES = 5
#: Paragraphs are looked up on the page by their opening characters (whitespace collapsed).
KEY_CHARS = 40
#: Paragraph text: long text nodes of ``<p>`` and ``<div>`` elements, where repeated
#: paragraphs are found; scanning every text node would cost more for nothing
#: (docs/extraction.md, "Moved from code comments").
LONG_TEXTS = XPath(
    f"//p/text()[string-length(.) >= {MIN_REPEAT_CHARS}]"
    f"|//div/text()[string-length(.) >= {MIN_REPEAT_CHARS}]",
    smart_strings=False,
)
#: Text nodes starting with ``$key`` (whitespace collapsed).
TEXTS_STARTING = XPath(
    "//body//text()[starts-with(normalize-space(.), $key)]"
    "[not(parent::script or parent::style or parent::template or parent::textarea)]"
)
BLOCK_TAGS = frozenset(
    "address article blockquote dd div dl dt figcaption h1 h2 h3 h4 h5 h6 li ol p pre section "
    "table td th tr ul".split()
)
HEADLINE_TAGS = ("h2", "h3", "h4", "h5")
#: A teaser box: a linked headline and its summary, under this many characters in all
#: (whitespace not counted) ...
MAX_TEASER_BOX_CHARS = 800
#: ... found at most this many levels above the headline.
MAX_TEASER_BOX_DEPTH = 4
#: Teaser summaries this long or longer are dropped (shorter lines are the cleaner's).
MIN_TEASER_CHARS = 40
#: Teasers are dropped only if at least this much text is left beside them.
MIN_TEXT_BESIDE_TEASERS = 500
#: A description this long may be a standfirst shown on the page ...
MIN_STANDFIRST_CHARS = 60
#: ... in a block at most this much longer than it.
MAX_STANDFIRST_GROWTH = 1.2
#: A paragraph whose block on the page is at least this share link text is a link.
MIN_LINK_SHARE = 0.6
#: Link paragraphs (headlines, menu entries) are shorter than this.
MAX_LINK_PARAGRAPH_CHARS = 200
#: At most this many final paragraphs are looked up on the page (each lookup scans it).
MAX_TRAILING_LOOKUPS = 40
#: Short lines allowed below a final link run ("Write to ...", "Sign up ...") ...
MAX_LINES_AFTER_RUN = 2
#: ... if the run holds at least this many links.
MIN_RUN_BEFORE_TAIL = 3
SENTENCE_ENDS = (".", "。", "!", "?", "！", "？")
#: A line this short just above a dropped link run is its heading ("More stories").
MAX_RUN_HEADING_CHARS = 60
#: When the opening is not found, its first words (this many characters at most, at least
#: `MIN_SHORT_KEY_CHARS`) are looked up instead.
SHORT_KEY_CHARS = 16
MIN_SHORT_KEY_CHARS = 4
#: List markers the text renderer puts before list items.
LIST_MARKERS = "-•*· "


def restore_repeats(tree: HtmlElement, paragraphs: Sequence[str]) -> tuple[str, ...]:
    """Paragraphs with author repetitions restored (see the module docstring).

    A paragraph (at least `MIN_REPEAT_CHARS` long) that the page prints as N sibling blocks of
    the same tag under one parent appears N times: the missing copies are inserted after its
    last occurrence.

    :param tree: the page, after hidden elements were removed.
    :param paragraphs: the cleaned body, one paragraph per item.
    """
    if not any(len(p) >= MIN_REPEAT_CHARS for p in paragraphs):
        return tuple(paragraphs)
    on_page = Counter(_key(str(node)) for node in LONG_TEXTS(tree))
    have = Counter(paragraphs)
    candidates = [p for p in have if len(p) >= MIN_REPEAT_CHARS and on_page[_key(p)] > have[p]]
    if len(candidates) > MAX_REPEAT_CANDIDATES:
        # most of the text printed twice: a layout duplicate (e.g. desktop and mobile
        # versions), not an author repeating a paragraph; and each lookup scans the page
        return tuple(paragraphs)
    missing: dict[str, int] = {}
    for paragraph in candidates:
        copies = _sibling_copies(tree, paragraph)
        if copies > have[paragraph]:
            missing[paragraph] = copies - have[paragraph]
    if not missing:
        return tuple(paragraphs)
    LOGGER.debug("restoring %d repeated paragraphs", sum(missing.values()))
    seen: Counter[str] = Counter()
    out: list[str] = []
    for paragraph in paragraphs:
        out.append(paragraph)
        seen[paragraph] += 1
        if paragraph in missing and seen[paragraph] == have[paragraph]:
            out.extend([paragraph] * missing[paragraph])
    return tuple(out)


def drop_teasers(tree: HtmlElement, paragraphs: Sequence[str]) -> tuple[str, ...]:
    """Paragraphs without teasers of other stories (see :func:`teaser_boxes`).

    A paragraph (at least `MIN_TEASER_CHARS` long; shorter lines are left to the cleaner)
    goes when its text lies inside the text of a teaser box of the page.
    """
    if not any(len(p) >= MIN_TEASER_CHARS for p in paragraphs):
        return tuple(paragraphs)
    boxes = teaser_boxes(tree)
    if not boxes:
        return tuple(paragraphs)
    # one search per paragraph; a paragraph has no line break, so it cannot span two boxes
    box_text = "\n".join(boxes)
    kept = tuple(p for p in paragraphs if len(p) < MIN_TEASER_CHARS or p not in box_text)
    if len(kept) == len(paragraphs):
        return kept
    if sum(map(len, kept)) < MIN_TEXT_BESIDE_TEASERS:
        # next to nothing but teasers: a page of them (a section front), not an article with
        # some beside it; the text stays whole for the listing check to judge
        return tuple(paragraphs)
    LOGGER.debug("dropped %d teaser paragraphs", len(paragraphs) - len(kept))
    return kept


def teaser_boxes(tree: HtmlElement) -> list[str]:
    """Texts (whitespace collapsed) of the page's teaser boxes.

    A teaser box holds one linked headline (an ``<h2>``–``<h5>`` with a link in it, or a link
    around one) and some text besides it, all under `MAX_TEASER_BOX_CHARS`: the widest such
    ancestor of the headline, at most `MAX_TEASER_BOX_DEPTH` levels up. A box with a second
    linked headline is a list of stories or a section of an article, not one teaser. A
    headline that is the article's own (the page's first ``<h1>``) announces this article in
    a stream of stories, not another one: its box is not a teaser.
    """
    boxes = []
    # many headlines share their wide ancestors (a list of teasers): judge each ancestor once
    too_wide: dict[HtmlElement, bool] = {}
    own = _own_headline(tree)
    for headline in tree.iter(*HEADLINE_TAGS):
        if not _links_elsewhere(headline):
            continue
        if own and " ".join(headline.text_content().split()).casefold() == own:
            continue  # a teaser of this very article (in a stream of stories), not another
        box = None
        element = headline
        for _ in range(MAX_TEASER_BOX_DEPTH):
            element = element.getparent()
            if element is None or element.tag in ("body", "html"):
                break
            if element not in too_wide:
                too_wide[element] = (
                    _visible_chars(element.text_content()) > MAX_TEASER_BOX_CHARS
                    or sum(1 for h in element.iter(*HEADLINE_TAGS) if _links_elsewhere(h)) > 1
                )
            if too_wide[element]:
                break
            box = element
        if box is None:
            continue
        text = " ".join(box.text_content().split())
        if len(text) >= len(" ".join(headline.text_content().split())) + MIN_TEASER_CHARS:
            boxes.append(text)
    return boxes


def _own_headline(tree: HtmlElement) -> str:
    """The article's headline: the text of the page's first non-empty ``<h1>``, case-folded."""
    for h1 in tree.iter("h1"):
        text = " ".join(h1.text_content().split())
        if text:
            return text.casefold()
    return ""


def _links_elsewhere(headline: HtmlElement) -> bool:
    """True if a heading holds, or sits in, a link to another page (not a ``#`` anchor)."""
    for link in headline.iter("a"):
        if not (link.get("href") or "#").startswith("#"):
            return True
    for depth, ancestor in enumerate(headline.iterancestors()):
        if depth >= MAX_TEASER_BOX_DEPTH:
            break
        if ancestor.tag == "a":
            return not (ancestor.get("href") or "#").startswith("#")
    return False


def restore_standfirst(
    tree: HtmlElement, paragraphs: Sequence[str], description: str
) -> tuple[str, ...]:
    """Paragraphs with the article's standfirst first, if the extractor lost it.

    The standfirst is the block of the ``<article>`` (not in a header, nav, aside or footer)
    that says what the page's description says: its text starts like the description (at
    least `MIN_STANDFIRST_CHARS` long) and is at most `MAX_STANDFIRST_GROWTH` longer. It goes
    back only when the body does not already hold it.

    :param description: the page's ``og:description``/``description``, normalised.
    """
    if len(description) < MIN_STANDFIRST_CHARS:
        return tuple(paragraphs)
    opening = description[:KEY_CHARS]
    if any(opening in p for p in paragraphs):
        return tuple(paragraphs)
    block = source_block(tree, description)
    if block is None:
        return tuple(paragraphs)
    ancestors = {a.tag for a in block.iterancestors()}
    if "article" not in ancestors or ancestors & {"header", "nav", "aside", "footer"}:
        return tuple(paragraphs)
    text = " ".join(block.text_content().split())
    if not text.startswith(opening) or len(text) > MAX_STANDFIRST_GROWTH * len(description):
        return tuple(paragraphs)
    LOGGER.debug("standfirst restored")
    return (text, *paragraphs)


def drop_trailing_links(tree: HtmlElement, paragraphs: Sequence[str]) -> tuple[str, ...]:
    """Paragraphs without a final run of link paragraphs (and the short heading above it).

    A paragraph is a link when its block on the page is at least `MIN_LINK_SHARE` link text.
    Up to `MAX_LINES_AFTER_RUN` short lines may close the page after the run (a contact line,
    a sign-up prompt); then the run must hold at least `MIN_RUN_BEFORE_TAIL` links, and those
    lines go with it. The first paragraph always stays.
    """
    position = len(paragraphs)  # paragraphs[:position] are still to be judged
    end = len(paragraphs)  # paragraphs[:end] are kept
    links = 0
    tail = 0
    while position > max(1, len(paragraphs) - MAX_TRAILING_LOOKUPS):
        paragraph = paragraphs[position - 1]
        if len(paragraph) > MAX_LINK_PARAGRAPH_CHARS:
            break  # prose, not a link: no need to look it up
        block = source_block(tree, paragraph)
        if block is not None and link_share(block) >= MIN_LINK_SHARE:
            position -= 1
            links += 1
            end = position
            continue
        if links:
            if block is None and len(paragraph) <= MAX_RUN_HEADING_CHARS:
                position -= 1  # a short line of the run that cannot be located on the page
                end = position
                continue
            if len(paragraph) <= MAX_RUN_HEADING_CHARS and not paragraph.endswith(SENTENCE_ENDS):
                end = position - 1  # the heading of the link run
            break
        if tail >= MAX_LINES_AFTER_RUN:
            break
        tail += 1  # a closing line below a possible run
        position -= 1
    if links == 0 or (tail and links < MIN_RUN_BEFORE_TAIL):
        return tuple(paragraphs)
    LOGGER.debug("dropped %d trailing link paragraphs", len(paragraphs) - end)
    return tuple(paragraphs[:end])


def source_block(tree: HtmlElement, paragraph: str) -> HtmlElement | None:
    """The nearest block element around the first page text that starts like ``paragraph``."""
    text = paragraph.lstrip(LIST_MARKERS)
    # the whole opening, else a shorter one (its first word at least): inline markup splits
    # a block's text into several nodes
    keys = [_key(text)]
    short = text[:SHORT_KEY_CHARS]
    if " " in short.rstrip():
        short = short.rstrip().rsplit(" ", 1)[0]
    if short and short != keys[0] and len(short) >= MIN_SHORT_KEY_CHARS:
        keys.append(short)
    for key in keys:
        for node in TEXTS_STARTING(tree, key=key):
            element = node.getparent()
            if getattr(node, "is_tail", False) and element is not None:
                element = element.getparent()
            while element is not None and element.tag not in BLOCK_TAGS:
                element = element.getparent()
            if element is not None:
                return element
    return None


def link_share(element: HtmlElement) -> float:
    """Share of an element's text (whitespace ignored) that is link text."""
    text = len("".join(element.text_content().split()))
    if not text:
        return 0.0
    links = sum(len("".join(a.text_content().split())) for a in element.iter("a"))
    return links / text


def _sibling_copies(tree: HtmlElement, paragraph: str) -> int:
    """How many sibling blocks (same tag, same parent) of the page have exactly this text."""
    # keyed by the elements themselves: holding them keeps lxml's proxies (and so their
    # identity) alive, which id() of a temporary proxy would not
    groups: dict[tuple[HtmlElement, str], set[HtmlElement]] = {}
    for node in TEXTS_STARTING(tree, key=_key(paragraph)):
        element = node.getparent()
        if getattr(node, "is_tail", False) and element is not None:
            element = element.getparent()
        while element is not None and element.tag not in BLOCK_TAGS:
            element = element.getparent()
        if element is None or element.getparent() is None:
            continue
        if " ".join(element.text_content().split()) == paragraph:
            groups.setdefault((element.getparent(), element.tag), set()).add(element)
    return max((len(members) for members in groups.values()), default=1)


def _visible_chars(text: str) -> int:
    """Length of a text without its whitespace (source indentation is not text)."""
    return len(text) - sum(text.count(c) for c in " \n\t\r")


def _key(text: str) -> str:
    return " ".join(text[: KEY_CHARS * 2].split())[:KEY_CHARS]
