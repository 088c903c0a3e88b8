"""Story clusters for a list of texts, without a database: the decision the load makes.

`cluster_texts` puts items that are copies of one story (any take of one wire item: a first
take, the full story, a truncated or edited copy, an update) into one group. It runs the
same pure functions as the database path (`scrapers.dedup.minhash.decide_batch`, which
`scrapers.dedup.clusters.plan_clusters` calls with the stored articles' hits), so items
that arrive in this order, each first seen at its `published_at`, end in the same groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from scrapers.dedup.minhash import (
    DEFAULT_PARAMS,
    ClusterParams,
    NewArticle,
    Sketched,
    article_band_keys,
    decide_batch,
    sketch,
)


def cluster_texts(items: Sequence[Mapping[str, Any]],
                  params: ClusterParams = DEFAULT_PARAMS) -> list[int]:
    """One story id per item, in order; items of one story share it.

    :param items: dicts with ``title``, ``text``, ``language`` (``en``/``ja``/``ru``) and
        ``published_at`` (an aware datetime), in the order they arrive.
    :returns: group ids numbered from 1 in order of first appearance.
    :raises ValueError: if a ``published_at`` is naive.
    """
    sketched = []
    for number, item in enumerate(items, start=1):
        published_at: datetime = item["published_at"]
        if published_at.tzinfo is None:
            raise ValueError(f"item {number - 1}: published_at must be timezone-aware")
        values, count = sketch(item.get("title") or "", item.get("text") or "",
                               item.get("language"), params)
        article = NewArticle(number, item.get("title") or "", item.get("text") or "",
                             item.get("language"), "", published_at, values, count)
        sketched.append(Sketched(article, values, count,
                                 article_band_keys(values, count, params)))
    batch = decide_batch(sketched, [[] for _ in sketched], 1, params)
    renumber: dict[int, int] = {}
    return [renumber.setdefault(cluster, len(renumber) + 1) for cluster in batch.final]
