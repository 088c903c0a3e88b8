"""The pipeline's steps, each a function the DAG calls with a connection and a fetcher.

    sync_catalog -> fetch_feed (per source) -> fetch_articles (per source)
    -> load (scrapers.db.loader.load_run, then search.index_pending) -> run_summary

Each step commits its own work, so a failure of one source or one page leaves what
others did in place, and each step can be re-run: every write is an upsert.
Transport and database errors raise (Airflow retries them); content problems become
rows with a reason (`staged_articles.status = 'rejected'`, `feed_fetches.error`).

Feed parsing (feedparser, bs4), extraction (trafilatura, lxml) and the load (numpy through
the clusters) are imported by the steps that use them, when they use them: each task runs in
a process of its own, the catalog and summary tasks need none of them, and a feed task whose
feed has not changed (most of them, most runs) needs no parser (docs/benchmarks.md,
"Imports per task").
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from scrapers import config
from scrapers.catalog import source_zone
from scrapers.db import search, staging, store
from scrapers.db.connection import Connection, savepoint
from scrapers.dedup.hashes import content_hash, entry_fingerprint
from scrapers.fetch.http import Fetcher, FetchError
from scrapers.fetch.politeness import RobotsPolicy
from scrapers.fetch.schedule import backoff_s, disable_reason, next_fetch_after_success
from scrapers.models import (
    Article,
    FeedEntry,
    FetchResult,
    Rejection,
    Relevance,
    Source,
    StagedRecord,
)
from scrapers.relevance.scoring import is_fetch_candidate, score_relevance
from scrapers.text.encoding import strip_controls
from scrapers.text.urls import (
    canonicalize_url,
    is_search_stub,
    normalize_url,
    same_site,
    search_stub_target,
)

LOGGER = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MIN_BODY_CHARS = 1  # pages with no extractable text at all are rejected, not stored
#: Longest URL stored: the URL indexes refuse keys over about 2,700 bytes, and one such row
#: would fail the whole load on every retry.
MAX_URL_BYTES = 2000
#: Longest outlet name stored (from a feed's own source element).
MAX_OUTLET_CHARS = 512


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def sync_catalog(
    conn: Connection, sources: Sequence[Source], now: datetime | None = None,
    fetch_all: bool = False,
) -> list[dict[str, Any]]:
    """Bring `sources` in line with the catalog; returns the sources due for a fetch.

    Due: enabled in the catalog, not disabled by health, next fetch time reached (every
    enabled, healthy source when `fetch_all`, e.g. a manual run).
    """
    staging.sync_sources(conn, sources)
    rows = staging.due_sources(conn, _now(now), fetch_all)
    conn.commit()
    return rows


def is_candidate(relevance: Relevance, language: str | None) -> bool:
    """Stage 1: whether a feed entry's title/summary justify fetching its page."""
    return is_fetch_candidate(relevance, language)


def fetch_feed(
    conn: Connection, source_id: int, run_id: str, fetcher: Fetcher, now: datetime | None = None
) -> dict[str, Any]:
    """Fetch and parse one source's feed, store its entries; returns counts for XCom.

    `page_work` is False when the feed had not changed and no earlier page of the source
    is left to retry: then `fetch_articles` has nothing to do (the DAG skips it).

    The feed_fetches row is committed before the request, and its outcome after, so a
    failure is on record even when the task then fails. The source's next fetch time is
    set by scrapers.fetch.schedule: adaptive on success, backed off on failure.
    """
    started = _now(now)
    schedule = config.FetchSchedule.from_env()
    source = staging.get_source(conn, source_id)
    done = staging.finished_feed_fetch(conn, source_id, run_id)
    if done is not None:  # a rerun of this run's task: its entries are stored already
        LOGGER.info("%s: feed already fetched in run %s (fetch %d)", source["name"], run_id,
                    done["id"])
        return {"source": source["name"], "source_id": source_id, "fetch_id": done["id"],
                "status": done["http_status"], "entries": done["entries"] or 0,
                "candidates": done["relevant"] or 0, "new_entries": done["new_entries"] or 0,
                "page_work": True}
    if _record_killed_attempts(conn, source, started, schedule):
        source = staging.get_source(conn, source_id)
    fetch_id = staging.start_feed_fetch(conn, source_id, run_id, source["url"], started)
    conn.commit()
    status: int | None = None
    counts = {"source": source["name"], "source_id": source_id, "fetch_id": fetch_id,
              "status": None, "entries": 0, "candidates": 0, "new_entries": 0,
              "page_work": True}
    try:
        result = fetcher.fetch(
            source["url"], etag=source["etag"], last_modified=source["last_modified"],
            accept=FEED_ACCEPT,
        )
        status = counts["status"] = result.status
        body_hash = hashlib.sha256(result.body).hexdigest() if result.body else None
        unchanged = result.not_modified or body_hash == source["last_body_hash"]
        skipped = new_entries = candidates = 0
        entries: list[FeedEntry] = []
        warning: str | None = None
        if not unchanged:
            from scrapers.feeds import parse_feed_detailed

            parsed = parse_feed_detailed(result.body, result.final_url,
                                         naive_zone=source_zone(source))
            entries, skipped = parsed.entries, len(parsed.skipped)
            warning = parsed.bozo_exception
            for entry in entries:
                try:
                    with savepoint(conn, "feed_entry"):
                        is_new, is_candidate_entry = store_entry(conn, source, entry,
                                                                 fetch_id, started)
                except Exception:
                    if getattr(conn, "closed", False):
                        raise
                    # One entry the database refuses must not cost the feed its others.
                    LOGGER.exception("%s: entry %r not stored", source["name"], entry.url)
                    skipped += 1
                    continue
                new_entries += is_new
                candidates += is_candidate_entry
        staging.finish_feed_fetch(
            conn, fetch_id, finished_at=_now(now), http_status=result.status,
            not_modified=result.not_modified, body_unchanged=unchanged and not
            result.not_modified, nbytes=len(result.body), entries=len(entries),
            relevant=candidates, skipped=skipped, new_entries=new_entries,
            parse_warning=warning[:2000] if warning else None,
        )
        next_at, interval = next_fetch_after_success(
            started, source["fetch_interval_s"], new_entries, schedule)
        staging.record_source_success(
            conn, source_id, started, etag=result.etag, last_modified=result.last_modified,
            body_hash=body_hash, next_fetch_at=next_at, interval_s=interval,
            new_entries=new_entries,
        )
        conn.commit()
    except Exception as exc:
        if getattr(conn, "closed", False):  # the database itself is gone: not the source's fault
            raise
        conn.rollback()
        message = f"{type(exc).__name__}: {exc}"[:2000]
        status = getattr(exc, "status", status)
        retry_after = getattr(exc, "retry_after_s", None)
        staging.finish_feed_fetch(
            conn, fetch_id, finished_at=_now(now), http_status=status,
            retry_after_s=retry_after, error_class=type(exc).__name__, error=message,
        )
        # Airflow's retries of one run are one failure of the source, not one each.
        reason, wait_s = _record_failure(
            conn, source, started, schedule, error=message, error_class=type(exc).__name__,
            status=status, retry_after=retry_after,
            counts=not staging.failed_earlier_in_run(conn, source_id, run_id, fetch_id))
        conn.commit()
        LOGGER.error("%s: feed fetch failed: %s", source["name"], message)
        if reason:
            LOGGER.error("%s: source disabled: %s", source["name"], reason)
        # For the task's retry policy (plugins/nichiro_retry.py): a retry before the source
        # is due again would ignore its backoff and the server's Retry-After.
        exc.due_in_s = wait_s  # type: ignore[attr-defined]
        raise
    if unchanged:
        # Nothing new in the feed: pages are left only if an earlier run's were not done.
        counts["page_work"] = bool(staging.candidate_entries(conn, fetch_id,
                                                           _backlog_since(started)))
        conn.commit()
        LOGGER.info("%s: not modified (%s)%s", source["name"],
                    "304" if result.not_modified else "same body as last time",
                    "" if counts["page_work"] else "; no page left to fetch")
    else:
        LOGGER.info("%s: %d entries (%d new), %d candidates, %d skipped", source["name"],
                    len(entries), new_entries, candidates, skipped)
    counts.update(entries=len(entries), candidates=candidates, new_entries=new_entries)
    return counts


KILLED = "TaskKilled"


def _record_failure(
    conn: Connection, source: dict[str, Any], now: datetime, schedule: config.FetchSchedule,
    *, error: str, error_class: str, status: int | None = None,
    retry_after: int | None = None, counts: bool = True,
) -> tuple[str | None, int]:
    """Record a failed attempt on the source: backoff, and disabling when due (a failure
    that does not `count` updates the error only). Returns the disabling reason, if any,
    and the seconds until the source is due again."""
    failures = source["consecutive_failures"] + (1 if counts else 0)
    reason = disable_reason(failures, status, error, schedule)
    wait_s = backoff_s(failures, retry_after, schedule)
    staging.record_source_failure(
        conn, source["id"], now, error=error, error_class=error_class,
        next_fetch_at=now + timedelta(seconds=wait_s), disabled_reason=reason, counts=counts,
    )
    return reason, wait_s


def _record_killed_attempts(conn: Connection, source: dict[str, Any], now: datetime,
                            schedule: config.FetchSchedule) -> bool:
    """Count an earlier attempt that never finished as the source's failure.

    A task killed mid-fetch (memory limit, timeout, OOM, a crash) writes nothing, so
    without this a feed that kills its task would keep its health and be fetched, and kill
    its task, on every run; now it backs off and is disabled like any failing source.
    """
    abandoned = staging.abandoned_feed_fetches(conn, source["id"])
    if not abandoned:
        return False
    message = (f"{len(abandoned)} earlier attempt(s) ended without a result: the task was "
               "killed (memory limit, timeout or crash)")
    for fetch_id in abandoned:
        staging.finish_feed_fetch(conn, fetch_id, finished_at=now, http_status=None,
                                  error_class=KILLED, error=message)
    _record_failure(conn, source, now, schedule, error=message, error_class=KILLED)
    conn.commit()
    LOGGER.error("%s: %s", source["name"], message)
    return True


def store_entry(
    conn: Connection, source: dict[str, Any], entry: FeedEntry, fetch_id: int, now: datetime,
    *, discovered_via: str = "feed", judged: bool = True,
) -> tuple[bool, bool]:
    """Store one entry; returns (first time seen, candidate for a page fetch).

    :param judged: whether the entry's title can say if its page is worth fetching; an
        entry with nothing to judge by (a sitemap URL of digits) is a candidate, and its
        page decides.
    """
    relevance = score_relevance(entry.title, "", source["language"], summary=entry.summary)
    candidate = is_candidate(relevance, source["language"]) or not judged
    link = entry.url
    if source["kind"] == "search":
        # A search feed's stub link may carry the publisher's URL: use it, so the story
        # is recognised when it also arrives through the outlet's own feed.
        link = search_stub_target(link) or link
        if is_search_stub(link):
            link = resolve_by_headline(conn, entry) or link
    try:
        url = canonicalize_url(link)
    except ValueError:
        return False, False
    _, is_new = staging.upsert_feed_entry(conn, {
        "source_id": source["id"], "guid": entry.guid, "link": link, "url": url,
        "title": entry.title, "summary": entry.summary, "published_at": entry.published_at,
        "published_precision": entry.published_precision,
        "outlet": entry.outlet, "fingerprint": entry_fingerprint(entry),
        "relevance_score": relevance.score, "candidate": candidate,
        "matched_terms": staging.evidence_json(relevance.evidence), "now": now,
        "fetch_id": fetch_id, "discovered_via": discovered_via,
    })
    return is_new, candidate


def resolve_by_headline(conn: Connection, entry: FeedEntry) -> str | None:
    """The publisher's URL of a search-feed item whose link is opaque (Google News'
    current ids only Google can read), without asking the search engine: the entry the
    publisher's own feed, sitemap or GDELT gave with the same headline, on the site the
    item names, within two days (`scrapers.headlines`). None when nothing matches."""
    from scrapers.headlines import MAX_APART, KnownEntry, match_entry, site_of

    site = site_of(entry.outlet_url) if entry.outlet_url else None
    known = [KnownEntry(row["url"], row["title"], row["published_at"])
             for row in staging.entries_on_site(conn, site or None, entry.published_at,
                                                MAX_APART)]
    return match_entry(entry.title, entry.outlet, entry.outlet_url, entry.published_at,
                       known)


def _backlog_since(started: datetime) -> datetime:
    """Earlier candidates seen since then that never became an article are retried."""
    return started - timedelta(hours=config.backlog_hours())


def fetch_articles(
    conn: Connection,
    source_id: int,
    run_id: str,
    fetch_id: int,
    fetcher: Fetcher,
    now: datetime | None = None,
    *,
    limit: int | None = None,
    backfill: bool = False,
    host_daily_pages: int | None = None,
) -> dict[str, Any]:
    """Fetch and extract the pages of one feed fetch's candidate entries into staging.

    A page is fetched when its story is not stored yet, or was first seen within the
    re-fetch window (to catch edits; conditional GET keeps that cheap). A failing page
    is recorded with its reason and does not stop the others. Earlier candidates of the
    source that never became an article (a killed run, a failed page) are retried within
    the backlog window, up to three failed attempts.

    :param limit: pages fetched at most (default `config.max_articles_per_source()`).
    :param backfill: the fetch is a backfill's (scrapers.backfill): no backlog, and entries
        whose page this run already staged are skipped, so a rerun goes on from there.
    :param host_daily_pages: with `backfill`, pages any backfill may fetch from one host in
        this UTC day; the entries of a host that has had them wait for a later run.
    """
    started = _now(now)
    source = staging.get_source(conn, source_id)
    window = timedelta(hours=config.refetch_window_hours())
    limit = config.max_articles_per_source() if limit is None else limit
    counts = {"fetched": 0, "known": 0, "rejected": 0, "errors": 0, "not_modified": 0}
    rejected_by: Counter[str] = Counter()
    robots = RobotsPolicy(conn, fetcher, fetcher.settings.user_agent)
    stage = partial(_stage, conn, run_id, source_id, started)
    if backfill:
        entries = staging.candidate_entries(conn, fetch_id, skip_staged_in=run_id)
        if host_daily_pages is not None:
            entries = _within_host_budget(conn, entries, host_daily_pages, started)
    else:
        entries = staging.candidate_entries(conn, fetch_id, _backlog_since(started))
    for entry in entries[:limit]:
        try:
            outcome, code = _fetch_page(entry, source, fetcher, robots, stage, started, window)
        except Exception as exc:
            if getattr(conn, "closed", False):  # the database itself is gone: stop the task
                raise
            # One page must never stop the others: the failure is staged as an error, so
            # the attempt limit applies to it like to any failed fetch.
            conn.rollback()
            LOGGER.exception("%s: page %s failed unexpectedly", source["name"], entry["link"])
            stage(entry, "error", Rejection(type(exc).__name__,
                                            f"{type(exc).__name__}: {exc}"[:2000]), None)
            outcome, code = "errors", None
        counts[outcome] += 1
        if code is not None:
            rejected_by[code] += 1
    reasons = ", ".join(f"{why} {n}" for why, n in rejected_by.most_common())
    LOGGER.info(
        "%s: pages fetched=%d not_modified=%d already_stored=%d rejected=%d%s errors=%d",
        source["name"], counts["fetched"], counts["not_modified"], counts["known"],
        counts["rejected"], f" ({reasons})" if reasons else "", counts["errors"],
    )
    return {"source": source["name"], "source_id": source_id, **counts,
            "rejected_by": dict(rejected_by)}


def _within_host_budget(conn: Connection, entries: list[dict[str, Any]], pages: int,
                        now: datetime) -> list[dict[str, Any]]:
    """The entries, in order, whose host has not had `pages` backfill pages this UTC day
    (counting the ones before them in the list)."""
    from scrapers.db.backfill import host_pages_since

    day_start = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)
    spent: dict[str, int] = {}
    kept = []
    for entry in entries:
        host = urlsplit(entry["link"]).netloc.lower()
        if host not in spent:
            spent[host] = host_pages_since(conn, host, day_start)
        if spent[host] < pages:
            spent[host] += 1
            kept.append(entry)
    return kept


def _fetch_page(
    entry: dict[str, Any], source: dict[str, Any], fetcher: Fetcher, robots: RobotsPolicy,
    stage: Callable[..., None], started: datetime, window: timedelta,
) -> tuple[str, str | None]:
    """Fetch, extract and stage one candidate page; returns (count key, rejection code)."""
    from scrapers.db.loader import minhash_field
    from scrapers.extract.body import extract_article

    known_id = entry["known_article_id"]
    if known_id is not None and entry["article_first_seen_at"] < started - window:
        stage(entry, "known", None, {"article_id": known_id})
        return "known", None
    if source["kind"] == "search" and is_search_stub(entry["link"]):
        # Opaque: only the search engine could say where the story is, and it is not
        # asked (store_entry matched what it could). The headline is kept, flagged.
        article = Article(url=entry["link"], title=entry["title"], text="",
                          published_at=entry["published_at"],
                          published_precision=entry["published_precision"])
        record, rejection = build_record(source, entry, article, None, None, started,
                                         headline_only=True)
        if rejection:
            stage(entry, "rejected", rejection, record)
            return "rejected", rejection.code
        stage(entry, "extracted", None, record)
        return "fetched", None
    verdict = robots.verdict(entry["link"], started)
    if verdict == "unavailable":  # retried by a later run, within the attempt limit
        stage(entry, "error", Rejection("robots.txt unavailable",
                                        "robots.txt unavailable (unreachable, 5xx or 429)"), None)
        return "errors", None
    if verdict == "disallowed":
        stage(entry, "rejected", Rejection("robots.txt", "robots.txt disallows this page"), None)
        return "rejected", "robots.txt"
    try:
        result = fetcher.fetch(
            entry["link"], etag=entry["article_etag"],
            last_modified=entry["article_last_modified"], accept=PAGE_ACCEPT,
        )
    except FetchError as exc:
        stage(entry, "error", Rejection(type(exc).__name__, f"{type(exc).__name__}: {exc}"),
              None)
        LOGGER.warning("%s: page fetch failed: %s", source["name"], exc)
        return "errors", None
    if result.not_modified:
        stage(entry, "not_modified", None, {"article_id": known_id})
        return "not_modified", None
    try:
        article = extract_article(result.body, result.final_url, result.content_type,
                                  naive_zone=source_zone(source))
    except ValueError as exc:
        stage(entry, "rejected", Rejection("unextractable", f"unextractable: {exc}"), None)
        return "rejected", "unextractable"
    record, rejection = build_record(source, entry, article, result.etag,
                                     result.last_modified, started)
    if rejection:
        stage(entry, "rejected", rejection, record)
        return "rejected", rejection.code
    # Sketched here, in the per-source task, so the load (one task) need not.
    record = replace(record, minhash=minhash_field(record.title, record.body, record.language))
    stage(entry, "extracted", None, record, result)
    return "fetched", None


def load(conn: Connection, run_id: str, now: datetime | None = None) -> dict[str, int]:
    """The load task: the run's articles in one transaction, then their search rows.

    Search rows (tsvector, trigrams) cost more to write than the article rows themselves
    (docs/benchmarks.md, "The load"), so they are written after the load commits, for the
    articles this run stored or changed (index look-ups, whatever the size of the archive).
    A retried task finds them again in the run's staging rows; anything else left
    unindexed is caught up by `nichiro_digest` (`search.index_all`: `index_pending` over
    all articles, in batches).
    """
    from scrapers.db.loader import load_run

    counts = load_run(conn, run_id, now)
    indexed = search.index_pending(conn, article_ids=store.run_article_ids(conn, run_id))
    conn.commit()
    LOGGER.info("search rows written: %d", indexed)
    return counts


def _stage(
    conn: Connection, run_id: str, source_id: int, staged_at: datetime, entry: dict[str, Any],
    status: str, rejection: Rejection | None,
    record: StagedRecord | dict[str, Any] | None,
    page: FetchResult | None = None,
) -> None:
    staging.stage_article(conn, {
        "run_id": run_id, "source_id": source_id, "entry_id": entry["id"], "url": entry["url"],
        "staged_at": staged_at,
        "status": status, "reason": rejection.detail if rejection else None,
        "reason_code": rejection.code if rejection else None,
        "record": json.dumps(record.as_row() if isinstance(record, StagedRecord) else record,
                             ensure_ascii=False, default=str) if record else None,
        "raw_gz": gzip.compress(page.body, compresslevel=6) if page else None,
        "raw_url": page.final_url if page else None,
        "raw_content_type": page.content_type if page else None,
    })
    conn.commit()


def build_record(
    source: dict[str, Any], entry: dict[str, Any], article: Article, etag: str | None,
    last_modified: str | None, fetched_at: datetime, *, headline_only: bool = False,
) -> tuple[StagedRecord, Rejection | None]:
    """Merge feed entry and extracted page into an `articles` row, and why it is rejected
    (None when it is loaded).

    `headline_only`: there is no page, only the entry (a search item whose link could not
    be resolved); it is judged on its headline and stored without a body.

    ``url`` is where an analyst can open the story, ``url_key`` the dedup key the loader
    files it under (see `record_urls`).
    """
    url_key, url = record_urls(entry, article)
    # `&#0;` in a page decodes to NUL, which PostgreSQL refuses: the staging of the page (and
    # so the whole task) would fail on it. Other C0 controls are no text either.
    title = strip_controls(article.title or entry["title"])
    body = strip_controls(article.text)
    language = article.language or source["language"]
    relevance = score_relevance(title, body, language, summary=entry["summary"])
    record = StagedRecord(
        url=url,
        url_key=url_key,
        original_url=entry["link"],
        title=title,
        body=body,
        summary=strip_controls(entry["summary"] or article.summary or ""),
        authors=[strip_controls(name) for name in article.authors],
        published_at=article.published_at or entry["published_at"],
        fetched_at=fetched_at,
        language=language,
        source=(entry["outlet"] or source["outlet"])[:MAX_OUTLET_CHARS],
        source_id=source["id"],
        guid=entry["guid"],
        tags=[strip_controls(tag) for tag in article.tags],
        captions=[strip_controls(caption) for caption in article.captions],
        relevance_score=relevance.score,
        relevant=relevance.relevant,
        matched_terms=[
            {"term": e.term, "field": e.field, "group": e.group, "weight": e.weight}
            for e in relevance.evidence
        ],
        topic_tags=list(relevance.tags),
        content_hash=content_hash(title, body),
        etag=etag,
        last_modified=last_modified,
        published_precision=_published_precision(article, entry),
        truncated=article.truncated,
        paywalled=article.paywalled,
        headline_only=headline_only,
    )
    longest = max(len(url.encode()), len(url_key.encode()))
    if longest > MAX_URL_BYTES:
        return record, Rejection("url too long", f"URL of {longest} bytes (at most "
                                                 f"{MAX_URL_BYTES} are stored)")
    if article.page_kind == "listing":
        return record, Rejection("listing page", "listing page (many headlines, no article body)")
    if len(body.strip()) < MIN_BODY_CHARS and not headline_only:
        return record, Rejection("no article text", "no article text found on the page")
    if not relevance.relevant:
        return record, Rejection("not relevant", f"not relevant with body: {relevance.reason}")
    return record, None


def record_urls(entry: dict[str, Any], article: Article) -> tuple[str, str]:
    """(dedup key, URL to store and show) of a fetched page.

    The page's rel=canonical is its key and the URL shown only when it is on the site the
    page was served from (or the page is a search-engine stub, which stands for the
    publisher it names); else the feed entry's key and the URL the page was served from
    after redirects. A canonical on another site is ignored: any page may name any URL, and
    taking its word would let it overwrite the article stored there (a syndicated copy is
    joined to its original as a story instead, docs/clusters.md). A rel=canonical naming a
    site's front page is a template bug, not identity, and is ignored too. Keys are
    scheme-folded (`canonicalize_url`); the URL shown keeps its scheme (`normalize_url`).
    """
    url_key: str = entry["url"]
    url: str | None = None
    if article.canonical_url:
        try:
            canonical = normalize_url(article.canonical_url)
        except ValueError:
            canonical = None
        if (canonical and not _is_front_page(canonical)
                and (same_site(canonical, article.url) or is_search_stub(article.url))):
            url_key, url = canonicalize_url(canonical), canonical
    if url is None:
        for served in (article.url, entry["link"]):
            try:
                url = normalize_url(served)
                break
            except ValueError:
                continue
    return url_key, url or url_key


def _is_front_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path == "/" and not parts.query


def _published_precision(article: Article, entry: dict[str, Any]) -> str:
    """How much of `published_at` is stated: the page's own precision, else the feed's."""
    if article.published_at is not None:
        return article.published_precision
    if entry["published_at"] is None:
        return "none"
    return str(entry.get("published_precision") or "datetime")
