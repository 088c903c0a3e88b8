"""The load step: staged records become rows of `articles`, one story one row.

For each record the story is looked up by every URL known to lead to it (canonical URL,
feed link, redirect target, earlier slugs: `article_urls`, keyed by `canonicalize_url`, so
``http`` and ``https`` spellings are one story), then by the feed entry's GUID
(a headline or slug edit keeps the GUID), then by identical content from the same outlet
within a window. A found story whose text changed is updated and its previous version
kept in `article_revisions`; an unchanged one is not written at all. `articles.url` is
the URL to open (the scheme as served, `normalize_url`), not a key: it changes only with
the story's text, and only to a URL whose key leads to no other story.

The load is set-based: staged rows come in batches, and each batch is resolved with a few
look-ups (all its URLs, all its content hashes, the stored rows it touches) and written
with a few statements: new articles with pre-allocated ids and their story clusters
decided before the insert (`clusters.plan_clusters`, from the MinHash the extraction step
stored with each record), then URLs, tags, edits of stored stories (`edits.apply_edits`,
the path re-extraction uses too) and raw pages. Python reads slim staged rows (no page,
no body) and decides; the bulk (article text, tags, pages) goes from `staged_articles` to
its tables on the server, so it never travels to Python and back (edits, which are rare,
read their whole records). Decisions are made in Python, in load order, with the same
outcome as loading the records one by one (tests/integration/test_loader.py checks this
against batches of one). A transaction-level advisory lock serialises loads, so what a
batch looked up stays true until it commits. Search rows are not written here (see
`scrapers.pipeline.load`).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapers import config
from scrapers.db import staging, store
from scrapers.db.connection import Connection, savepoint
from scrapers.db.edits import Edit, apply_edits
from scrapers.dedup import clusters, event_links, minhash
from scrapers.text.urls import canonicalize_url, search_stub_target
from scrapers.timing import PhaseTimer

LOGGER = logging.getLogger(__name__)

#: pg_advisory_xact_lock key of the load step ("nlod"); one load at a time per database.
LOAD_LOCK_KEY = 0x6E6C6F64
#: Staged rows resolved and written together.
BATCH_SIZE = 500
#: At most this many articles are linked to events per load (oldest pending first): a
#: load links what it brought; an archive stored before events existed is linked by
#: `python -m scrapers relink`, not inside one load's transaction.
EVENT_LINKS_PER_LOAD = 5000


def _url_key(record: dict[str, Any]) -> str:
    """The dedup key of a record's story (a record staged before records carried one has
    its key in ``url``)."""
    return canonicalize_url(record.get("url_key") or record["url"])


def _aliases(record: dict[str, Any], staged: dict[str, Any]) -> list[tuple[str, str]]:
    """(dedup key, kind) pairs that lead to this record's story."""
    link_kind = "search_stub" if search_stub_target(record["original_url"]) else "link"
    urls = [(_url_key(record), "canonical"), (staged["url"], link_kind)]
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


def _signature(record: dict[str, Any]) -> tuple[Any, int | None]:
    """The MinHash the extraction step stored with the record, if made with today's params."""
    sketch = record.get("minhash") or {}
    if sketch.get("params") != minhash.DEFAULT_PARAMS.tag:
        return None, None
    return (minhash.signature_from_bytes(base64.b64decode(sketch["signature"])),
            sketch.get("shingles"))


def minhash_field(title: str, body: str, language: str | None) -> dict[str, Any]:
    """What the extraction step stores in a record so the load need not sketch it again."""
    values, shingles = minhash.sketch(title, body, language)
    return {"params": minhash.DEFAULT_PARAMS.tag, "shingles": shingles,
            "signature": base64.b64encode(minhash.signature_bytes(values)).decode("ascii")}


@dataclass
class _Batch:
    """What one batch decided, written together by `_write_batch`."""

    new: list[dict[str, Any]] = field(default_factory=list)  # staged rows of new articles
    claims: list[tuple[str, int, str]] = field(default_factory=list)  # URL claims, in order
    #: Edits of stored stories: (article id, staged row, the URL the story keeps).
    edits: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    #: (article id, staged row, whether its page replaces the stored one), in load order:
    #: a new or edited story's page is its own; a copy's is kept only if none is.
    pages: list[tuple[int, dict[str, Any], bool]] = field(default_factory=list)


def _resolve(
    conn: Connection, rows: Sequence[dict[str, Any]], loaded_at: datetime,
    touched: set[int], results: dict[int, tuple[int | None, str]],
) -> tuple[_Batch, int | None]:
    """Decide each row's story and outcome, in load order, from a few set-based look-ups.

    Returns the batch and, if it stopped early, the index of the first row it left: a
    second edit of one story (it must see the first), an edit of a story new in this
    batch, or a row found by content after an edit (the content look-up predates it). The
    caller writes the batch and resolves the rest afresh, so every row sees the rows
    before it as if loaded one by one; the first row never stops. New articles get
    provisional ids (negative, in load order); `_write_batch` swaps them for real ones.
    `results` maps staged id -> (article id, outcome).
    """
    extracted = [r for r in rows if r["status"] == "extracted"]
    aliases = {r["id"]: _aliases(r["record"], r) for r in extracted}
    by_url = store.article_ids_by_url(conn, (
        *(u for a in aliases.values() for u, _ in a),
        *(canonicalize_url(r["record"]["url"]) for r in extracted)))
    since = loaded_at - timedelta(days=config.same_content_window_days())
    twins = store.recent_content_twins(
        conn, ((r["record"]["source"], r["record"]["content_hash"]) for r in extracted), since)

    def known_story(r: dict[str, Any]) -> int | None:
        """By any of its URLs, else by its feed entry (a slug edit keeps the GUID)."""
        found = next((by_url[u] for u, _ in aliases[r["id"]] if u in by_url), None)
        return found if found is not None else r["entry_article_id"]

    locked = store.lock_articles(
        conn, {aid for aid in map(known_story, extracted) if aid is not None})
    stored_keys = {canonicalize_url(row["url"]) for row in locked.values()} - by_url.keys()
    by_url.update(store.article_ids_by_url(conn, stored_keys))
    batch = _Batch()
    edited: set[int] = set()
    hashes: dict[int, str] = {aid: row["content_hash"] for aid, row in locked.items()}
    provisional = 0

    def claim(article_id: int, pairs: list[tuple[str, str]]) -> None:
        for url, kind in pairs:
            if url not in by_url:
                by_url[url] = article_id
                batch.claims.append((url, article_id, kind))

    for index, r in enumerate(rows):
        record = r["record"]
        if r["status"] != "extracted":
            article_id, outcome = record.get("article_id"), "unchanged"
        else:
            pairs = aliases[r["id"]]
            article_id = known_story(r)  # by_url also holds this batch's claims so far
            if article_id is None:
                if edited:
                    return batch, index
                key = (record["source"], record["content_hash"])
                twin = twins.get(key)
                if twin is not None:
                    claim(twin, pairs)
                    article_id, outcome = twin, "duplicate"
                    batch.pages.append((twin, r, False))
                else:
                    provisional -= 1
                    article_id, outcome = provisional, "new"
                    claim(article_id, pairs)
                    twins[key] = article_id
                    hashes[article_id] = record["content_hash"]
                    batch.new.append({**r, "article_id": article_id})
                    batch.pages.append((article_id, r, True))
            elif hashes.get(article_id) == record["content_hash"]:
                claim(article_id, pairs)
                outcome = "unchanged"
                batch.pages.append((article_id, r, False))
            elif article_id < 0 or article_id in edited:
                return batch, index
            else:  # a stored story changed
                claim(article_id, pairs)
                old_url, url = locked[article_id]["url"], record["url"]
                if url != old_url and by_url.get(canonicalize_url(url)) not in (None, article_id):
                    url = old_url  # the new URL belongs to another story: keep ours
                if url != old_url:  # a no-op when only the scheme changed: one key
                    claim(article_id, [(canonicalize_url(old_url), "previous")])
                edited.add(article_id)
                hashes[article_id] = record["content_hash"]
                batch.edits.append((article_id, r, url))
                batch.pages.append((article_id, r, True))
                outcome = "updated"
        if outcome == "unchanged" and article_id in touched:
            outcome = "duplicate"
        if article_id is not None:
            touched.add(article_id)
        results[r["id"]] = (article_id, outcome)
    return batch, None


def _write_batch(
    conn: Connection, batch: _Batch, results: dict[int, tuple[int | None, str]], touched: set[int],
    loaded_at: datetime, timer: PhaseTimer,
) -> None:
    """Write what `_resolve` decided: ids, clusters, articles, URLs, tags, edits, pages.

    New articles are clustered before the edits: a batch's new rows come before its edits
    in load order (`_resolve`), so they were decided against the edited stories' old text,
    and the edits against theirs.
    """
    if not (batch.new or batch.claims or batch.edits or batch.pages):
        return
    with timer.phase("articles"):
        ids = store.allocate_article_ids(conn, len(batch.new))
        real: dict[int, int] = dict(zip((r["article_id"] for r in batch.new), ids, strict=True))

    def final(article_id: int) -> int:
        return real.get(article_id, article_id)

    for staged_id, (article_id, outcome) in list(results.items()):
        if article_id is not None and article_id < 0:
            results[staged_id] = (final(article_id), outcome)
    touched.difference_update(real)
    touched.update(real.values())
    with timer.phase("cluster keys"):
        new_articles = _new_articles(conn, batch.new, real)
    plan = clusters.plan_clusters(conn, new_articles, timer=timer)
    with timer.phase("articles"):
        store.insert_articles_from_staged(conn, [
            (r["id"], real[r["article_id"]], plan.cluster_of[real[r["article_id"]]])
            for r in batch.new
        ])
    with timer.phase("cluster writes"):
        clusters.write_plan(conn, plan)
    with timer.phase("urls"):
        store.add_urls_many(conn, [(url, final(aid), kind) for url, aid, kind in batch.claims])
    with timer.phase("tags"):
        store.add_tags_from_staged(conn, [(r["id"], real[r["article_id"]]) for r in batch.new])
    if batch.edits:
        records = staging.staged_records(conn, (r["id"] for _, r, _ in batch.edits))
        edits = []
        for article_id, r, url in batch.edits:
            values, shingles = _signature(records[r["id"]])
            edits.append(Edit(article_id, {**records[r["id"]], "url": url}, values, shingles))
        apply_edits(conn, edits, now=loaded_at, cause="edit", timer=timer)
    with timer.phase("raw pages"):
        stored = store.articles_with_raw_page(
            conn, (aid for aid, _, own in batch.pages if not own and aid > 0))
        pages: dict[int, int] = {}  # article id -> staged id of the page it keeps
        for aid, r, own in batch.pages:
            if r["has_raw"] and (own or (final(aid) not in pages and aid not in stored)):
                pages[final(aid)] = r["id"]
        store.save_raw_pages_from_staged(conn, list(pages.items()))


def _new_articles(
    conn: Connection, new: Sequence[dict[str, Any]], real: dict[int, int],
) -> list[minhash.NewArticle]:
    """The batch's new articles for `clusters.plan_clusters`, with the sketch each record
    carries; a record staged without one is sketched from its whole text (older rows)."""
    sketches = [_signature(r["record"]) for r in new]
    unsketched = staging.staged_records(
        conn, (r["id"] for r, (values, _) in zip(new, sketches, strict=True) if values is None))
    out = []
    for r, (values, shingles) in zip(new, sketches, strict=True):
        record = r["record"]
        out.append(minhash.NewArticle(
            article_id=real[r["article_id"]], title=record["title"],
            body=unsketched[r["id"]]["body"] if r["id"] in unsketched else "",
            language=record.get("language"), outlet=record["source"],
            first_seen_at=_aware(record["fetched_at"]), signature=values,
            shingle_count=shingles,
        ))
    return out


def _aware(value: Any) -> datetime:
    """A staged record's time (JSON text) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_run(conn: Connection, run_id: str, now: datetime | None = None,
             timer: PhaseTimer | None = None) -> dict[str, int]:
    """Load a run's staged records in one transaction; direct feeds before search feeds.

    So an outlet's own entry wins over the same story found through a search feed, and
    the second copy of a story within the run counts as a duplicate. The log line gives
    the time of each phase (also in `timer`, if given: the benchmark reads it there).
    """
    loaded_at = now if now is not None else datetime.now(UTC)
    timer = timer if timer is not None else PhaseTimer()
    started = time.perf_counter()
    counts = {"new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}
    touched: set[int] = set()
    marks: list[tuple[int, int | None, int | None, str]] = []
    failed: list[tuple[int, str, str]] = []  # (staged id, code, detail) set aside
    try:
        with timer.phase("lock"), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        for rows in _timed_batches(staging.pending_batches(conn, run_id, BATCH_SIZE), timer):
            for r in rows:
                r["record"] = r["record"] or {}
            results: dict[int, tuple[int | None, str]] = {}
            touched_before = set(touched)
            try:
                with savepoint(conn, "load_batch"):
                    _load_rows(conn, rows, loaded_at, touched, results, timer)
            except Exception:
                if getattr(conn, "closed", False):
                    raise
                # Some row the database refuses: load the batch again one row at a time,
                # setting aside the rows that fail alone, so the rest of the run loads.
                LOGGER.exception("load %s: a batch failed; loading its rows one by one", run_id)
                results.clear()
                touched.intersection_update(touched_before)
                for r in rows:
                    touched_row = set(touched)
                    try:
                        with savepoint(conn, "load_row"):
                            _load_rows(conn, [r], loaded_at, touched, results, timer)
                    except Exception as exc:
                        if getattr(conn, "closed", False):
                            raise
                        LOGGER.error("load %s: staged row %s set aside: %s: %s", run_id,
                                     r["id"], type(exc).__name__, exc)
                        failed.append((r["id"], type(exc).__name__,
                                       f"load failed: {type(exc).__name__}: {exc}"[:2000]))
                        results.pop(r["id"], None)
                        touched.intersection_update(touched_row)
            for r in rows:
                if r["id"] not in results:
                    continue
                article_id, outcome = results[r["id"]]
                # Written together after the loop (same transaction): nothing reads them.
                marks.append((r["id"], r["entry_id"], article_id, outcome))
                counts[outcome] += 1
        with timer.phase("events"):
            linked = 0
            while linked < EVENT_LINKS_PER_LOAD:
                step = event_links.link_pending(conn, min(BATCH_SIZE,
                                                          EVENT_LINKS_PER_LOAD - linked))
                if not step:
                    break
                linked += step
        with timer.phase("outcomes"):
            store.mark_loaded_many(conn, marks, loaded_at)
            store.mark_load_failed(conn, failed, loaded_at)
        with timer.phase("prune"):
            raw_pruned, staged_pruned = store.prune(
                conn,
                raw_before=loaded_at - timedelta(days=config.raw_retention_days()),
                staged_before=loaded_at - timedelta(days=config.staged_retention_days()),
            )
            store.prune_feed_log(
                conn, loaded_at - timedelta(days=config.feed_log_retention_days()))
        with timer.phase("commit"):
            conn.commit()
    except Exception:
        if not getattr(conn, "closed", False):  # a lost server leaves nothing to roll back
            conn.rollback()
        raise
    LOGGER.info("load %s: %s in %.3f s (pruned %d raw pages, %d staging rows); phases: %s",
                run_id, counts, time.perf_counter() - started, raw_pruned, staged_pruned,
                timer.summary())
    return counts


def _load_rows(
    conn: Connection, rows: list[dict[str, Any]], loaded_at: datetime, touched: set[int],
    results: dict[int, tuple[int | None, str]], timer: PhaseTimer,
) -> None:
    """Resolve and write `rows` in load order, in set-based batches (see `_resolve`).

    On an exception the caller rolls back to its savepoint and restores `touched` and
    `results`, which this fills as it goes.
    """
    start = 0
    while start < len(rows):
        with timer.phase("resolve"):
            batch, stop = _resolve(conn, rows[start:], loaded_at, touched, results)
        _write_batch(conn, batch, results, touched, loaded_at, timer)
        if stop is None:
            return
        assert stop > 0, "a batch's first row never stops it"
        start += stop


def _timed_batches(
    batches: Iterator[list[dict[str, Any]]], timer: PhaseTimer,
) -> Iterator[list[dict[str, Any]]]:
    """`batches`, the time spent reading each one counted as the phase "staged rows"."""
    while True:
        with timer.phase("staged rows"):
            rows = next(batches, None)
        if rows is None:
            return
        yield rows
