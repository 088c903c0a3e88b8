"""clusters (DB path): assign_cluster on real PostgreSQL, with the labelled set's articles."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2
import psycopg2.errors
import pytest

from scrapers.clusters import cluster_texts
from scrapers.dedup import clusters as clusters_module
from scrapers.dedup.clusters import (
    assign_cluster,
    backfill,
    plan_clusters,
    write_plan,
)
from scrapers.dedup.hashes import content_hash
from scrapers.dedup.minhash import (
    THRESHOLD,
    ClusterAssignment,
    ClusterParams,
    NewArticle,
    article_band_keys,
    seen_day,
    sketch,
)
from tests.support import rows_with_xmin

pytestmark = [pytest.mark.integration, pytest.mark.clock]

LABELLED = Path(__file__).resolve().parents[1] / "fixtures" / "clusters" / "labelled.jsonl"
T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
with LABELLED.open(encoding="utf-8") as _f:
    ARTICLES: dict[str, dict[str, Any]] = {
        a["id"]: a for a in (json.loads(line) for line in _f if line.strip())}


@pytest.fixture
def cdb(db: Any) -> Iterator[Any]:
    """The emptied news database, story clusters emptied too."""
    with db.cursor() as cur:
        cur.execute("TRUNCATE story_clusters RESTART IDENTITY CASCADE")
    db.commit()
    yield db


def insert(db: Any, key: str, body: str | None = None, seen: datetime = T0) -> int:
    a = ARTICLES[key]
    body = a["body"] if body is None else body
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO articles (url, original_url, title, body, fetched_at, first_seen_at,
                   language, source, relevance_score, relevant, content_hash)
               VALUES (%(url)s, %(url)s, %(title)s, %(body)s, %(seen)s, %(seen)s, %(lang)s,
                   %(outlet)s, 0.9, true, %(hash)s)
               ON CONFLICT (url) DO UPDATE SET body = EXCLUDED.body,
                   content_hash = EXCLUDED.content_hash
               RETURNING id""",
            {"url": f"https://news.example/{key}", "title": a["title"], "body": body,
             "seen": seen, "lang": a["language"], "outlet": a["outlet"],
             "hash": content_hash(a["title"], body)})
        return int(cur.fetchone()[0])


def assign(db: Any, key: str, article_id: int, body: str | None = None,
           seen: datetime = T0) -> ClusterAssignment:
    a = ARTICLES[key]
    return assign_cluster(db, article_id, a["title"], a["body"] if body is None else body,
                          a["language"], a["outlet"], seen)


def load(db: Any, *keys: str) -> dict[str, tuple[int, ClusterAssignment]]:
    out = {}
    for i, key in enumerate(keys):
        seen = T0 + timedelta(minutes=15 * i)
        article_id = insert(db, key, seen=seen)
        out[key] = (article_id, assign(db, key, article_id, seen=seen))
    db.commit()
    return out


def cluster_of(db: Any, article_id: int) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT cluster_id FROM articles WHERE id = %s", (article_id,))
        return int(cur.fetchone()[0])


def test_wire_copies_join_the_original_cluster(cdb: Any) -> None:
    got = load(cdb, "en-ambassador", "en-ambassador-mt", "en-ambassador-jtoday",
               "en-ambassador-inv")
    first_id, first = got["en-ambassador"]
    assert first == ClusterAssignment(first.cluster_id, True, None, None)
    for key in ("en-ambassador-mt", "en-ambassador-jtoday", "en-ambassador-inv"):
        _, a = got[key]
        assert a.cluster_id == first.cluster_id and not a.is_new_cluster
        assert a.matched_article_id is not None and a.similarity is not None
        assert a.similarity >= THRESHOLD
    with cdb.cursor() as cur:
        cur.execute("SELECT article_count, first_seen_at, last_seen_at FROM story_clusters")
        assert cur.fetchall() == [(4, T0, T0 + timedelta(minutes=45))]
        cur.execute("SELECT matched_article_id FROM article_minhash WHERE article_id = %s",
                    (got["en-ambassador-mt"][0],))
        assert cur.fetchone() == (first_id,)


@pytest.mark.parametrize("keys", [
    # same outlet, same day, same names and the same stock background paragraph
    ("en-ambassador", "en-sanctions", "en-ambassador-mt", "en-sanctions-jtoday"),
    # a follow-up a week later sharing the vessel, the town and Kyodo's background
    ("ja-boat-seized", "ja-crew-released", "ja-boat-seized-tokyo", "ja-crew-released-tokyo"),
    # the same agency on the same day: drills on the islands / fleet firing at sea
    ("ru-drills", "ru-pacific-fleet", "ru-drills-kurily", "ru-pacific-fleet-primpress"),
])
def test_hard_negatives_stay_apart(cdb: Any, keys: tuple[str, ...]) -> None:
    got = load(cdb, *keys)
    clusters = {key: cluster_of(cdb, article_id) for key, (article_id, _) in got.items()}
    assert clusters[keys[0]] == clusters[keys[2]]
    assert clusters[keys[1]] == clusters[keys[3]]
    assert clusters[keys[0]] != clusters[keys[1]]


def _snapshot(db: Any) -> list[Any]:
    """Every clustering row with its xmin: equal snapshots mean nothing was written."""
    return rows_with_xmin(
        db, "SELECT xmin::text, id, cluster_id FROM articles ORDER BY id",
        "SELECT xmin::text, * FROM story_clusters ORDER BY id",
        "SELECT xmin::text, * FROM article_minhash ORDER BY article_id",
        "SELECT xmin::text, * FROM article_lsh_bands ORDER BY article_id, band")


def test_assigning_again_changes_nothing(cdb: Any) -> None:
    got = load(cdb, "ru-salmon", "ru-salmon-sakh", "ru-salmon-fishnews")
    before = _snapshot(cdb)
    for key, (article_id, first) in got.items():
        again = assign(cdb, key, article_id, seen=T0 + timedelta(days=1))
        # containment is rounded to 3 decimals, exact in the real column
        assert again == ClusterAssignment(first.cluster_id, False, first.matched_article_id,
                                          first.similarity)
    cdb.commit()
    assert _snapshot(cdb) == before


def _bands(db: Any, article_id: int) -> set[tuple[int, int]]:
    with db.cursor() as cur:
        cur.execute("SELECT band, bucket FROM article_lsh_bands WHERE article_id = %s",
                    (article_id,))
        return set(cur.fetchall())


def test_deleting_articles_deletes_their_bands(cdb: Any) -> None:
    """The bands have no foreign key (V014): a statement trigger removes them instead."""
    got = load(cdb, "ru-salmon", "ru-salmon-sakh", "ru-salmon-fishnews")
    gone, kept = got["ru-salmon"][0], got["ru-salmon-sakh"][0]
    assert _bands(cdb, gone) and _bands(cdb, kept)
    with cdb.cursor() as cur:
        cur.execute("DELETE FROM articles WHERE id = %s", (gone,))
    cdb.commit()
    assert not _bands(cdb, gone)
    assert _bands(cdb, kept) == set(article_band_keys(*sketch(
        ARTICLES["ru-salmon-sakh"]["title"], ARTICLES["ru-salmon-sakh"]["body"], "ru")))


def test_edited_article_is_rebanded_and_reclustered(cdb: Any) -> None:
    got = load(cdb, "en-drills", "en-drills-sputnik")
    orig_id, orig = got["en-drills"]
    copy_id, copy = got["en-drills-sputnik"]
    assert copy.cluster_id == orig.cluster_id
    a = ARTICLES["en-drills-sputnik"]
    old_bands = _bands(cdb, copy_id)
    assert old_bands == set(article_band_keys(*sketch(a["title"], a["body"], "en")))

    # the outlet replaces the body with a different story: new bands, a cluster of its own
    other = ARTICLES["en-visa-free"]["body"]
    insert(cdb, "en-drills-sputnik", body=other)
    moved = assign(cdb, "en-drills-sputnik", copy_id, body=other)
    cdb.commit()
    assert moved.is_new_cluster and moved.cluster_id != orig.cluster_id
    assert moved.matched_article_id is None
    new_bands = _bands(cdb, copy_id)
    assert new_bands == set(article_band_keys(*sketch(a["title"], other, "en")))
    assert not new_bands & old_bands
    with cdb.cursor() as cur:
        cur.execute("SELECT id, article_count FROM story_clusters ORDER BY id")
        assert cur.fetchall() == [(orig.cluster_id, 1), (moved.cluster_id, 1)]

    # edited again while alone: it keeps its cluster id
    lone = assign(cdb, "en-drills-sputnik", copy_id, body=other + "\n\nCorrection appended.")
    assert (lone.cluster_id, lone.is_new_cluster) == (moved.cluster_id, False)

    # and back to the wire text: it rejoins the original, its emptied cluster goes
    insert(cdb, "en-drills-sputnik")
    back = assign(cdb, "en-drills-sputnik", copy_id)
    cdb.commit()
    assert back.cluster_id == orig.cluster_id and back.matched_article_id == orig_id
    assert _bands(cdb, copy_id) == old_bands
    with cdb.cursor() as cur:
        cur.execute("SELECT id, article_count FROM story_clusters ORDER BY id")
        assert cur.fetchall() == [(orig.cluster_id, 2)]


def test_an_original_arriving_late_merges_its_split_copies(cdb: Any) -> None:
    # two differently trimmed copies match each other below the threshold (J = 0.29)...
    got = load(cdb, "ru-kremlin-treaty-lenta", "ru-kremlin-treaty-gazeta")
    lenta, gazeta = (got[k][1] for k in ("ru-kremlin-treaty-lenta", "ru-kremlin-treaty-gazeta"))
    assert lenta.cluster_id != gazeta.cluster_id
    # ...and the original matches both: one story, one cluster
    article_id = insert(cdb, "ru-kremlin-treaty", seen=T0 - timedelta(hours=1))
    merged = assign(cdb, "ru-kremlin-treaty", article_id, seen=T0 - timedelta(hours=1))
    cdb.commit()
    assert merged.cluster_id == lenta.cluster_id
    assert merged.merged_cluster_ids == (gazeta.cluster_id,)
    with cdb.cursor() as cur:
        cur.execute("SELECT id, article_count, first_seen_at FROM story_clusters")
        assert cur.fetchall() == [(lenta.cluster_id, 3, T0 - timedelta(hours=1))]
        cur.execute("SELECT DISTINCT cluster_id FROM articles")
        assert cur.fetchall() == [(lenta.cluster_id,)]


def test_cluster_summary_view(cdb: Any) -> None:
    load(cdb, "ja-salmon-open", "ja-salmon-open-doshin", "en-visa-free",
         "ja-salmon-open-tokyo", "ja-salmon-open-chunichi")
    with cdb.cursor() as cur:
        cur.execute("""SELECT article_count, outlet_count, outlets, languages, first_outlet,
                              first_title, first_seen_at, last_seen_at
                       FROM story_cluster_summary ORDER BY cluster_id""")
        rows = cur.fetchall()
    # outlets come sorted by the database's collation: compare them as sets
    assert [(r[0], r[1], set(r[2]), *r[3:]) for r in rows] == [
        (4, 4, {"中日新聞", "共同通信", "北海道新聞", "東京新聞"}, ["ja"], "共同通信",
         ARTICLES["ja-salmon-open"]["title"], T0, T0 + timedelta(minutes=60)),
        (1, 1, {"The Japan Times"}, ["en"], "The Japan Times",
         ARTICLES["en-visa-free"]["title"], T0 + timedelta(minutes=30),
         T0 + timedelta(minutes=30)),
    ]


def test_first_seen_defaults_to_the_row(cdb: Any) -> None:
    seen = T0 - timedelta(days=2)
    article_id = insert(cdb, "ru-visa-free", seen=seen)
    a = ARTICLES["ru-visa-free"]
    assign_cluster(cdb, article_id, a["title"], a["body"], "ru", a["outlet"], None)
    with cdb.cursor() as cur:
        cur.execute("SELECT first_seen_at, last_seen_at FROM story_clusters")
        assert cur.fetchall() == [(seen, seen)]


def test_unknown_article_is_refused(cdb: Any) -> None:
    with pytest.raises(LookupError, match="no article with id 999"):
        assign_cluster(cdb, 999, "t", "b", "en", "X", T0)


def test_labelled_set_precision_and_recall_through_the_db(cdb: Any) -> None:
    load(cdb, *ARTICLES)
    with cdb.cursor() as cur:
        cur.execute("SELECT url, cluster_id FROM articles")
        predicted = {url.rsplit("/", 1)[1]: cid for url, cid in cur.fetchall()}
    tp = fp = fn = 0
    wrong = []
    for a, b in itertools.combinations(ARTICLES.values(), 2):
        same_pred = predicted[a["id"]] == predicted[b["id"]]
        same_true = a["cluster"] == b["cluster"]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
        if same_pred != same_true:
            wrong.append((a["id"], b["id"]))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert len(ARTICLES) >= 110 and len({a["cluster"] for a in ARTICLES.values()}) >= 35
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, wrong)


def test_backfill_clusters_articles_stored_before_clustering(cdb: Any) -> None:
    keys = ["ru-boat", "ru-boat-sakh", "ru-visa-free", "ru-boat-rg"]
    ids = {key: insert(cdb, key, seen=T0 + timedelta(minutes=i)) for i, key in enumerate(keys)}
    cdb.commit()
    assert backfill(cdb, batch_size=3) == 4
    assert backfill(cdb) == 0  # nothing left: a rerun does nothing
    got = {key: cluster_of(cdb, article_id) for key, article_id in ids.items()}
    assert got["ru-boat"] == got["ru-boat-sakh"] == got["ru-boat-rg"] != got["ru-visa-free"]


# --------------------------------------------------------------------------- batch path


def _generated_corpus(seed: int = 5) -> list[dict[str, Any]]:
    """Near-duplicate texts in en/ru/ja built to split and then merge clusters.

    Per story (random words, or characters for ja), in arrival order: two trimmed halves
    A = units[0:70] and C = units[50:120] (J ~ 0.15: two clusters), a light rewrite of C,
    the full text B = units[0:120] (J ~ 0.55 to each half: merges them), the far end
    E = units[100:170] (a cluster of its own), then B2 = units[50:170] (merges E in), and
    some identical copies of A (ties in the candidate ranking).
    """
    rng = random.Random(seed)
    alphabets = {"en": "abcdefghijklmnopqrstuvwxyz", "ru": "абвгдежзийклмнопрстуфхцчшщыэюя"}
    kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x4E00, 0x4E80)]
    out: list[dict[str, Any]] = []
    for s in range(30):
        language = ("en", "ru", "ja")[s % 3]
        if language == "ja":
            units = [rng.choice(kana) for _ in range(170)]
        else:
            units = ["".join(rng.choices(alphabets[language], k=rng.randint(3, 8)))
                     for _ in range(170)]
        sep = "" if language == "ja" else " "
        rewrite = list(units[50:120])
        for i in rng.sample(range(len(rewrite)), 3):
            rewrite[i] = rng.choice(units)
        parts = [("a", units[0:70]), ("c", units[50:120]), ("c2", rewrite),
                 ("b", units[0:120]), ("e", units[100:170]), ("b2", units[50:170])]
        parts += [(f"a{k}", units[0:70]) for k in range(s % 4)]
        for name, words in parts:
            out.append({"id": f"gen-{s}-{name}", "title": f"{s}", "body": sep.join(words),
                        "language": language, "outlet": f"Outlet {rng.randint(1, 9)}"})
    # stories interleave, each keeping its own order
    queues = [[a for a in out if a["id"].startswith(f"gen-{s}-")] for s in range(30)]
    mixed: list[dict[str, Any]] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        mixed.append(queue.pop(0))
    return mixed


def _corpus(hours_apart: float = 0) -> list[dict[str, Any]]:
    """The labelled set (file order) and the generated stories, randomly interleaved;
    `hours_apart` > 0 spreads arrivals over weeks (the time window then matters)."""
    rng = random.Random(11)
    queues = [list(ARTICLES.values()), _generated_corpus()]
    out: list[dict[str, Any]] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        out.append(dict(queue.pop(0)))
    for i, a in enumerate(out):  # arrival order, first seen not quite in that order
        a["seen"] = T0 + timedelta(minutes=10 * i + rng.randint(-90, 90),
                                   hours=hours_apart * i)
    return out


def _reset(db: Any) -> None:
    """No articles, no clusters, both id sequences back at 1 (each run numbers alike)."""
    with db.cursor() as cur:
        cur.execute("TRUNCATE articles, story_clusters, article_lsh_bands "
                    "RESTART IDENTITY CASCADE")
    db.commit()


_INSERT = """INSERT INTO articles (id, url, original_url, title, body, fetched_at, first_seen_at,
                 language, source, relevance_score, relevant, content_hash, cluster_id)
             VALUES (coalesce(%(id)s, nextval('articles_id_seq')), %(url)s, %(url)s, %(title)s,
                 %(body)s, %(seen)s, %(seen)s, %(lang)s, %(outlet)s, 0.9, true, %(hash)s,
                 %(cluster)s)
             RETURNING id"""


def _insert_row(db: Any, a: dict[str, Any], article_id: int | None = None,
                cluster_id: int | None = None) -> int:
    with db.cursor() as cur:
        cur.execute(_INSERT, {
            "id": article_id, "url": f"https://news.example/{a['id']}", "title": a["title"],
            "body": a["body"], "seen": a["seen"], "lang": a["language"],
            "outlet": a["outlet"], "hash": content_hash(a["title"], a["body"]),
            "cluster": cluster_id})
        return int(cur.fetchone()[0])


def _one_by_one(db: Any, articles: list[dict[str, Any]],
                params: ClusterParams) -> list[ClusterAssignment]:
    got = []
    for a in articles:
        article_id = _insert_row(db, a)
        got.append(assign_cluster(db, article_id, a["title"], a["body"], a["language"],
                                  a["outlet"], a["seen"], params))
    db.commit()
    return got


def _in_batches(db: Any, articles: list[dict[str, Any]], size: int,
                params: ClusterParams) -> list[ClusterAssignment]:
    """The loader's sequence: allocate ids, plan, insert with cluster ids, write, commit."""
    got: list[ClusterAssignment] = []
    for start in range(0, len(articles), size):
        batch = articles[start:start + size]
        with db.cursor() as cur:
            cur.execute("SELECT nextval('articles_id_seq') FROM generate_series(1, %s)",
                        (len(batch),))
            ids = sorted(int(r[0]) for r in cur.fetchall())
        # half the batch brings a precomputed sketch, as the loader's records do
        new = []
        for k, (article_id, a) in enumerate(zip(ids, batch, strict=True)):
            values, count = (sketch(a["title"], a["body"], a["language"], params)
                             if k % 2 else (None, None))
            new.append(NewArticle(article_id, a["title"], a["body"], a["language"],
                                  a["outlet"], a["seen"], values, count))
        plan = plan_clusters(db, new, params)
        for article_id, a in zip(ids, batch, strict=True):
            _insert_row(db, a, article_id, plan.cluster_of[article_id])
        write_plan(db, plan)
        db.commit()
        got += plan.assignments
    return got


def _state(db: Any) -> dict[str, Any]:
    """Every clustering row, ids included (both runs start from the same sequences)."""
    queries = {
        "articles": "SELECT id, url, cluster_id FROM articles ORDER BY id",
        "clusters": """SELECT id, article_count, first_seen_at, last_seen_at
                       FROM story_clusters ORDER BY id""",
        "minhash": """SELECT article_id, num_perm, signature, shingle_count, params,
                             matched_article_id, similarity
                      FROM article_minhash ORDER BY article_id""",
        "bands": "SELECT band, bucket, seen_day, article_id FROM article_lsh_bands "
                 "ORDER BY 4, 1",
        "members": """SELECT cluster_id, count(*), min(first_seen_at), max(first_seen_at)
                      FROM articles GROUP BY cluster_id ORDER BY cluster_id""",
    }
    out = {}
    with db.cursor() as cur:
        for name, sql in queries.items():
            cur.execute(sql)
            out[name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                         for row in cur.fetchall()]
    return out


def _tamper(db: Any) -> None:
    """Stored hits the verification must skip but the ranking must count (as in SQL).

    The stored first halves (A) of the generated stories, whose identical copies come
    later: every other one loses its cluster, the others their signature's params tag.
    """
    with db.cursor() as cur:
        cur.execute(r"""SELECT id FROM articles WHERE url ~ '/gen-\d+-a$' ORDER BY id""")
        ids = [r[0] for r in cur.fetchall()]
        assert len(ids) >= 4
        cur.execute("UPDATE articles SET cluster_id = NULL WHERE id = ANY(%s)", (ids[::2],))
        cur.execute("UPDATE article_minhash SET params = 'other' WHERE article_id = ANY(%s)",
                    (ids[1::2],))
    db.commit()


def _stored_prefix(db: Any, corpus: list[dict[str, Any]], prefix: int,
                   params: ClusterParams, tamper: bool) -> list[ClusterAssignment]:
    _reset(db)
    got = _one_by_one(db, corpus[:prefix], params)
    if tamper:
        _tamper(db)
    return got


def _cluster_of_stored(db: Any) -> dict[int, int]:
    with db.cursor() as cur:
        cur.execute("SELECT id, cluster_id FROM articles WHERE cluster_id IS NOT NULL")
        return dict(cur.fetchall())


def _assert_not_vacuous(prefix: int, stored_cluster: dict[int, int],
                        expected: list[ClusterAssignment]) -> None:
    """The corpus really exercises what the batch path must reproduce (checked on the
    one-by-one result, as if everything after the prefix were one batch)."""
    first_new = prefix + 1  # article ids: the prefix took 1..prefix
    stored_ids = set(stored_cluster.values())
    matched = [a.matched_article_id for a in expected if a.matched_article_id is not None]
    assert len(expected) > 200
    assert sum(m < first_new for m in matched) >= 10  # matches to stored articles
    assert sum(m >= first_new for m in matched) >= 50  # matches within the batch
    merged = [c for a in expected for c in a.merged_cluster_ids]
    assert sum(c in stored_ids for c in merged) >= 3  # stored clusters folded
    assert sum(c not in stored_ids for c in merged) >= 3  # clusters opened in the batch folded
    folded_at: dict[int, int] = {}
    for position, a in enumerate(expected):
        for c in a.merged_cluster_ids:
            folded_at.setdefault(c, position)
    # matches to a stored article whose stored cluster an earlier article had folded
    redirected = [
        position for position, a in enumerate(expected)
        if a.matched_article_id is not None and a.matched_article_id < first_new
        and folded_at.get(stored_cluster.get(a.matched_article_id, 0), position) < position
    ]
    assert redirected


@pytest.fixture(params=["join", "probe"])
def band_lookup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the batch look-up can meet the bands: forced, whatever the table's size."""
    limit = float("inf") if request.param == "join" else float("-inf")
    monkeypatch.setattr(clusters_module, "PROBE_ROWS_PER_KEY", limit)
    return str(request.param)


@pytest.mark.parametrize("params, tamper, hours_apart", [
    (ClusterParams(), False, 0),
    # a tight candidate limit: ties between identical copies, a cut before the filter
    (ClusterParams(max_candidates=2), True, 0),
    # arrivals over about 80 days, a window of 10: stored and batch candidates both cut
    (ClusterParams(window_days=10), False, 4),
])
def test_batches_decide_exactly_as_one_by_one(cdb: Any, params: ClusterParams,
                                              tamper: bool, hours_apart: float,
                                              band_lookup: str) -> None:
    corpus = _corpus(hours_apart)
    prefix = len(corpus) * 2 // 5
    rest = corpus[prefix:]
    if hours_apart:  # not vacuous: without the window, some article would go elsewhere
        _stored_prefix(cdb, corpus, prefix, ClusterParams(window_days=10**4), tamper)
        unbounded = _one_by_one(cdb, rest, ClusterParams(window_days=10**4))
    _stored_prefix(cdb, corpus, prefix, params, tamper)
    stored_cluster = _cluster_of_stored(cdb)
    expected = _one_by_one(cdb, rest, params)
    want = _state(cdb)

    if hours_apart:
        assert sum(a != b for a, b in zip(expected, unbounded, strict=True)) >= 10
    elif not tamper:
        _assert_not_vacuous(prefix, stored_cluster, expected)
    for size in (1, 7, len(rest)):
        _stored_prefix(cdb, corpus, prefix, params, tamper)
        got = _in_batches(cdb, rest, size, params)
        assert got == expected, f"batch size {size}"
        assert _state(cdb) == want, f"batch size {size}"


def test_candidates_come_from_the_time_window(cdb: Any, band_lookup: str) -> None:
    """A window of 30 days either side, one path or the other: an identical copy seen 31
    days after the original opens its own cluster; one seen 30 days after joins the
    original's and, being within the window of both, merges the late copy's into it."""
    wide = ClusterParams(window_days=30)
    base = ARTICLES["en-ambassador"]

    def story(name: str, days: int) -> dict[str, Any]:
        return {**base, "id": name, "seen": T0 + timedelta(days=days, hours=1)}

    [original] = _one_by_one(cdb, [story("original", 0)], wide)
    [late] = _one_by_one(cdb, [story("late", 31)], wide)
    assert late == ClusterAssignment(late.cluster_id, True, None, None)
    [copy] = _in_batches(cdb, [story("copy", 30)], 1, wide)
    assert copy == ClusterAssignment(original.cluster_id, False, 1, 1.0, (late.cluster_id,))
    # day 61: within the window of the late copy only (30 days), which is in that cluster
    [chained] = _one_by_one(cdb, [story("chained", 61)], wide)
    assert chained == ClusterAssignment(original.cluster_id, False, 2, 1.0)
    [beyond] = _in_batches(cdb, [story("beyond", 92)], 1, wide)  # 31 after
    assert beyond.is_new_cluster and beyond.matched_article_id is None
    with cdb.cursor() as cur:
        cur.execute("SELECT cluster_id, count(*) FROM articles GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [(original.cluster_id, 4), (beyond.cluster_id, 1)]
        # each band row carries its article's day, as seen_day and V016's SQL compute it
        cur.execute("""SELECT DISTINCT a.first_seen_at, l.seen_day,
                              floor(extract(epoch FROM a.first_seen_at) / 86400)::integer
                       FROM article_lsh_bands l JOIN articles a ON a.id = l.article_id""")
        rows = cur.fetchall()
    assert len(rows) == 5
    assert all(day == seen_day(seen) == migrated for seen, day, migrated in rows)


def test_plan_of_nothing_writes_nothing(cdb: Any) -> None:
    plan = plan_clusters(cdb, [])
    assert (plan.assignments, plan.cluster_of) == ([], {})
    write_plan(cdb, plan)
    cdb.commit()
    assert _snapshot(cdb) == []


def test_plan_refuses_repeated_ids_and_naive_times(cdb: Any) -> None:
    a = ARTICLES["en-visa-free"]
    one = NewArticle(1, a["title"], a["body"], "en", a["outlet"], T0)
    with pytest.raises(ValueError, match="twice"):
        plan_clusters(cdb, [one, one])
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_clusters(cdb, [NewArticle(1, "t", "b", "en", "X", T0.replace(tzinfo=None))])
    with pytest.raises(ValueError, match="signature has 3 values"):
        plan_clusters(cdb, [NewArticle(1, "t", "b", "en", "X", T0,
                                       np.zeros(3, dtype=np.uint32), 1)])


def test_cluster_fk_is_checked_at_commit(cdb: Any) -> None:
    a = {**ARTICLES["en-visa-free"], "seen": T0}
    _insert_row(cdb, a, cluster_id=424242)  # accepted for now: write_plan may create it
    with pytest.raises(psycopg2.errors.ForeignKeyViolation, match="cluster_id"):
        cdb.commit()
    cdb.rollback()
    with cdb.cursor() as cur:
        cur.execute("SELECT count(*) FROM articles")
        assert cur.fetchone() == (0,)
        cur.execute("""SELECT condeferrable, condeferred FROM pg_constraint
                       WHERE conname = 'articles_cluster_id_fkey'""")
        assert cur.fetchone() == (True, True)


def test_unverifiable_hits_take_their_place_in_the_ranking(cdb: Any) -> None:
    """A stored hit without a cluster (or signature) uses up a candidate slot, as in SQL."""
    params = ClusterParams(max_candidates=2)
    a = ARTICLES["en-ambassador"]
    words = a["body"].split()
    stored = [{**a, "id": "orig", "seen": T0}, {**a, "id": "copy", "seen": T0},
              {**a, "id": "trim", "body": " ".join(words[:len(words) * 4 // 5]), "seen": T0}]
    new = [{**a, "id": "late-copy", "seen": T0 + timedelta(hours=1)}]

    def prefix() -> None:
        _reset(cdb)
        _one_by_one(cdb, stored, params)
        with cdb.cursor() as cur:  # orig loses its cluster, trim gets one of its own
            cur.execute("UPDATE articles SET cluster_id = NULL WHERE id = 1")
            cur.execute("INSERT INTO story_clusters (first_seen_at, last_seen_at, "
                        "article_count) VALUES (%s, %s, 1) RETURNING id", (T0, T0))
            cur.execute("UPDATE articles SET cluster_id = %s WHERE id = 3", cur.fetchone())
        cdb.commit()

    prefix()
    expected = _one_by_one(cdb, new, params)
    want = _state(cdb)
    # top 2 hits: orig and copy (all bands shared); orig has no cluster: copy alone decides
    assert expected == [ClusterAssignment(1, False, 2, 1.0)]
    prefix()
    assert _in_batches(cdb, new, 1, params) == expected
    assert _state(cdb) == want


@pytest.mark.parametrize("hours_apart", [0, 30])
def test_cluster_texts_decides_as_the_database_does(cdb: Any, hours_apart: float) -> None:
    """scrapers.clusters.cluster_texts over the items in arrival order, each first seen at
    its published_at, ends in the stories assign_cluster leaves in the database."""
    corpus = _corpus(hours_apart)
    _one_by_one(cdb, corpus, ClusterParams())
    with cdb.cursor() as cur:
        cur.execute("SELECT url, cluster_id FROM articles")
        stored = {url.rsplit("/", 1)[1]: cluster for url, cluster in cur.fetchall()}
    got = cluster_texts([{"title": a["title"], "text": a["body"], "language": a["language"],
                          "published_at": a["seen"]} for a in corpus])
    pure = {a["id"]: g for a, g in zip(corpus, got, strict=True)}
    pairs = list(itertools.combinations(pure, 2))
    assert all((pure[x] == pure[y]) == (stored[x] == stored[y]) for x, y in pairs)
    assert any(pure[x] == pure[y] for x, y in pairs)  # not vacuous: some stories join
    assert len(set(pure.values())) > 1
