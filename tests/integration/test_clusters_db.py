"""clusters (DB path): assign_cluster on real PostgreSQL, with the labelled set's articles."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scrapers.clusters import (
    THRESHOLD,
    ClusterAssignment,
    article_text,
    assign_cluster,
    backfill,
    band_keys,
    minhash,
)
from scrapers.dedup import content_hash

pytestmark = pytest.mark.integration

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
    with db.cursor() as cur:
        cur.execute("SELECT xmin::text, id, cluster_id FROM articles ORDER BY id")
        rows: list[Any] = cur.fetchall()
        cur.execute("SELECT xmin::text, * FROM story_clusters ORDER BY id")
        rows += cur.fetchall()
        cur.execute("SELECT xmin::text, * FROM article_minhash ORDER BY article_id")
        rows += cur.fetchall()
        cur.execute("SELECT xmin::text, * FROM article_lsh_bands ORDER BY article_id, band")
        rows += cur.fetchall()
    return rows


def test_assigning_again_changes_nothing(cdb: Any) -> None:
    got = load(cdb, "ru-salmon", "ru-salmon-sakh", "ru-salmon-fishnews")
    before = _snapshot(cdb)
    for key, (article_id, first) in got.items():
        again = assign(cdb, key, article_id, seen=T0 + timedelta(days=1))
        # similarities are multiples of 1/128, exact in the real column
        assert again == ClusterAssignment(first.cluster_id, False, first.matched_article_id,
                                          first.similarity)
    cdb.commit()
    assert _snapshot(cdb) == before


def _bands(db: Any, article_id: int) -> set[tuple[int, int]]:
    with db.cursor() as cur:
        cur.execute("SELECT band, bucket FROM article_lsh_bands WHERE article_id = %s",
                    (article_id,))
        return set(cur.fetchall())


def test_edited_article_is_rebanded_and_reclustered(cdb: Any) -> None:
    got = load(cdb, "en-drills", "en-drills-sputnik")
    orig_id, orig = got["en-drills"]
    copy_id, copy = got["en-drills-sputnik"]
    assert copy.cluster_id == orig.cluster_id
    a = ARTICLES["en-drills-sputnik"]
    old_bands = _bands(cdb, copy_id)
    assert old_bands == set(band_keys(minhash(article_text(a["title"], a["body"]), "en")))

    # the outlet replaces the body with a different story: new bands, a cluster of its own
    other = ARTICLES["en-visa-free"]["body"]
    insert(cdb, "en-drills-sputnik", body=other)
    moved = assign(cdb, "en-drills-sputnik", copy_id, body=other)
    cdb.commit()
    assert moved.is_new_cluster and moved.cluster_id != orig.cluster_id
    assert moved.matched_article_id is None
    new_bands = _bands(cdb, copy_id)
    assert new_bands == set(band_keys(minhash(article_text(a["title"], other), "en")))
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
