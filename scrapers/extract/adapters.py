"""Site adapters: CSS selectors for outlets where the generic extractor measurably falls short.

The generic path (trafilatura plus our cleaning) stays the default. An adapter is added only
when a page in the outlet's layout (tests/fixtures/outlets/) scores better with it than
without; `bench/extraction.py --set outlets` measures both. An adapter only says where the
article's text blocks are and what to drop inside them; the cleaning that follows is the
generic one, so widget lines, bylines and captions are still removed.

If an adapter's selectors find nothing (the outlet changed its markup), extraction falls back
to the generic path and logs it once per outlet, so a stale adapter degrades, never breaks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Tag

LOGGER = logging.getLogger(__name__)

# Below this many characters an adapter's text is taken as a miss (markup changed).
MIN_ADAPTER_CHARS = 200


@dataclass(frozen=True)
class SiteAdapter:
    """Where one outlet keeps its article text."""

    name: str
    hosts: tuple[str, ...]  # a page's host equal to one of these, or a subdomain of it
    body: str  # CSS selector of the container(s) of the article text
    blocks: str  # CSS selector of the text blocks inside it, in document order
    drop: tuple[str, ...] = ()  # CSS selectors removed first (pull quotes, author lines)
    why: str = ""  # what the generic path gets wrong on this outlet's pages


ADAPTERS: tuple[SiteAdapter, ...] = (
    SiteAdapter(
        name="Kommersant",
        hosts=("kommersant.ru",),
        body="div.doc__body",
        blocks="p.doc__text, h2, h3",
        drop=(".doc__thought", ".document_authors"),
        why="keeps the pull quote (a sentence printed twice) and the standfirst in the body",
    ),
    SiteAdapter(
        name="Lenta.ru",
        hosts=("lenta.ru",),
        body="div.topic-body__content",
        blocks="p.topic-body__content-text, h2",
        drop=(".box-inline-topic",),
        why="keeps the headlines of the inline related-articles box as paragraphs",
    ),
    SiteAdapter(
        name="NHK News Web",
        hosts=("nhk.or.jp",),
        body="div.content--detail-body",
        blocks=".content--summary, .body-title, .body-text p",
        drop=(".content--thumb",),
        why="puts the lead after the first body section and the headline inside the body",
    ),
)

_warned: set[str] = set()


def adapter_for(url: str, adapters: tuple[SiteAdapter, ...] = ADAPTERS) -> SiteAdapter | None:
    """The adapter of the page's outlet, if it has one."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for adapter in adapters:
        if any(host == h or host.endswith("." + h) for h in adapter.hosts):
            return adapter
    return None


def adapter_blocks(adapter: SiteAdapter, html: str) -> list[str]:
    """The article's text blocks as the adapter reads them; [] when its selectors miss."""
    soup = BeautifulSoup(html, "lxml")
    blocks: list[str] = []
    for container in soup.select(adapter.body):
        for selector in adapter.drop:
            for element in container.select(selector):
                element.decompose()
        seen: list[Tag] = []
        for element in container.select(adapter.blocks):
            if any(element in parent.descendants for parent in seen):
                continue  # a block inside a block already taken
            seen.append(element)
            text = " ".join(element.get_text().split())
            if text:
                blocks.append(text)
    if sum(len(b) for b in blocks) < MIN_ADAPTER_CHARS:
        if adapter.name not in _warned:
            _warned.add(adapter.name)
            LOGGER.warning("site adapter %s found no article text (markup changed?); "
                           "using the generic extractor", adapter.name)
        return []
    return blocks
