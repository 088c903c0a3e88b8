"""JSON-LD as pages ship it: the article node found among lists, ``@graph`` and
``mainEntity``, unwrapped from the comment or CDATA old parsers needed, and its text and
names read leniently. Pure, no I/O."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from scrapers.extract.clean import normalize_line

LOGGER = logging.getLogger(__name__)

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


#: How deep JSON-LD lists, ``@graph`` and ``mainEntity`` are searched for article nodes.
MAX_LD_DEPTH = 8


#: What pages wrap JSON-LD in for old parsers: an HTML comment or a CDATA section, each
#: marker possibly behind a JavaScript line comment (``//<![CDATA[`` ... ``//]]>``). Anchored
#: at the ends (`unwrap_ld`): a script can be large, so no pattern scans all of it.
LD_OPENERS = re.compile(r"(?://\s*)?(?:<!--|<!\[CDATA\[)")


LD_CLOSERS = re.compile(r"(?://\s*)?(?:-->|\]\]>)$")


def unwrap_ld(script: str) -> str:
    """The JSON of a ``<script type=application/ld+json>`` without its comment/CDATA wrapper."""
    payload = script.strip()
    opener = LD_OPENERS.match(payload)
    if opener:
        payload = payload[opener.end():].rstrip()
        closer = LD_CLOSERS.search(payload, max(0, len(payload) - 40))
        if closer:
            payload = payload[:closer.start()]
    return payload.strip()


def article_ld(scripts: Iterable[str]) -> tuple[dict[str, Any] | None, bool]:
    """The first JSON-LD node typed as an article, else the first node with a headline.

    :return: the node and whether it is typed as an article.
    """
    fallback = None
    for script in scripts:
        payload = unwrap_ld(script)
        try:
            data = json.loads(payload, strict=False)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            LOGGER.debug("invalid JSON-LD skipped")
            continue
        for node in ld_nodes(data):
            types = node.get("@type")
            type_list = types if isinstance(types, list) else [types]
            if any(isinstance(t, str) and t.lower() in ARTICLE_LD_TYPES for t in type_list):
                return node, True
            if fallback is None and "headline" in node:
                fallback = node
    return fallback, False


def ld_nodes(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Top-level JSON-LD objects, looking into lists, ``@graph`` and ``mainEntity``.

    Only `MAX_LD_DEPTH` levels deep: real pages nest two or three, and a hostile page
    nesting hundreds would otherwise exhaust the stack.
    """
    if depth > MAX_LD_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from ld_nodes(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity"):
            if key in data:
                yield from ld_nodes(data[key], depth + 1)


def ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def ld_names(value: Any) -> Iterator[str]:
    """Names out of a JSON-LD author/publisher: string, object with ``name``, or a list."""
    if isinstance(value, list):
        for item in value:
            yield from ld_names(item)
    elif isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and name.strip():
            yield normalize_line(name)
    elif isinstance(value, str) and value.strip():
        yield normalize_line(value)
