"""Story clusters: group wire copies and light rewrites of one story, incrementally.

Each article keeps its own row; near-duplicates share a `story_clusters` row through
`articles.cluster_id`. The method (shingles, MinHash signatures, LSH bands, verification)
and its pure part are in `scrapers.dedup.minhash`; figures and the reasons for each
parameter are in docs/clusters.md.

Clustering is incremental: an article's cluster is decided when it is assigned (and
again when its text changes); other clusters change only by such a merge, at a cost
proportional to their size.

One set-based path decides and writes: `plan_clusters` (read only: the batch's stored
candidates in one query, the decisions in memory) and `write_plan`. A load's new articles go
through it in batches; `reassign_clusters` (stored articles whose text changed: edits in a
load and re-extraction) and `backfill` (stored articles without a current sketch) call it
too, and `assign_cluster` is `reassign_clusters` for one article. The SQL runs on a DB-API
(psycopg2) connection; only `backfill` commits.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from scrapers.db.connection import Connection, Cursor
from scrapers.dedup.minhash import (
    DEFAULT_PARAMS,
    ClusterAssignment,
    ClusterParams,
    NewArticle,
    Sketched,
    StoredHit,
    article_band_keys,
    decide_batch,
    signature_bytes,
    signature_from_bytes,
    sketch,
)
from scrapers.timing import NO_TIMER, PhaseTimer

LOGGER = logging.getLogger(__name__)


# --------------------------------------------------------------------------- DB part

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
    """Put one stored article into a story cluster; returns where it went.

    `reassign_clusters` for a batch of one, reading the article's current cluster and
    first sighting from its row. Call it after the row is written, in the same transaction.

    :param article_id: `articles.id` of the row just inserted or updated.
    :param outlet: the article's outlet, used for logging the match.
    :param first_seen_at: when the article was first seen (aware). None: the row's.
    :raises LookupError: if no article has that id.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT cluster_id, first_seen_at FROM articles WHERE id = %s "
                    "FOR UPDATE", (article_id,))
        row = cur.fetchone()
    if row is None:
        raise LookupError(f"no article with id {article_id}: upsert it before clustering")
    current, row_seen = row
    article = NewArticle(article_id, title, body, language, outlet,
                         first_seen_at if first_seen_at is not None else row_seen,
                         stored=True, current_cluster_id=None if current is None else int(current))
    return reassign_clusters(conn, [article], params)[0]


def reassign_clusters(conn: Connection, articles: Sequence[NewArticle],
                      params: ClusterParams = DEFAULT_PARAMS,
                      timer: PhaseTimer = NO_TIMER) -> list[ClusterAssignment]:
    """Decide again the clusters of stored articles whose text changed; one per article.

    `articles` are stored (`NewArticle.stored`, with their current cluster). One whose
    stored sketch is the same (same params: an edit that changed no shingle) keeps its
    assignment and nothing is written for it; the rest go through `plan_clusters` and
    `write_plan` as one batch, in order. No commit.
    """
    ids = [a.article_id for a in articles]
    with conn.cursor() as cur:
        cur.execute("SELECT article_id, signature, params, matched_article_id, similarity "
                    "FROM article_minhash WHERE article_id = ANY(%s)", (ids,))
        stored = {int(aid): (bytes(sig), tag, match, sim)
                  for aid, sig, tag, match, sim in cur.fetchall()}
    kept: dict[int, ClusterAssignment] = {}
    again: list[NewArticle] = []
    for article in articles:
        if article.signature is not None and article.shingle_count is not None:
            values, count = article.signature, article.shingle_count
        else:
            values, count = sketch(article.title, article.body, article.language, params)
        sig, tag, match, sim = stored.get(article.article_id, (None, None, None, None))
        if (article.current_cluster_id is not None and tag == params.tag
                and sig == signature_bytes(values)):
            kept[article.article_id] = ClusterAssignment(article.current_cluster_id, False,
                                                         match, sim)
        else:
            again.append(replace(article, signature=values, shingle_count=count))
    if again:
        plan = plan_clusters(conn, again, params, timer=timer)
        write_plan(conn, plan)
        kept.update(zip((a.article_id for a in again), plan.assignments, strict=True))
    return [kept[article_id] for article_id in ids]


def _log_assignment(article_id: int, outlet: str, language: str | None,
                    got: ClusterAssignment) -> None:
    if not LOGGER.isEnabledFor(logging.DEBUG):
        return
    LOGGER.debug("article %s (%s, %s) -> cluster %s%s%s", article_id, outlet, language,
                 got.cluster_id,
                 f" via {got.matched_article_id} (containment {got.similarity:.2f})"
                 if got.similarity is not None else " (new)" if got.is_new_cluster else "",
                 f", merged {list(got.merged_cluster_ids)}" if got.merged_cluster_ids else "")


# --------------------------------------------------------------------------- batch path

# Every batch article's stored hits in one statement: its keys matched to the bands within
# the time window, counted per (article, stored article), ranked per article (most shared
# keys, then the lower id) and cut at the limit before the signature/cluster filter (which
# `decide_batch` applies). A stored article's signature comes once, on its first row. The
# batch's own articles are left out: a stored one being decided again must not match its
# old sketch, and the batch's earlier articles come from `decide_batch`'s own index.
# `{stored}` is how keys meet the bands: `_JOIN_BANDS`, one join the planner
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
    WHERE l.article_id <> ALL(%(batch)s::bigint[])
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

    def moved(self, item: Sketched) -> bool:
        """Whether the article changes cluster (a new one always does; a stored one whose
        cluster was folded into its final cluster moves with the fold, not by itself)."""
        article = item.article
        if not article.stored or article.current_cluster_id is None:
            return True
        current = self.folded.get(article.current_cluster_id, article.current_cluster_id)
        return self.cluster_of[article.article_id] != current


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
        "batch": _int_array(item.article.article_id for item in items),
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
    """Decide the clusters of articles as if decided one by one in order.

    Reads only: one query for all stored candidates, one for the sizes of the stored
    articles' current clusters, one `nextval` query for the new clusters' ids (allocated in
    input order). Insert the new articles with `cluster_id = plan.cluster_of[id]`, then call
    `write_plan` in the same transaction (it moves the stored ones). The plan is valid while
    no other transaction changes the clusters it read.

    :param articles: new rows not inserted yet (ids pre-allocated from `articles_id_seq`),
        and stored rows decided again (`NewArticle.stored`).
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
        currents = sorted({a.current_cluster_id for a in articles
                           if a.current_cluster_id is not None})
        sizes: dict[int, int] = {}
        if currents:
            cur.execute("SELECT id, article_count FROM story_clusters WHERE id = ANY(%s)",
                        (currents,))
            sizes = {int(c): int(n) for c, n in cur.fetchall()}
        with timer.phase("cluster decisions"):
            batch = decide_batch(items, stored, _PROVISIONAL, params, sizes)
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
    """Write a plan after its new articles were inserted with `cluster_id = plan.cluster_of[id]`.

    Inserts the new `story_clusters` rows with their counts, folds merged stored clusters
    (their articles move, their rows go), moves the stored articles that change cluster,
    counts the batch into every stored cluster it touched (one statement), recounts the
    clusters stored articles left (deleting emptied ones), and replaces the articles'
    `article_minhash` and `article_lsh_bands` rows (COPY). No commit. The articles'
    `cluster_id` foreign key is checked at commit (V013), so the order of the writes
    within the transaction does not matter.
    """
    params = plan.params
    items = plan.items
    per_cluster: dict[int, list[datetime]] = {}
    for item in items:
        if plan.moved(item):
            per_cluster.setdefault(plan.cluster_of[item.article.article_id], []).append(
                item.article.first_seen_at)
    again = [item for item in items if item.article.stored]  # stored, decided again
    moved = [item for item in again if plan.moved(item)]
    left = sorted({plan.folded.get(c, c) for item in moved
                   for c in (item.article.current_cluster_id,) if c is not None})
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
            # lock in id order, so concurrent writers cannot deadlock
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
        if moved:
            cur.execute(
                """UPDATE articles a SET cluster_id = m.target
                   FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, target)
                   WHERE a.id = m.id""",
                ([i.article.article_id for i in moved],
                 [plan.cluster_of[i.article.article_id] for i in moved]))
        if left:
            _recount(cur, left)
        if again:
            ids = [item.article.article_id for item in again]
            cur.execute("DELETE FROM article_lsh_bands WHERE article_id = ANY(%s)", (ids,))
            cur.execute("DELETE FROM article_minhash WHERE article_id = ANY(%s)", (ids,))
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


def _recount(cur: Cursor, cluster_ids: Sequence[int]) -> None:
    """Recount clusters that articles left, from their members (via the cluster_id
    index: the cost of their size); delete the emptied ones."""
    cur.execute(
        """WITH m AS (SELECT cluster_id, count(*) AS n, min(first_seen_at) AS first_seen,
                             max(first_seen_at) AS last_seen
                      FROM articles WHERE cluster_id = ANY(%(ids)s) GROUP BY cluster_id)
           UPDATE story_clusters c SET article_count = m.n, first_seen_at = m.first_seen,
               last_seen_at = m.last_seen
           FROM m WHERE c.id = m.cluster_id""",
        {"ids": list(cluster_ids)},
    )
    cur.execute("""DELETE FROM story_clusters c WHERE c.id = ANY(%s)
                   AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.cluster_id = c.id)""",
                (list(cluster_ids),))


def _copy_value(value: float | int | None) -> str:
    return "\\N" if value is None else repr(value)


# --------------------------------------------------------------------------- backfill

def backfill(conn: Connection, batch_size: int = 500,
             params: ClusterParams = DEFAULT_PARAMS,
             progress: Callable[[int], object] | None = None) -> int:
    """Cluster stored articles that have no cluster (or were sketched with other params).

    Oldest first, so originals come before their copies, in batches through
    `plan_clusters` and `write_plan`, committing after each (a long backfill keeps its
    progress if it stops; rerunning it continues where it stopped). Returns how many.
    """
    done = 0
    while True:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT a.id, a.title, a.body, a.language, a.source, a.first_seen_at,
                          a.cluster_id
                   FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
                   WHERE a.cluster_id IS NULL OR m.params IS DISTINCT FROM %s
                   ORDER BY a.first_seen_at, a.id LIMIT %s
                   FOR UPDATE OF a""",
                (params.tag, batch_size),
            )
            rows = cur.fetchall()
        if not rows:
            return done
        articles = [NewArticle(int(aid), title, body, language, outlet, seen, stored=True,
                               current_cluster_id=None if cid is None else int(cid))
                    for aid, title, body, language, outlet, seen, cid in rows]
        write_plan(conn, plan_clusters(conn, articles, params))
        conn.commit()
        done += len(rows)
        if progress is not None:
            progress(len(rows))
        LOGGER.info("clustered %d articles", done)


def main(argv: list[str] | None = None) -> int:
    from scrapers.cli import catch_up_main

    return catch_up_main(argv, "Assign story clusters to stored articles that have none.",
                         backfill, 500, "articles clustered")
