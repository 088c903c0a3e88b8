"""Edits: stored stories whose text changed, written set-based.

One write path for both ways a text changes: the load (a page fetched again with new
text, `scrapers.db.loader`) and re-extraction with newer code (`scrapers.reprocess`,
cause `reprocess`). For a batch of edits, in a few statements whatever its size: the
previous versions are kept in `article_revisions`, the rows take the new text and derived
fields, the analyst tags are replaced, story clusters are decided again
(`clusters.reassign_clusters`) and the articles become pending for event linking
(`event_links.forget`). URLs are the caller's: the load claims the record's URLs in load
order with the rest of its batch; the caller also decides `url` (the load keeps the stored
one when the new one leads to another story). No commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrapers.db import store
from scrapers.db.connection import Connection
from scrapers.dedup import clusters, event_links
from scrapers.dedup.hashes import diff_summary
from scrapers.dedup.minhash import NewArticle, U32Array
from scrapers.timing import NO_TIMER, PhaseTimer


@dataclass(frozen=True)
class Edit:
    """A new version of a stored article.

    `record`: the article's content columns (`store.ARTICLE_CONTENT_COLUMNS`) and its
    `topic_tags`, as a staged record or `ArticleRecord.as_row()` holds them. `signature`
    and `shingle_count`: its sketch, when the extraction step made one with today's params.
    """

    article_id: int
    record: Mapping[str, Any]
    signature: U32Array | None = None
    shingle_count: int | None = None


def apply_edits(conn: Connection, edits: Sequence[Edit], *, now: datetime, cause: str,
                timer: PhaseTimer = NO_TIMER) -> None:
    """Write a batch of edits, each of a different stored article whose text changed.

    Edits in one batch are decided for clusters in order against each other's new text
    and the stored articles' (not against the old text they replace).

    :raises ValueError: if an article appears twice (its second edit must see the first).
    :raises RuntimeError: if an article is not stored.
    """
    if not edits:
        return
    ids = [e.article_id for e in edits]
    if len(set(ids)) != len(ids):
        raise ValueError("an article is edited twice in one batch")
    with timer.phase("edits"):
        old = store.lock_for_edit(conn, ids)
        missing = sorted(set(ids) - set(old))
        if missing:
            raise RuntimeError(f"edits of articles that are not stored: {missing}")
        store.insert_revisions(conn, [
            (old[e.article_id], diff_summary(old[e.article_id]["title"],
                                             old[e.article_id]["body"],
                                             e.record["title"], e.record["body"]))
            for e in edits], replaced_at=now, cause=cause)
        store.update_articles(conn, [{**e.record, "id": e.article_id} for e in edits])
        store.replace_article_tags(conn, {e.article_id: e.record.get("topic_tags", [])
                                          for e in edits})
    clusters.reassign_clusters(conn, [
        NewArticle(e.article_id, e.record["title"], e.record["body"], e.record.get("language"),
                   e.record["source"], old[e.article_id]["first_seen_at"],
                   e.signature, e.shingle_count, stored=True,
                   current_cluster_id=old[e.article_id]["cluster_id"])
        for e in edits], timer=timer)
    event_links.forget(conn, ids)  # linked again with the new text by the caller
