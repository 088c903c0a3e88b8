"""HTML to text, shared by the body (:mod:`scrapers.extract.body`) and the metadata
(:mod:`scrapers.extract.metadata`): lines as a browser lays them out. Pure, no I/O."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

#: A line break of the HTML source, with the indentation around it.
SOURCE_NEWLINE = re.compile(r"\s*\n\s*")
BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header li main nav ol p pre section table tr ul".split()
)


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
