"""The load step: staged records become rows of `articles`, one story one row.

For each record the story is looked up by every URL known to lead to it (canonical URL,
feed link, redirect target, earlier slugs: `article_urls`), then by the feed entry's GUID
(a headline or slug edit keeps the GUID), then by identical content from the same outlet
within a window. A found story whose text changed is updated and its previous version
kept in `article_revisions`; an unchanged one is not written at all.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapers import clusters, config, store
from scrapers.dedup import diff_summary
from scrapers.urls import canonicalize_url, search_stub_target

LOGGER = logging.getLogger(__name__)


def _aliases(record: dict[str, Any], staged: dict[str, Any]) -> list[tuple[str, str]]:
    """(canonical URL, kind) pairs that lead to this record's story."""
    link_kind = "search_stub" if search_stub_target(record["original_url"]) else "link"
    urls = [(record["url"], "canonical"), (staged["url"], link_kind)]
    if staged.get("raw_url"):
        try:
            urls.append((canonicalize_url(staged["raw_url"]), "redirect"))
        except ValueError:
            pass
    seen: set[str] = set()
    unique = []
    for url, kind in urls:
        if url not in seen:
            seen.add(url)
            unique.append((url, kind))
    return unique


def save_article(
    conn: Any, record: dict[str, Any], *, aliases: list[tuple[str, str]],
    guid_article_id: int | None, now: datetime, cause: str = "edit",
) -> tuple[int, str]:
    """Store one extracted record; returns (article id, new|updated|unchanged|duplicate)."""
    params = {**record, "matched_terms": json.dumps(record["matched_terms"], ensure_ascii=False)}
    article_id = store.find_article_id(conn, [u for u, _ in aliases])
    if article_id is None and guid_article_id is not None:
        article_id = guid_article_id  # same feed entry, new URL: a slug edit
    if article_id is None:
        since = now - timedelta(days=config.same_content_window_days())
        twin = store.same_content_recent(conn, record["source"], record["content_hash"], since)
        if twin is not None:
            store.add_article_urls(conn, twin, aliases)
            return twin, "duplicate"
        article_id = store.insert_article(conn, params)
        if article_id is None:  # lost a race for the URL: load it as known
            article_id = store.find_article_id(conn, [record["url"]])
            assert article_id is not None
        else:
            store.add_article_urls(conn, article_id, aliases)
            return article_id, "new"
    old = store.lock_article(conn, article_id)
    store.add_article_urls(conn, article_id, aliases)
    if old["content_hash"] == record["content_hash"]:
        return article_id, "unchanged"
    if old["url"] != record["url"] and store.find_article_id(conn, [record["url"]]) not in (
        None, article_id,
    ):
        params["url"] = old["url"]  # the new URL belongs to another story: keep ours
    store.insert_revision(
        conn, old, replaced_at=now, cause=cause,
        diff_summary=diff_summary(old["title"], old["body"], record["title"], record["body"]),
    )
    store.update_article(conn, article_id, params)
    if old["url"] != params["url"]:
        store.add_article_urls(conn, article_id, [(old["url"], "previous")])
    return article_id, "updated"


def load_run(conn: Any, run_id: str, now: datetime | None = None) -> dict[str, int]:
    """Load a run's staged records in one transaction; direct feeds before search feeds.

    So an outlet's own entry wins over the same story found through a search feed, and
    the second copy of a story within the run counts as a duplicate.
    """
    loaded_at = now if now is not None else datetime.now(UTC)
    counts = {"new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}
    touched: set[int] = set()
    marks: list[tuple[int, int | None, int | None, str]] = []
    try:
        for staged in store.iter_pending_staged(conn, run_id):
            record = staged["record"] or {}
            article_id: int | None
            if staged["status"] == "extracted":
                article_id, outcome = save_article(
                    conn, record, aliases=_aliases(record, staged),
                    guid_article_id=staged["entry_article_id"], now=loaded_at,
                )
                if outcome in ("new", "updated"):
                    store.replace_article_tags(conn, article_id, record.get("topic_tags", []))
                    # Same transaction: a story and its cluster membership land together.
                    clusters.assign_cluster(conn, article_id, record["title"], record["body"],
                                            record.get("language"), record["source"], None)
                if staged["raw_gz"] is not None and (
                    outcome in ("new", "updated") or not store.has_raw_page(conn, article_id)
                ):
                    raw = bytes(staged["raw_gz"])
                    store.save_raw_page(conn, article_id, staged["raw_url"], record["fetched_at"],
                                        staged["raw_content_type"], raw, len(raw))
            else:
                article_id = record.get("article_id")
                outcome = "unchanged"
            if outcome == "unchanged" and article_id in touched:
                outcome = "duplicate"
            if article_id is not None:
                touched.add(article_id)
            # Written together after the loop (same transaction): nothing below reads them.
            marks.append((staged["id"], staged["entry_id"], article_id, outcome))
            counts[outcome] += 1
        store.mark_loaded_many(conn, marks, loaded_at)
        raw_pruned, staged_pruned = store.prune(
            conn,
            raw_before=loaded_at - timedelta(days=config.raw_retention_days()),
            staged_before=loaded_at - timedelta(days=config.staged_retention_days()),
        )
        conn.commit()
    except Exception:
        if not getattr(conn, "closed", False):  # a lost server leaves nothing to roll back
            conn.rollback()
        raise
    LOGGER.info("load %s: %s (pruned %d raw pages, %d staging rows)", run_id, counts,
                raw_pruned, staged_pruned)
    return counts
