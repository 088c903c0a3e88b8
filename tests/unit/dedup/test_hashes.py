"""Content hashes: cosmetic differences do not count as edits, real edits do."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from scrapers.dedup.hashes import content_hash, entry_fingerprint, normalize_for_hash
from scrapers.models import FeedEntry

pytestmark = pytest.mark.clock

TITLE = "Japan and Russia resume salmon talks"
TEXT = "Officials met in Yuzhno-Sakhalinsk.\n\nTalks are expected to last a week."


def test_content_hash_is_sha256_hex_of_the_normalised_pair() -> None:
    expected = hashlib.sha256(
        b"japan and russia resume salmon talks\n"
        b"officials met in yuzhno-sakhalinsk. talks are expected to last a week."
    ).hexdigest()
    assert content_hash(TITLE, TEXT) == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (TITLE, TEXT),
        (f"  {TITLE}\n", TEXT),
        (TITLE, TEXT.replace("\n\n", " ")),
        (TITLE, TEXT.replace(" ", "\u00a0")),  # no-break spaces
        (TITLE, "  " + TEXT.replace(" ", " \t ") + "\n"),
        (TITLE.upper(), TEXT),
        (TITLE, TEXT.replace("week", "we\u200bek")),  # zero-width space
    ],
)
def test_cosmetic_changes_give_the_same_hash(title: str, text: str) -> None:
    assert content_hash(title, text) == content_hash(TITLE, TEXT)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (TITLE, TEXT.replace("a week", "two weeks")),
        (TITLE + "!", TEXT),
        (TITLE, TEXT + " Update: talks ended early."),
        ("", TEXT),
        (TITLE, ""),
    ],
)
def test_real_edits_change_the_hash(title: str, text: str) -> None:
    assert content_hash(title, text) != content_hash(TITLE, TEXT)


def test_title_and_text_boundary_matters() -> None:
    assert content_hash("a b", "c") != content_hash("a", "b c")


def test_unicode_normalisation_and_case_folding() -> None:
    assert content_hash("Café", "x") == content_hash("Cafe\u0301", "x")  # NFC
    assert content_hash("STRASSE", "x") == content_hash("straße", "x")  # casefold
    assert content_hash("ВСТРЕЧА", "x") == content_hash("встреча", "x")
    # the ideographic space U+3000 is whitespace too
    assert content_hash("日ロ\u3000会談", "x") == content_hash("日ロ 会談", "x")
    # NFC, not NFKC: full-width and half-width forms are different text.
    assert content_hash("ＬＮＧ", "x") != content_hash("LNG", "x")


def test_normalize_for_hash() -> None:
    assert normalize_for_hash("  Tokyo\n\tand  MOSCOW \u200b") == "tokyo and moscow"


def _entry(**changes: object) -> FeedEntry:
    base = FeedEntry(
        url="https://example.com/a?utm_source=rss",
        title=TITLE,
        summary="Officials met.",
        published_at=datetime(2025, 3, 3, 9, 15, tzinfo=UTC),
        guid="en-1001",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_fingerprint_is_stable_and_hex() -> None:
    fingerprint = entry_fingerprint(_entry())
    assert fingerprint == entry_fingerprint(_entry())
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0


@pytest.mark.parametrize(
    "changes",
    [
        {"title": TITLE + " (updated)"},
        {"summary": "Officials met again."},
        {"published_at": datetime(2025, 3, 3, 9, 16, tzinfo=UTC)},
        {"published_at": None},
    ],
)
def test_fingerprint_notices_a_changed_entry(changes: dict[str, object]) -> None:
    assert entry_fingerprint(_entry(**changes)) != entry_fingerprint(_entry())


@pytest.mark.parametrize(
    "changes",
    [
        {"url": "https://example.com/a"},
        {"guid": "other"},
        {"outlet": "Example News"},
        {"authors": ["Jane Harper"], "tags": ["Diplomacy"]},
        {"title": f"  {TITLE.upper()}  "},
        {"summary": "Officials\n met."},
        # the same instant written in Moscow time
        {"published_at": datetime(2025, 3, 3, 12, 15, tzinfo=timezone(timedelta(hours=3)))},
    ],
)
def test_fingerprint_ignores_what_is_not_entry_content(changes: dict[str, object]) -> None:
    assert entry_fingerprint(_entry(**changes)) == entry_fingerprint(_entry())


def test_fingerprint_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        entry_fingerprint(_entry(published_at=datetime(2025, 3, 3, 9, 15)))
