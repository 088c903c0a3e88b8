"""Story clusters: group wire copies and light rewrites of one story, incrementally.

Each article keeps its own row; near-duplicates share a `story_clusters` row through
`articles.cluster_id`. The method (shingles, MinHash signatures, LSH bands, verification)
and its pure part are in `scrapers.dedup.minhash`; figures and the reasons for each
parameter are in docs/clusters.md.

Clustering is incremental: an article's cluster is decided when it is assigned (and
again when its text changes); other clusters change only by such a merge, at a cost
proportional to their size.

`assign_cluster` (one stored article) and `plan_clusters` + `write_plan` (a batch of new
articles, set-based, with the same result as `assign_cluster` called for each in order) run
their SQL on a DB-API (psycopg2) connection and leave transaction control to the caller.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from scrapers.db.connection import Connection, Cursor
from scrapers.dedup.minhash import (
    DEFAULT_PARAMS,
    Candidate,
    ClusterAssignment,
    ClusterParams,
    NewArticle,
    Sketched,
    StoredHit,
    article_band_keys,
    containment,
    decide,
    decide_batch,
    seen_day,
    signature_bytes,
    signature_from_bytes,
    sketch,
)
from scrapers.timing import NO_TIMER, PhaseTimer

LOGGER = logging.getLogger(__name__)


# --------------------------------------------------------------------------- DB part

_CANDIDATES_SQL = """
WITH keys AS (
    SELECT * FROM unnest(%(bands)s::smallint[], %(buckets)s::bigint[]) AS k(band, bucket)
), hits AS (
    SELECT l.article_id, count(*) AS shared
    FROM keys k
    JOIN article_lsh_bands l ON l.band = k.band AND l.bucket = k.bucket
        AND l.seen_day BETWEEN %(day)s - %(window)s AND %(day)s + %(window)s
    WHERE l.article_id <> %(article_id)s
    GROUP BY l.article_id
    ORDER BY shared DESC, l.article_id
    LIMIT %(limit)s
)
SELECT h.article_id, a.cluster_id, m.signature
FROM hits h
JOIN article_minhash m ON m.article_id = h.article_id AND m.params = %(params)s
JOIN articles a ON a.id = h.article_id
WHERE a.cluster_id IS NOT NULL
"""


def assign_cluster(
    conn: Connection,
    article_id: int,
    title: str,
    body: str,
    language: str | None,
    outlet: str,
    first_seen_at: datetime | None,
    params: ClusterParams = DEFAULT_PARAMS,
) -> ClusterAssignment:
    """Put a stored article into a story cluster; returns where it went.

    Call it after the article's row is written, in the same transaction (no commit here).
    Unchanged text with the same parameters changes nothing and returns the stored
    assignment. Changed text replaces the article's signature and bands and decides its
    cluster again (it stays while a member of its cluster still matches).

    :param article_id: `articles.id` of the row just inserted or updated.
    :param outlet: the article's outlet, used for logging the match.
    :param first_seen_at: when the article was first seen (aware); widens the cluster's
        first/last seen. None: take `articles.first_seen_at` of the row.
    :raises LookupError: if no article has that id.
    """
    values, shingle_count = sketch(title, body, language, params)
    signature = signature_bytes(values)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.cluster_id, m.signature, m.params, m.matched_article_id, m.similarity,
                      a.first_seen_at
               FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
               WHERE a.id = %s FOR UPDATE OF a""",
            (article_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"no article with id {article_id}: upsert it before clustering")
        current, stored_sig, stored_params, stored_match, stored_sim, row_seen = row
        if first_seen_at is None:
            first_seen_at = row_seen
        day = seen_day(row_seen)  # the row's own day, as the batch path and V016 use
        if (current is not None and stored_sig is not None and bytes(stored_sig) == signature
                and stored_params == params.tag):
            return ClusterAssignment(int(current), False, stored_match, stored_sim)

        keys = article_band_keys(values, shingle_count, params)
        if stored_sig is not None:
            cur.execute("DELETE FROM article_lsh_bands WHERE article_id = %s", (article_id,))
        candidates: list[Candidate] = []
        if keys:
            cur.execute(_CANDIDATES_SQL, {
                "bands": [b for b, _ in keys], "buckets": [k for _, k in keys],
                "article_id": article_id, "limit": params.max_candidates,
                "params": params.tag, "day": day, "window": params.window_days,
            })
            candidates = [
                Candidate(int(aid), int(cid),
                          containment(values, signature_from_bytes(sig), params.min_shared))
                for aid, cid, sig in cur.fetchall()
            ]
        decision = decide(candidates, current, params.threshold)
        chosen = decision.best

        is_new = False
        if decision.cluster_id is not None:
            target = decision.cluster_id
            if decision.merge:
                _merge_clusters(cur, target, decision.merge)
        elif current is not None and _cluster_size(cur, current) == 1:
            target = current  # alone before and still alone: keep its cluster id
        else:
            cur.execute(
                """INSERT INTO story_clusters (first_seen_at, last_seen_at, article_count)
                   VALUES (%s, %s, 0) RETURNING id""",
                (first_seen_at, first_seen_at),
            )
            target = int(cur.fetchone()[0])
            is_new = True

        if keys:
            cur.execute(
                """INSERT INTO article_lsh_bands (band, seen_day, bucket, article_id)
                   SELECT unnest(%s::smallint[]), %s, unnest(%s::bigint[]), %s
                   ON CONFLICT DO NOTHING""",
                ([b for b, _ in keys], day, [k for _, k in keys], article_id),
            )
        matched = chosen.article_id if chosen else None
        similarity = chosen.similarity if chosen else None
        cur.execute(
            """INSERT INTO article_minhash (article_id, num_perm, signature, shingle_count,
                   params, matched_article_id, similarity, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, now())
               ON CONFLICT (article_id) DO UPDATE SET
                   num_perm = EXCLUDED.num_perm, signature = EXCLUDED.signature,
                   shingle_count = EXCLUDED.shingle_count, params = EXCLUDED.params,
                   matched_article_id = EXCLUDED.matched_article_id,
                   similarity = EXCLUDED.similarity, updated_at = EXCLUDED.updated_at""",
            (article_id, len(values), signature, shingle_count, params.tag, matched,
             similarity),
        )
        if target != current:
            cur.execute("UPDATE articles SET cluster_id = %s WHERE id = %s",
                        (target, article_id))
            cur.execute(
                """UPDATE story_clusters SET article_count = article_count + 1,
                       first_seen_at = least(first_seen_at, %s),
                       last_seen_at = greatest(last_seen_at, %s)
                   WHERE id = %s""",
                (first_seen_at, first_seen_at, target),
            )
            if current is not None:
                _refresh_cluster(cur, current)
    got = ClusterAssignment(target, is_new, matched, similarity, decision.merge)
    _log_assignment(article_id, outlet, language, got)
    return got


def _log_assignment(article_id: int, outlet: str, language: str | None,
                    got: ClusterAssignment) -> None:
    if not LOGGER.isEnabledFor(logging.DEBUG):
        return
    LOGGER.debug("article %s (%s, %s) -> cluster %s%s%s", article_id, outlet, language,
                 got.cluster_id,
                 f" via {got.matched_article_id} (J~{got.similarity:.2f})"
                 if got.similarity is not None else " (new)" if got.is_new_cluster else "",
                 f", merged {list(got.merged_cluster_ids)}" if got.merged_cluster_ids else "")


def _merge_clusters(cur: Cursor, target: int, others: Sequence[int]) -> None:
    """Fold clusters into `target`: their articles move, their rows go (cost: their size)."""
    ids = [target, *others]
    cur.execute("SELECT id FROM story_clusters WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (sorted(ids),))
    cur.execute(
        """UPDATE story_clusters t SET article_count = t.article_count + s.n,
               first_seen_at = least(t.first_seen_at, s.first_seen),
               last_seen_at = greatest(t.last_seen_at, s.last_seen)
           FROM (SELECT sum(article_count) AS n, min(first_seen_at) AS first_seen,
                        max(last_seen_at) AS last_seen
                 FROM story_clusters WHERE id = ANY(%(others)s)) s
           WHERE t.id = %(target)s""",
        {"target": target, "others": list(others)},
    )
    cur.execute("UPDATE articles SET cluster_id = %s WHERE cluster_id = ANY(%s)",
                (target, list(others)))
    cur.execute("DELETE FROM story_clusters WHERE id = ANY(%s)", (list(others),))


def _cluster_size(cur: Cursor, cluster_id: int) -> int:
    cur.execute("SELECT article_count FROM story_clusters WHERE id = %s", (cluster_id,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _refresh_cluster(cur: Cursor, cluster_id: int) -> None:
    """Recount a cluster an article left (from its members, via the cluster_id index)."""
    cur.execute(
        """WITH m AS (SELECT count(*) AS n, min(first_seen_at) AS first_seen,
                             max(first_seen_at) AS last_seen
                      FROM articles WHERE cluster_id = %(id)s)
           UPDATE story_clusters c SET article_count = m.n,
               first_seen_at = coalesce(m.first_seen, c.first_seen_at),
               last_seen_at = coalesce(m.last_seen, c.last_seen_at)
           FROM m WHERE c.id = %(id)s""",
        {"id": cluster_id},
    )
    cur.execute("DELETE FROM story_clusters WHERE id = %s AND article_count = 0", (cluster_id,))


# --------------------------------------------------------------------------- batch path

# Every batch article's stored hits in one statement: its keys matched to the bands within
# the time window, counted per (article, stored article), ranked per article like
# `_CANDIDATES_SQL` and cut at the limit before the signature/cluster filter (which
# `decide_batch` applies). A stored article's signature comes once, on its first row. (The
# batch's own ids need no excluding: bands reference stored articles, and the batch is not
# stored yet.) `{stored}` is how keys meet the bands: `_JOIN_BANDS`, one join the planner
# runs as a sort and merge of the whole band table (cheapest while the table is small), or
# `_PROBE_BANDS`, one primary-key probe per key, its window in the index condition (OFFSET 0
# keeps the planner from flattening it into the join): cost by keys, not by archive.
_BATCH_HITS_SQL = """
WITH keys AS (
    SELECT * FROM unnest(%(idx)s::integer[], %(bands)s::smallint[], %(buckets)s::bigint[],
                         %(days)s::integer[]) AS k(idx, band, bucket, day)
), hits AS (
    SELECT k.idx, l.article_id, count(*) AS shared,
           row_number() OVER (PARTITION BY k.idx ORDER BY count(*) DESC, l.article_id) AS rank
    FROM keys k
    {stored}
    GROUP BY k.idx, l.article_id
)
SELECT h.idx, h.article_id, h.shared, a.cluster_id,
       CASE WHEN row_number() OVER (PARTITION BY h.article_id ORDER BY h.idx) = 1
            THEN m.signature END
FROM hits h
JOIN articles a ON a.id = h.article_id
LEFT JOIN article_minhash m ON m.article_id = h.article_id AND m.params = %(params)s
WHERE h.rank <= %(limit)s
"""
_JOIN_BANDS = """JOIN article_lsh_bands l ON l.band = k.band AND l.bucket = k.bucket
        AND l.seen_day BETWEEN k.day - %(window)s AND k.day + %(window)s"""
_PROBE_BANDS = """CROSS JOIN LATERAL (
        SELECT b.article_id FROM article_lsh_bands b
        WHERE b.band = k.band AND b.bucket = k.bucket
          AND b.seen_day BETWEEN k.day - %(window)s AND k.day + %(window)s
        OFFSET 0) l"""
#: Probe key by key once the band table holds more rows than this per key of the batch
#: (its planner estimate, `pg_class.reltuples`); join below. The join is cheaper while the
#: band table is small, the probes once it is large; the value lies between the measured
#: sizes where each won (docs/clusters.md, "Time window").
PROBE_ROWS_PER_KEY = 2.5


# Folds merged stored clusters into their targets (deleting their rows) and adds the
# batch's articles to every cluster they joined, in one statement: counts add up and
# first/last seen widen exactly as `assign_cluster`'s increments and merges would.
_COUNT_SQL = """
WITH folded AS (
    DELETE FROM story_clusters c
    USING unnest(%(old)s::bigint[], %(into)s::bigint[]) AS f(old, target)
    WHERE c.id = f.old
    RETURNING f.target AS id, c.article_count AS n, c.first_seen_at AS first_seen,
              c.last_seen_at AS last_seen
), delta AS (
    SELECT id, n, first_seen, last_seen FROM folded
    UNION ALL
    SELECT * FROM unnest(%(ids)s::bigint[], %(counts)s::integer[], %(firsts)s::timestamptz[],
                         %(lasts)s::timestamptz[]) AS d(id, n, first_seen, last_seen)
), total AS (
    SELECT id, sum(n) AS n, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM delta GROUP BY id
)
UPDATE story_clusters c SET article_count = c.article_count + t.n,
    first_seen_at = least(c.first_seen_at, t.first_seen),
    last_seen_at = greatest(c.last_seen_at, t.last_seen)
FROM total t WHERE c.id = t.id
"""

#: Above any real cluster id: new clusters are numbered from here while a batch is planned.
_PROVISIONAL = 1 << 62


@dataclass
class ClusterPlan:
    """What `plan_clusters` decided for a batch of new articles, for `write_plan`.

    `assignments`: one per input article, in order, as `assign_cluster` would have
    returned them one by one; `cluster_of`: article id -> its cluster after all the
    batch's merges (the `cluster_id` to insert the article with).
    """

    assignments: list[ClusterAssignment]
    cluster_of: dict[int, int]
    params: ClusterParams = DEFAULT_PARAMS
    #: Clusters opened by the batch and not folded later in it: rows `write_plan` inserts.
    new_clusters: list[int] = field(default_factory=list)
    #: Stored clusters the batch merged away -> the cluster they were folded into.
    folded: dict[int, int] = field(default_factory=dict)
    items: list[Sketched] = field(default_factory=list)


def _sketched(article: NewArticle, params: ClusterParams) -> Sketched:
    if article.first_seen_at.tzinfo is None:
        raise ValueError(f"article {article.article_id}: first_seen_at must be timezone-aware")
    if article.signature is not None and article.shingle_count is not None:
        values, count = np.asarray(article.signature, dtype=np.uint32), article.shingle_count
        if len(values) != count:
            raise ValueError(f"article {article.article_id}: signature has {len(values)} "
                             f"values for {count} shingles")
    else:
        values, count = sketch(article.title, article.body, article.language, params)
    return Sketched(article, values, count, article_band_keys(values, count, params))


def _int_array(values: Iterable[int]) -> str:
    """A Postgres array literal ('{1,2,3}'): one constant for the server to parse, where
    psycopg2's ARRAY[1,2,3] for a Python list is one expression per element, which the
    server plans one by one for the many keys of a batch (docs/clusters.md, "Moved from
    code comments")."""
    return "{" + ",".join(map(str, values)) + "}"


def _stored_hits(cur: Cursor, items: Sequence[Sketched],
                 params: ClusterParams) -> list[list[StoredHit]]:
    """Each batch article's top stored hits, from one query."""
    idx = [i for i, item in enumerate(items) for _ in item.keys]
    out: list[list[StoredHit]] = [[] for _ in items]
    if not idx:
        return out
    days = [item.day for item in items]
    # The planner's estimate (-1 until the table is first analysed), plus the rows this
    # transaction wrote, which no estimate counts yet (a load's earlier batches).
    cur.execute("""SELECT greatest(c.reltuples, 0) + pg_stat_get_xact_tuples_inserted(c.oid)
                          - pg_stat_get_xact_tuples_deleted(c.oid)
                   FROM pg_class c WHERE c.oid = 'article_lsh_bands'::regclass""")
    stored_rows = float(cur.fetchone()[0])
    probe = stored_rows > PROBE_ROWS_PER_KEY * len(idx)
    cur.execute(_BATCH_HITS_SQL.format(stored=_PROBE_BANDS if probe else _JOIN_BANDS), {
        "idx": _int_array(idx), "bands": _int_array(b for item in items for b, _ in item.keys),
        "buckets": _int_array(k for item in items for _, k in item.keys),
        "days": _int_array(days[i] for i in idx), "window": params.window_days,
        "limit": params.max_candidates, "params": params.tag,
    })
    rows = cur.fetchall()
    signatures = {aid: signature_from_bytes(sig) for _, aid, _, _, sig in rows if sig is not None}
    for i, aid, shared, cid, _ in rows:
        out[i].append(StoredHit(int(aid), int(shared), None if cid is None else int(cid),
                                signatures.get(aid)))
    return out


def plan_clusters(conn: Connection, articles: Sequence[NewArticle],
                  params: ClusterParams = DEFAULT_PARAMS,
                  timer: PhaseTimer = NO_TIMER) -> ClusterPlan:
    """Decide the clusters of new articles as `assign_cluster` would, one by one in order.

    Reads only: one query for all stored candidates, one `nextval` query for the new
    clusters' ids (allocated in input order, as the sequential calls would). Insert the
    articles with `cluster_id = plan.cluster_of[id]`, then call `write_plan` in the same
    transaction. The plan is valid while no other transaction changes the clusters it read.

    :param articles: rows not inserted yet, ids pre-allocated from `articles_id_seq`.
    :raises ValueError: on repeated article ids, a naive `first_seen_at` or a signature of
        the wrong length.
    """
    ids = [a.article_id for a in articles]
    if len(set(ids)) != len(ids):
        raise ValueError("an article id appears twice in one batch")
    with timer.phase("cluster keys"):
        items = [_sketched(a, params) for a in articles]
    with conn.cursor() as cur:
        with timer.phase("cluster candidates"):
            stored = _stored_hits(cur, items, params)
        with timer.phase("cluster decisions"):
            batch = decide_batch(items, stored, _PROVISIONAL, params)
        real: dict[int, int] = {}
        if batch.created:
            cur.execute("SELECT nextval(pg_get_serial_sequence('story_clusters', 'id')) "
                        "FROM generate_series(1, %s)", (len(batch.created),))
            real = dict(zip(batch.created, sorted(int(r[0]) for r in cur.fetchall()),
                            strict=True))

    def to_real(cluster_id: int) -> int:
        return real.get(cluster_id, cluster_id)

    assignments = [
        ClusterAssignment(to_real(a.cluster_id), a.is_new_cluster, a.matched_article_id,
                          a.similarity, tuple(to_real(c) for c in a.merged_cluster_ids))
        for a in batch.assignments
    ]
    for article, got in zip(articles, assignments, strict=True):
        _log_assignment(article.article_id, article.outlet, article.language, got)
    return ClusterPlan(
        assignments=assignments,
        cluster_of={a: to_real(c) for a, c in zip(ids, batch.final, strict=True)},
        params=params,
        new_clusters=[real[c] for c in batch.created if c not in batch.folded],
        folded={c: to_real(t) for c, t in batch.folded.items() if c not in real},
        items=items,
    )


def _copy(cur: Cursor, table: str, columns: str, rows: Iterable[str]) -> None:
    buf = io.StringIO("".join(rows))
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)


def write_plan(conn: Connection, plan: ClusterPlan) -> None:
    """Write a plan after its articles were inserted with `cluster_id = plan.cluster_of[id]`.

    Inserts the new `story_clusters` rows with their counts, folds merged stored clusters
    (their articles move, their rows go), counts the batch into every stored cluster it
    touched (one statement), and COPYs the articles' `article_minhash` and
    `article_lsh_bands` rows (plain COPY: the articles are new, so no row of theirs can
    exist). No commit. The articles'
    `cluster_id` foreign key is checked at commit (V013), so the order of the inserts
    within the transaction does not matter.
    """
    params = plan.params
    items = plan.items
    per_cluster: dict[int, list[datetime]] = {}
    for item in items:
        per_cluster.setdefault(plan.cluster_of[item.article.article_id], []).append(
            item.article.first_seen_at)
    # A new cluster's articles are all in this batch (stored clusters are never folded into
    # one: a merge keeps the lowest id): its row is written once, complete.
    new = set(plan.new_clusters)
    stored = {c: seen for c, seen in per_cluster.items() if c not in new}
    with conn.cursor() as cur:
        if plan.new_clusters:
            cur.execute(
                """INSERT INTO story_clusters (id, first_seen_at, last_seen_at, article_count)
                   SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[],
                                        %s::integer[])""",
                (plan.new_clusters, [min(per_cluster[c]) for c in plan.new_clusters],
                 [max(per_cluster[c]) for c in plan.new_clusters],
                 [len(per_cluster[c]) for c in plan.new_clusters]))
        touched = sorted({*stored, *plan.folded, *plan.folded.values()})
        if touched:
            # lock in id order, like `_merge_clusters`, so concurrent writers cannot deadlock
            cur.execute("SELECT id FROM story_clusters WHERE id = ANY(%s) ORDER BY id "
                        "FOR UPDATE", (touched,))
        if plan.folded:
            cur.execute(
                """UPDATE articles a SET cluster_id = f.target
                   FROM unnest(%s::bigint[], %s::bigint[]) AS f(old, target)
                   WHERE a.cluster_id = f.old""",
                (list(plan.folded), list(plan.folded.values())))
        if touched:
            cur.execute(_COUNT_SQL, {
                "old": list(plan.folded), "into": list(plan.folded.values()),
                "ids": list(stored), "counts": [len(v) for v in stored.values()],
                "firsts": [min(v) for v in stored.values()],
                "lasts": [max(v) for v in stored.values()],
            })
        _copy(cur, "article_minhash", "article_id, num_perm, signature, shingle_count, params, "
              "matched_article_id, similarity", (
                  f"{item.article.article_id}\t{len(item.values)}"
                  f"\t\\\\x{signature_bytes(item.values).hex()}\t{item.shingle_count}"
                  f"\t{params.tag}\t{_copy_value(got.matched_article_id)}"
                  f"\t{_copy_value(got.similarity)}\n"
                  for item, got in zip(items, plan.assignments, strict=True)))
        _copy(cur, "article_lsh_bands", "band, seen_day, bucket, article_id", (
            f"{band}\t{day}\t{bucket}\t{item.article.article_id}\n"
            for item in items for day in (item.day,) for band, bucket in item.keys))


def _copy_value(value: float | int | None) -> str:
    return "\\N" if value is None else repr(value)


# --------------------------------------------------------------------------- backfill

def backfill(conn: Connection, batch_size: int = 500,
             params: ClusterParams = DEFAULT_PARAMS,
             progress: Callable[[int], object] | None = None) -> int:
    """Cluster stored articles that have no cluster (or were sketched with other params).

    Oldest first, so originals come before their copies. Unlike `assign_cluster`, this
    commits after every `batch_size` articles (a long backfill keeps its progress if it
    stops); rerunning it continues where it stopped. Returns how many it assigned.
    """
    done = 0
    while True:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT a.id, a.title, a.body, a.language, a.source, a.first_seen_at
                   FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
                   WHERE a.cluster_id IS NULL OR m.params IS DISTINCT FROM %s
                   ORDER BY a.first_seen_at, a.id LIMIT %s""",
                (params.tag, batch_size),
            )
            rows = cur.fetchall()
        if not rows:
            return done
        for article_id, title, body, language, outlet, first_seen_at in rows:
            assign_cluster(conn, article_id, title, body, language, outlet, first_seen_at,
                           params)
        conn.commit()
        done += len(rows)
        if progress is not None:
            progress(len(rows))
        LOGGER.info("clustered %d articles", done)


def main(argv: list[str] | None = None) -> int:
    from scrapers.cli import catch_up_main

    return catch_up_main(argv, "Assign story clusters to stored articles that have none.",
                         backfill, 500, "articles clustered")
