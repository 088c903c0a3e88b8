"""Nichiro's domain library: fetching, parsing, extraction, relevance, URLs and storage.

No Airflow import anywhere in this package; DAGs call into it.
"""

from __future__ import annotations

from scrapers.extract import extract_article
from scrapers.feeds import parse_feed
from scrapers.models import Article, FeedEntry, FetchResult, Relevance, Source
from scrapers.relevance import is_fetch_candidate, score_relevance, tag_vocabulary
from scrapers.urls import canonicalize_url

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
