"""edits: a batch of stored stories whose text changed, written together."""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.db import staging
from scrapers.db.edits import Edit, apply_edits
from scrapers.dedup.hashes import content_hash
from scrapers.models import Source
from tests.integration.test_store import LATER, record, save

pytestmark = [pytest.mark.integration, pytest.mark.clock]

TALKS = ("Japan and Russia resumed talks on a peace treaty in Moscow on Tuesday, the first "
         "round since the foreign ministers met in the spring, officials said. ")
GAS = ("Japanese trading houses kept their stakes in the Sakhalin-2 gas project, citing "
       "long-term contracts with utilities that rely on the fuel in winter. ")


def _edited(rec: dict[str, Any], body: str, tags: list[str]) -> dict[str, Any]:
    new = {**rec, "body": body, "topic_tags": tags, "fetched_at": LATER}
    new["content_hash"] = content_hash(new["title"], new["body"])
    return new


def test_a_batch_of_edits_keeps_revisions_replaces_text_and_tags_and_reclusters(
        db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="Pacific Wire", url="https://x.example/f",
                                           language="en")])
    talks = record(src["id"], url="https://news.example/talks", body=TALKS * 3,
                   topic_tags=["theme:peace_treaty"])
    gas = record(src["id"], url="https://news.example/gas", body=GAS * 3,
                 topic_tags=["theme:energy"])
    talks_id, _ = save(db, talks)
    gas_id, _ = save(db, gas)
    with db.cursor() as cur:
        cur.execute("SELECT id, cluster_id FROM articles ORDER BY id")
        assert len({c for _, c in cur.fetchall()}) == 2  # two stories, two clusters
        cur.execute("SELECT count(*) FROM article_event_evidence")
        assert cur.fetchone() == (2,)  # the load linked both to events
    # the gas story is rewritten into a copy of the talks story; talks gains a paragraph
    apply_edits(db, [
        Edit(talks_id, _edited(talks, TALKS * 3 + "A spokesman declined to comment.",
                               ["theme:peace_treaty", "person:sergei_lavrov"])),
        Edit(gas_id, _edited(gas, TALKS * 3 + "Officials gave no details.", [])),
    ], now=LATER, cause="edit")
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT article_id, revision, body = %s OR body = %s, cause "
                    "FROM article_revisions ORDER BY article_id", (TALKS * 3, GAS * 3))
        assert cur.fetchall() == [(talks_id, 1, True, "edit"), (gas_id, 1, True, "edit")]
        cur.execute("SELECT id, updated_count, body LIKE '%%comment.' OR body LIKE '%%details.',"
                    " fetched_at = %s FROM articles ORDER BY id", (LATER,))
        assert cur.fetchall() == [(talks_id, 1, True, True), (gas_id, 1, True, True)]
        cur.execute("SELECT article_id, tag FROM article_tags ORDER BY 1, 2")
        assert cur.fetchall() == [(talks_id, "person:sergei_lavrov"),
                                  (talks_id, "theme:peace_treaty")]
        cur.execute("SELECT count(DISTINCT cluster_id) FROM articles")
        assert cur.fetchone() == (1,)  # the rewritten story joined the talks story
        cur.execute("SELECT count(*), sum(article_count) FROM story_clusters")
        assert cur.fetchone() == (1, 2)  # the cluster it left is gone
        cur.execute("SELECT count(*) FROM article_event_evidence")
        assert cur.fetchone() == (0,)  # pending for event linking again


def test_an_article_edited_twice_or_not_stored_is_refused(db: Any) -> None:
    [src] = staging.sync_sources(db, [Source(name="P", url="https://x.example/f",
                                           language="en")])
    rec = record(src["id"])
    article_id, _ = save(db, rec)
    with pytest.raises(ValueError, match="edited twice"):
        apply_edits(db, [Edit(article_id, rec), Edit(article_id, rec)], now=LATER, cause="edit")
    with pytest.raises(RuntimeError, match=r"not stored: \[987654\]"):
        apply_edits(db, [Edit(987654, rec)], now=LATER, cause="edit")
    db.rollback()
