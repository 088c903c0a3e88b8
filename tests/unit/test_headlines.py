"""headlines: a search item matched to the publisher's own entry by headline and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scrapers.headlines import KnownEntry, headline_key, match_entry, site_of

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_headlines_compare_without_publisher_punctuation_or_case() -> None:
    assert headline_key("Japan, Russia agree on salmon quota - Pacific Wire", "Pacific Wire") == \
        headline_key("JAPAN–RUSSIA AGREE ON SALMON QUOTA!") == \
        "japan russia agree on salmon quota"
    assert headline_key("日ロ漁業交渉が妥結 - 北海新報", "北海新報") == \
        headline_key("日ロ漁業交渉が妥結")
    assert headline_key("ＮＨＫ：サハリン２の対日供給", None) == "nhk サハリン2の対日供給"  # NFKC
    assert headline_key("Pacific Wire", "Pacific Wire") == "pacific wire"  # not emptied
    assert site_of("https://www.wire.example/a") == "wire.example"


def test_an_item_resolves_to_its_publishers_entry_closest_in_time() -> None:
    known = [
        KnownEntry("https://other.example/copy", "Japan, Russia agree on salmon quota", T0),
        KnownEntry("https://wire.example/2026/11/old", "Japan, Russia agree on salmon quota",
                   T0 - timedelta(days=300)),
        KnownEntry("https://www.wire.example/2026/11/quota", "Japan, Russia agree on salmon quota",
                   T0 + timedelta(hours=1)),
        KnownEntry("https://wire.example/2026/11/other", "Japan, Russia disagree", T0),
    ]
    title = "Japan, Russia agree on salmon quota - Pacific Wire"
    assert match_entry(title, "Pacific Wire", "https://wire.example", T0, known) == \
        "https://www.wire.example/2026/11/quota"
    # a subdomain of the publisher's site counts; another site does not
    assert match_entry(title, "Pacific Wire", "https://www.other.example", T0, known) == \
        "https://other.example/copy"
    # too far apart in time, or another headline: unresolved, kept as a headline-only item
    assert match_entry(title, "Pacific Wire", "https://wire.example",
                       T0 + timedelta(days=5), known) is None
    assert match_entry("Salmon quota talks stall", None, "https://wire.example", T0,
                       known) is None
    assert match_entry("", None, None, T0, known) is None


def test_without_times_or_a_site_the_headline_decides_and_the_first_wins() -> None:
    known = [KnownEntry("https://a.example/1", "Kurils ferry resumes"),
             KnownEntry("https://b.example/2", "Kurils ferry resumes")]
    assert match_entry("Kurils ferry resumes", None, None, None, known) == "https://a.example/1"
