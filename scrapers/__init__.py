"""Nichiro's domain library: fetching, parsing, extraction, relevance, URLs and storage.

No Airflow import anywhere in this package; DAGs call into it.

The names below are re-exported lazily (PEP 562): importing any `scrapers.<module>` runs
this file first, and every Airflow task runs in a process of its own, so an eager import
here would make a task that only reads the database load trafilatura, lxml and feedparser
too, in every task process (docs/benchmarks.md, "Imports per task").
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapers.extract.body import extract_article
    from scrapers.feeds import parse_feed
    from scrapers.models import Article, FeedEntry, FetchResult, Relevance, Source
    from scrapers.relevance.rules import tag_vocabulary
    from scrapers.relevance.scoring import is_fetch_candidate, score_relevance
    from scrapers.text.urls import canonicalize_url

#: Re-exported name -> the module that defines it.
_EXPORTS = {
    "Article": "scrapers.models",
    "FeedEntry": "scrapers.models",
    "FetchResult": "scrapers.models",
    "Relevance": "scrapers.models",
    "Source": "scrapers.models",
    "canonicalize_url": "scrapers.text.urls",
    "extract_article": "scrapers.extract.body",
    "is_fetch_candidate": "scrapers.relevance.scoring",
    "parse_feed": "scrapers.feeds",
    "score_relevance": "scrapers.relevance.scoring",
    "tag_vocabulary": "scrapers.relevance.rules",
}

__all__ = [
    "Article",
    "FeedEntry",
    "FetchResult",
    "Relevance",
    "Source",
    "canonicalize_url",
    "extract_article",
    "is_fetch_candidate",
    "parse_feed",
    "score_relevance",
    "tag_vocabulary",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scrapers' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
