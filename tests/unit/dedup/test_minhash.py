"""minhash: shingles per script, shingle sets, containment, stable anchor keys, the rule."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest

from scrapers.dedup.minhash import (
    Candidate,
    ClusterAssignment,
    ClusterParams,
    NewArticle,
    Sketched,
    StoredHit,
    anchor_keys,
    article_band_keys,
    article_text,
    containment,
    decide,
    decide_batch,
    rank_hits,
    seen_day,
    shingle_hashes,
    shingles,
    signature_bytes,
    signature_from_bytes,
    sketch,
)
from tests.conftest import REPO

pytestmark = pytest.mark.clock

LABELLED = REPO / "tests" / "fixtures" / "clusters" / "labelled.jsonl"

EN = ("Russia's Foreign Ministry summoned Japan's ambassador on Tuesday to protest against "
      "new sanctions on Russian banks and shipping companies, the ministry said.")


def test_english_word_shingles_ignore_case_punctuation_and_width() -> None:
    got = shingles("The Kremlin said, on TUESDAY: talks are off!", "en")
    assert got == {"the kremlin said on tuesday", "kremlin said on tuesday talks",
                   "said on tuesday talks are", "on tuesday talks are off"}
    # NFKC folds full-width letters; curly quotes and the thousands comma are punctuation
    assert shingles("ＴＡＳＳ said “2,050 tons” were agreed", "en") == {
        "tass said 2 050 tons", "said 2 050 tons were", "2 050 tons were agreed"}


def test_russian_shingles_fold_yo_and_case() -> None:
    text = "Селезнёв указал послу, что враждебные действия не останутся без ответа"
    assert shingles(text, "ru") == shingles(text.replace("ё", "е").upper(), "ru")
    assert "селезнев указал послу что враждебные" in shingles(text, "ru")


def test_japanese_uses_character_five_grams_without_punctuation() -> None:
    got = shingles("日ロ、サケ・マス交渉を開始。", "ja")
    # punctuation (、・。) is dropped, then every run of 5 characters is a shingle
    chars = "日ロサケマス交渉を開始"
    assert got == {chars[i:i + 5] for i in range(len(chars) - 4)}
    # full-width digits and Latin fold to ASCII under NFKC
    assert shingles("ＥＥＺで２０５０トン", "ja") == shingles("eezで2050トン", "ja")


def test_short_and_empty_texts() -> None:
    assert shingles("Talks resume", "en") == {"talks resume"}
    assert shingles("交渉", "ja") == {"交渉"}
    assert shingles(" ... ", "en") == set()
    assert len(shingle_hashes("", "ru")) == 0
    assert sketch("", " ... ", "en")[1] == 0


@pytest.mark.parametrize("language", ["en", "ja", "ru"])
def test_shingle_hashes_match_shingle_sets(language: str) -> None:
    with LABELLED.open(encoding="utf-8") as f:
        articles = [json.loads(line) for line in f]
    for a in (a for a in articles if a["language"] == language):
        hashes = shingle_hashes(a["body"], language)
        assert hashes.dtype == np.uint32
        assert len(hashes) == len(shingles(a["body"], language))  # no collisions here
        assert np.all(np.diff(hashes.astype(np.int64)) > 0)  # sorted, unique


def test_containment_sees_a_short_take_inside_its_full_story() -> None:
    base = [f"sentence number {i} of the wire story about salmon quotas" for i in range(40)]
    full, _ = sketch("", " ".join(base), "en")
    take, _ = sketch("", " ".join(base[:8]), "en")  # the first fifth
    assert containment(take, full) == containment(full, take) == 1.0
    half_new, _ = sketch("", " ".join(base[:8] + [f"added line {i} on Kunashir" for i in range(8)]),
                         "en")
    assert 0.4 < containment(half_new, full) < 0.6
    unrelated, _ = sketch("", "An entirely different text about drills on Iturup island "
                          "with helicopters and coastal missile systems this week", "en")
    assert containment(unrelated, full) == 0.0
    # fewer than min_shared shared shingles count as none, whatever the share
    headline, _ = sketch("", "sentence number 3 of the wire story", "en")
    assert len(headline) < 8 and containment(headline, full) == 0.0
    assert containment(headline, full, min_shared=1) == 1.0
    assert containment(np.empty(0, dtype=np.uint32), full) == 0.0


def test_signature_round_trip() -> None:
    values, count = sketch("", EN, "en")
    raw = signature_bytes(values)
    assert len(raw) == 4 * count
    assert np.array_equal(signature_from_bytes(raw), values)


def test_anchor_keys_are_the_shared_content_of_two_copies() -> None:
    base = [f"sentence number {i} of the wire story about salmon quotas" for i in range(40)]
    full, _ = sketch("", " ".join(base), "en")
    keys = anchor_keys(full)
    assert keys and all(band == 0 and bucket % 8 == 0 for band, bucket in keys)
    assert {bucket for _, bucket in keys} <= set(full.tolist())
    assert all(0 <= bucket < 2 ** 32 for _, bucket in keys)  # fits bigint
    take, _ = sketch("", " ".join(base[5:15]), "en")
    assert set(anchor_keys(take)) <= set(keys)
    assert set(anchor_keys(take)) & set(keys)
    assert len(anchor_keys(full, anchor_mod=1)) == len(full)


JA = "日ロ、サケ・マス交渉を開始し、漁獲枠と操業条件を協議した。"


def test_anchor_keys_are_the_same_in_another_process() -> None:
    """No salted hash(): a fresh interpreter (new PYTHONHASHSEED) computes the same keys."""
    code = ("import json; from scrapers.dedup.minhash import anchor_keys, sketch; "
            f"print(json.dumps(anchor_keys(sketch('', {EN!r}, 'en')[0])[:5] + "
            f"anchor_keys(sketch('', {JA!r}, 'ja')[0])[:5]))")
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True, cwd=REPO, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("1", "2")
    ]
    here = (anchor_keys(sketch("", EN, "en")[0])[:5]
            + anchor_keys(sketch("", JA, "ja")[0])[:5])
    assert json.loads(runs[0]) == json.loads(runs[1]) == [list(k) for k in here]


def test_params_tag_and_limits() -> None:
    assert ClusterParams().tag == "shingle32/k=5/mod=8"
    with pytest.raises(ValueError, match="anchor_mod"):
        ClusterParams(anchor_mod=0)
    with pytest.raises(ValueError, match="window_days"):
        ClusterParams(window_days=-1)
    # the window and the threshold decide which stored anchors are read and what
    # qualifies, not what is stored: same tag
    assert ClusterParams(window_days=3, threshold=0.5).tag == ClusterParams().tag


def test_decide_best_match_stay_and_merge() -> None:
    cands = [Candidate(10, 1, 0.35), Candidate(11, 2, 0.8), Candidate(12, 3, 0.45)]
    d = decide(cands, None, threshold=0.4)
    assert (d.cluster_id, d.best, d.merge) == (2, cands[1], (3,))
    # the article's own cluster wins while a member of it still qualifies
    d = decide(cands, 3, threshold=0.4)
    assert (d.cluster_id, d.best, d.merge) == (3, cands[1], (2,))
    # below the threshold: nothing to join
    assert decide(cands, 1, threshold=0.9).cluster_id is None
    assert decide([], None).best is None
    # ties go to the earlier article
    tie = decide([Candidate(7, 5, 0.5), Candidate(4, 5, 0.5)], None, 0.4)
    assert tie.best is not None and tie.best.article_id == 4


# --------------------------------------------------------------------------- batch path

T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
_RNG = random.Random(3)
WORDS = ["".join(_RNG.choices("abcdefghijklmnopqrstuvwxyz", k=6)) for _ in range(100)]
HALF_A = " ".join(WORDS[0:55])  # the two halves share one shingle: no match
HALF_C = " ".join(WORDS[50:100])
WHOLE = " ".join(WORDS)  # and the whole text contains each


def item(article_id: int, body: str, seen: datetime = T0) -> Sketched:
    values, count = sketch("", body, "en")
    return Sketched(NewArticle(article_id, "", body, "en", "X", seen), values, count,
                    article_band_keys(values, count))


def hit(of: Sketched, stored: Sketched, cluster_id: int | None) -> StoredHit:
    """`stored` as a stored article sharing bands with `of`, as the batch query returns it."""
    shared = len(set(of.keys) & set(stored.keys))
    return StoredHit(stored.article.article_id, shared, cluster_id, stored.values)


def test_sketch_is_the_shingle_set_of_title_and_body() -> None:
    values, count = sketch("Title", EN, "en")
    assert values.dtype == np.uint32
    assert np.array_equal(values, shingle_hashes(article_text("Title", EN), "en"))
    assert count == len(shingles(article_text("Title", EN), "en"))
    empty, none = sketch("", " ... ", "en")
    assert none == 0 and article_band_keys(empty, none) == []


def test_rank_hits_orders_by_shared_bands_then_id_and_cuts() -> None:
    hits = [(7, 3), (2, 3), (9, 40), (1, 1), (5, 3)]
    assert rank_hits(hits, 3) == [(9, 40), (2, 3), (5, 3)]
    assert rank_hits(hits, 50) == [(9, 40), (2, 3), (5, 3), (7, 3), (1, 1)]
    assert rank_hits([], 5) == []


def test_batch_articles_are_candidates_for_later_ones_and_merges_follow() -> None:
    a, c, b = item(11, HALF_A), item(12, HALF_C), item(13, WHOLE)
    assert containment(a.values, c.values) == 0.0
    assert containment(a.values, b.values) == containment(c.values, b.values) == 1.0
    got = decide_batch([a, c, b], [[], [], []], first_new_id=100)
    j_ab = containment(a.values, b.values)
    j_cb = containment(c.values, b.values)
    best = (11, j_ab) if (-j_ab, 11) < (-j_cb, 12) else (12, j_cb)
    assert got.assignments == [
        ClusterAssignment(100, True, None, None), ClusterAssignment(101, True, None, None),
        ClusterAssignment(100, False, *best, (101,))]
    assert (got.final, got.created, got.folded) == ([100, 100, 100], [100, 101], {101: 100})


def test_a_new_cluster_folds_into_a_stored_one_and_later_articles_follow() -> None:
    a, c, b, c2 = item(1, HALF_A), item(12, HALF_C), item(13, WHOLE), item(14, HALF_C)
    stored = [[hit(x, a, 5)] if set(x.keys) & set(a.keys) else [] for x in (c, b, c2)]
    got = decide_batch([c, b, c2], stored, first_new_id=100)
    assert [g.cluster_id for g in got.assignments] == [100, 5, 5]
    assert got.assignments[1].merged_cluster_ids == (100,)
    assert got.assignments[2].matched_article_id == 12  # identical text, in the batch
    assert (got.final, got.created, got.folded) == ([5, 5, 5], [100], {100: 5})


def test_stored_clusters_merged_in_the_batch_are_followed() -> None:
    a, c, b, c2 = item(1, HALF_A), item(2, HALF_C), item(13, WHOLE), item(14, HALF_C)
    stored = [[hit(b, a, 5), hit(b, c, 7)], [hit(c2, c, 7)]]
    got = decide_batch([b, c2], stored, first_new_id=100)
    assert got.assignments[0].cluster_id == 5
    assert got.assignments[0].merged_cluster_ids == (7,)
    # c2 matches stored article 2, still filed under cluster 7 in what the query read
    assert got.assignments[1] == ClusterAssignment(5, False, 2, 1.0)
    assert (got.final, got.created, got.folded) == ([5, 5], [], {7: 5})


def test_unverifiable_stored_hits_use_up_candidate_slots() -> None:
    a, a2 = item(1, HALF_A), item(13, HALF_A)
    params = ClusterParams(max_candidates=1)
    no_cluster = StoredHit(1, 9, None, a.values)
    no_signature = StoredHit(1, 9, 4, None)
    good = StoredHit(2, 9, 5, a.values)
    for blocked in (no_cluster, no_signature):
        got = decide_batch([a2], [[blocked, good]], 100, params)
        assert got.assignments == [ClusterAssignment(100, True, None, None)]
    got = decide_batch([a2], [[blocked, good]], 100, ClusterParams(max_candidates=2))
    assert got.assignments == [ClusterAssignment(5, False, 2, 1.0)]


def test_decide_batch_wants_one_list_of_hits_per_article() -> None:
    with pytest.raises(ValueError, match="2 articles but 1"):
        decide_batch([item(1, EN), item(2, EN)], [[]], 100)


def test_seen_day_counts_utc_days_since_the_epoch() -> None:
    assert seen_day(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert seen_day(datetime(1970, 1, 1, 23, 59, 59, tzinfo=UTC)) == 0
    assert seen_day(datetime(1969, 12, 31, 23, 0, tzinfo=UTC)) == -1
    # midnight in Tokyo is still the day before in UTC
    tokyo = timezone(timedelta(hours=9))
    assert seen_day(datetime(2026, 11, 27, 0, 0, tzinfo=tokyo)) == seen_day(
        datetime(2026, 11, 26, 12, 0, tzinfo=UTC)) == (date(2026, 11, 26) - date(1970, 1, 1)).days
    with pytest.raises(ValueError, match="timezone-aware"):
        seen_day(datetime(2026, 11, 27))


@pytest.mark.parametrize("days, joins", [(0, True), (7, True), (8, False), (-8, False)])
def test_batch_candidates_stay_within_the_window(days: int, joins: bool) -> None:
    """Identical text, `days` apart: one cluster within WINDOW_DAYS (7), two beyond."""
    first = item(1, WHOLE)
    later = item(2, WHOLE, T0 + timedelta(days=days, hours=1))
    got = decide_batch([first, later], [[], []], first_new_id=100)
    if joins:
        assert got.assignments[1] == ClusterAssignment(100, False, 1, 1.0)
    else:
        assert got.assignments[1] == ClusterAssignment(101, True, None, None)


def test_an_article_within_the_window_of_two_split_clusters_merges_them() -> None:
    """a and b are 40 days apart (two clusters); c, 20 days from each, matches both."""
    a, b, c = (item(i, WHOLE, T0 + timedelta(days=d)) for i, d in ((1, 0), (2, 40), (3, 20)))
    got = decide_batch([a, b, c], [[], [], []], 100, ClusterParams(window_days=30))
    assert [g.cluster_id for g in got.assignments] == [100, 101, 100]
    assert got.assignments[2].merged_cluster_ids == (101,)
    assert got.final == [100, 100, 100]
    narrow = decide_batch([a, b, c], [[], [], []], 100, ClusterParams(window_days=19))
    assert [g.is_new_cluster for g in narrow.assignments] == [True, True, True]


def stored_item(article_id: int, body: str, current: int | None) -> Sketched:
    values, count = sketch("", body, "en")
    return Sketched(NewArticle(article_id, "", body, "en", "X", T0, stored=True,
                               current_cluster_id=current),
                    values, count, article_band_keys(values, count))


def test_a_stored_article_decided_again_stays_keeps_or_leaves_its_cluster() -> None:
    whole = item(1, WHOLE)
    # its text still matches a member of its cluster: it stays there
    edited = stored_item(2, HALF_A, current=7)
    got = decide_batch([edited], [[hit(edited, whole, 7)]], 100, sizes={7: 2})
    assert got.assignments == [ClusterAssignment(7, False, 1, 1.0)] and got.created == []
    # no match at all: alone in its cluster, it keeps the id; with company it leaves
    other = stored_item(3, HALF_C, current=9)
    assert decide_batch([other], [[]], 100, sizes={9: 1}).assignments == [
        ClusterAssignment(9, False, None, None)]
    assert decide_batch([other], [[]], 100, sizes={9: 2}).assignments == [
        ClusterAssignment(100, True, None, None)]


def test_sizes_follow_the_batch_as_articles_leave() -> None:
    """Two stored articles of one cluster, both edited beyond recognition: the first leaves
    (its cluster had two members), the second is then alone and keeps the cluster."""
    a, b = stored_item(1, HALF_A, current=5), stored_item(2, HALF_C, current=5)
    got = decide_batch([a, b], [[], []], 100, sizes={5: 2})
    assert [g.cluster_id for g in got.assignments] == [100, 5]
    assert [g.is_new_cluster for g in got.assignments] == [True, False]
