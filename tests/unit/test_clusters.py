"""clusters (pure part): shingles per script, MinHash estimates, stable band keys, the rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from scrapers.clusters import (
    BANDS,
    NUM_PERM,
    ROWS,
    Candidate,
    ClusterParams,
    band_keys,
    decide,
    estimated_jaccard,
    minhash,
    shingle_hashes,
    shingles,
    signature_bytes,
    signature_from_bytes,
)

REPO = Path(__file__).resolve().parents[2]
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
    assert minhash("", "en").is_empty()


@pytest.mark.parametrize("language", ["en", "ja", "ru"])
def test_shingle_hashes_match_shingle_sets(language: str) -> None:
    with LABELLED.open(encoding="utf-8") as f:
        articles = [json.loads(line) for line in f]
    for a in (a for a in articles if a["language"] == language):
        hashes = shingle_hashes(a["body"], language)
        assert hashes.dtype == np.uint32
        assert len(hashes) == len(shingles(a["body"], language))  # no collisions here
        assert np.all(np.diff(hashes.astype(np.int64)) > 0)  # sorted, unique


def test_minhash_estimates_jaccard() -> None:
    base = [f"sentence number {i} of the wire story about salmon quotas" for i in range(40)]
    a = " ".join(base)
    b = " ".join(base[:30])  # trimmed to three quarters
    sa, sb = shingles(a, "en"), shingles(b, "en")
    true_j = len(sa & sb) / len(sa | sb)
    ma, mb = minhash(a, "en"), minhash(b, "en")
    assert isinstance(ma, MinHash) and len(ma) == NUM_PERM
    assert abs(ma.jaccard(mb) - true_j) < 0.12  # ~3 standard errors at 128 permutations
    assert minhash(a, "en").jaccard(ma) == 1.0
    unrelated = minhash("An entirely different text about drills on Iturup island "
                        "with helicopters and coastal missile systems this week", "en")
    assert ma.jaccard(unrelated) < 0.1


def test_signature_round_trip_and_estimate() -> None:
    m1, m2 = minhash(EN, "en"), minhash(EN.replace("Tuesday", "Wednesday"), "en")
    raw = signature_bytes(m1)
    assert len(raw) == 4 * NUM_PERM
    back = signature_from_bytes(raw)
    assert np.array_equal(back, m1.hashvalues)
    assert estimated_jaccard(back, m2.hashvalues) == m1.jaccard(m2)


def test_band_keys_shape_and_sensitivity() -> None:
    keys = band_keys(minhash(EN, "en"))
    assert [b for b, _ in keys] == list(range(BANDS))
    assert all(-(2 ** 63) <= k < 2 ** 63 for _, k in keys)  # fits bigint
    other = band_keys(minhash(EN + " It gave no details.", "en"))
    shared = len(set(keys) & set(other))
    assert 0 < shared < BANDS
    with pytest.raises(ValueError, match="bands"):
        band_keys(minhash(EN, "en"), bands=64, rows=ROWS)


def test_band_keys_are_the_same_in_another_process() -> None:
    """No salted hash(): a fresh interpreter (new PYTHONHASHSEED) computes the same keys."""
    code = ("import json; from scrapers.clusters import band_keys, minhash; "
            f"print(json.dumps(band_keys(minhash({EN!r}, 'en'))[:5] + "
            "band_keys(minhash('日ロ、サケ・マス交渉を開始', 'ja'))[:5]))")
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True, cwd=REPO, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("1", "2")
    ]
    here = (band_keys(minhash(EN, "en"))[:5]
            + band_keys(minhash("日ロ、サケ・マス交渉を開始", "ja"))[:5])
    assert json.loads(runs[0]) == json.loads(runs[1]) == [list(k) for k in here]


def test_params_refuse_more_band_values_than_permutations() -> None:
    with pytest.raises(ValueError, match="exceeds num_perm"):
        ClusterParams(bands=43, rows=3)
    assert ClusterParams().tag == "affine32/seed=1/perm=128/k=5/b=42/r=3"


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
