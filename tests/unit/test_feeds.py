"""Feed parsing: fixture files collected by glob, each with its own expectation.

Every ``tests/fixtures/feeds/X.expected.json`` names its data file ``X.<ext>`` and states
either the entries (and skips) it must give or the error it must raise. Fixtures are
invented texts in the shapes our sources use; add a case by adding two files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scrapers.feeds import (
    MAX_ENTRIES,
    SKIP_BAD_LINK,
    SKIP_DUPLICATE_GUID,
    SKIP_NO_LINK,
    SKIP_OVER_LIMIT,
    FeedParseError,
    ParsedFeed,
    parse_feed,
    parse_feed_detailed,
)
from scrapers.models import FeedEntry

pytestmark = pytest.mark.clock

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
EXPECTATIONS = sorted(FEEDS.glob("*.expected.json"))
FEED_EXPECTATIONS = [
    p for p in EXPECTATIONS if "error" not in json.loads(p.read_text(encoding="utf-8"))
]


def _data_file(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.json")
    found = [p for p in FEEDS.glob(f"{stem}.*") if p != expected]
    assert len(found) == 1, f"{expected.name}: want exactly one data file, found {found}"
    return found[0]


def _as_dict(entry: FeedEntry, keys: list[str]) -> dict[str, Any]:
    published = entry.published_at.isoformat() if entry.published_at else None
    values = {**entry.__dict__, "published_at": published}
    return {key: values[key] for key in keys}


def test_fixtures_are_present() -> None:
    assert len(EXPECTATIONS) >= 12
    data_files = {p for p in FEEDS.iterdir() if not p.name.endswith(".expected.json")}
    assert data_files == {_data_file(e) for e in EXPECTATIONS}, "a fixture lacks its expectation"


@pytest.mark.parametrize("expected_path", EXPECTATIONS, ids=lambda p: p.name.split(".")[0])
def test_fixture(expected_path: Path) -> None:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    data = _data_file(expected_path).read_bytes()

    if "error" in expected:
        assert expected["error"]["type"] == "FeedParseError"
        with pytest.raises(FeedParseError, match=expected["error"]["message_contains"]):
            parse_feed_detailed(data, expected["feed_url"])
        return

    parsed = parse_feed_detailed(data, expected["feed_url"])
    assert parsed.title == expected["title"]
    assert parsed.language == expected["language"]
    assert parsed.version == expected["version"]
    assert parsed.bozo is expected["bozo"]
    assert len(parsed.entries) == len(expected["entries"])
    got = [
        _as_dict(entry, list(want))
        for entry, want in zip(parsed.entries, expected["entries"], strict=True)
    ]
    assert got == expected["entries"]
    assert [list(s) for s in parsed.skipped] == expected["skipped"]
    # Nothing is lost without a reason.
    assert parse_feed(data, expected["feed_url"]) == parsed.entries


@pytest.mark.parametrize("expected_path", FEED_EXPECTATIONS, ids=lambda p: p.name.split(".")[0])
def test_fixture_entries_are_well_formed(expected_path: Path) -> None:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    for entry in parse_feed(_data_file(expected_path).read_bytes(), expected["feed_url"]):
        assert entry.url.startswith(("http://", "https://"))
        assert entry.guid
        assert entry.title == entry.title.strip()
        assert "  " not in entry.summary
        if entry.published_at is not None:
            assert entry.published_at.utcoffset() is not None
            assert entry.published_at.tzinfo == UTC


# --- behaviour beyond the fixtures ----------------------------------------------------


def _rss(items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f'{prolog}<rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.com/</link>{items}</channel></rss>"
    ).encode()


def _item(n: int, guid: str | None = None) -> str:
    guid_xml = f'<guid isPermaLink="false">{guid or f"g{n}"}</guid>'
    return f"<item><title>Item {n}</title><link>https://example.com/a/{n}</link>{guid_xml}</item>"


def test_max_entries_bounds_the_work_and_reports_the_rest() -> None:
    data = _rss("".join(_item(n) for n in range(10)))
    parsed = parse_feed_detailed(data, "https://example.com/rss", max_entries=3)
    assert [e.guid for e in parsed.entries] == ["g0", "g1", "g2"]
    assert parsed.skipped == [(SKIP_OVER_LIMIT, f"g{n}") for n in range(3, 10)]
    assert len(parse_feed(data, "https://example.com/rss", max_entries=0)) == 0


def test_max_entries_default() -> None:
    data = _rss("".join(_item(n) for n in range(MAX_ENTRIES + 5)))
    parsed = parse_feed_detailed(data, "https://example.com/rss")
    assert len(parsed.entries) == MAX_ENTRIES
    assert len(parsed.skipped) == 5


def test_negative_max_entries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        parse_feed(_rss(""), "https://example.com/rss", max_entries=-1)


def test_duplicate_guid_keeps_the_first() -> None:
    data = _rss(_item(1, "same") + _item(2, "same") + _item(3))
    parsed = parse_feed_detailed(data, "https://example.com/rss")
    assert [(e.guid, e.title) for e in parsed.entries] == [("same", "Item 1"), ("g3", "Item 3")]
    assert parsed.skipped == [(SKIP_DUPLICATE_GUID, "same")]


def test_guid_falls_back_to_link() -> None:
    data = _rss("<item><title>x</title><link>https://example.com/x</link></item>")
    assert parse_feed(data, "https://example.com/rss")[0].guid == "https://example.com/x"


def test_guid_is_independent_of_the_feed_url() -> None:
    """A non-URL permalink guid must not be rewritten against the feed's address."""
    data = _rss("<item><title>x</title><link>https://example.com/x</link><guid>123</guid></item>")
    one = parse_feed(data, "https://example.com/rss")[0]
    two = parse_feed(data, "http://example.com/feeds/rss?format=2")[0]
    assert one.guid == two.guid == "123"


def test_relative_links_resolve_against_the_feed_url() -> None:
    data = _rss(
        "<item><title>a</title><link>../news/1.html</link></item>"
        "<item><title>b</title><link>2.html</link></item>"
        "<item><title>c</title><link>//cdn.example.org/3</link></item>"
    )
    entries = parse_feed(data, "https://example.com/feeds/world/rss.xml")
    assert [e.url for e in entries] == [
        "https://example.com/feeds/news/1.html",
        "https://example.com/feeds/world/2.html",
        "https://cdn.example.org/3",
    ]


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("", SKIP_NO_LINK),
        ("mailto:desk@example.com", SKIP_BAD_LINK),
        ("ftp://example.com/file", SKIP_BAD_LINK),
        ("javascript:alert(1)", SKIP_BAD_LINK),
        ("http://", SKIP_BAD_LINK),
    ],
)
def test_unusable_links_are_skipped_with_a_reason(link: str, reason: str) -> None:
    data = _rss(
        f'<item><title>x</title><link>{link}</link><guid isPermaLink="false">k</guid></item>'
    )
    parsed = parse_feed_detailed(data, "https://example.com/rss")
    assert parsed.entries == []
    assert parsed.skipped == [(reason, "k")]


def test_atom_xml_base_is_honoured() -> None:
    data = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://cdn.example.org/base/">
<title>x</title>
<entry><title>e</title><id>tag:x,2025:1</id><link href="rel/5"/></entry></feed>"""
    assert (
        parse_feed(data, "https://example.com/atom")[0].url == "https://cdn.example.org/base/rel/5"
    )


def test_well_formed_empty_feeds_give_no_entries() -> None:
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>empty</title></feed>'
    assert parse_feed(atom, "https://example.com/atom") == []
    assert parse_feed(_rss(""), "https://example.com/rss") == []


@pytest.mark.parametrize("data", [b"", b"   \n", b"\x00\x01\x02garbage", b"<html></html>"])
def test_non_feeds_raise(data: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(data, "https://example.com/rss")


def test_feed_parse_error_is_a_value_error() -> None:
    assert issubclass(FeedParseError, ValueError)


def test_bytes_are_never_treated_as_a_path_or_url(tmp_path: Path) -> None:
    """feedparser given bytes tries open() on them first; a stream avoids that."""
    secret = tmp_path / "feed.xml"
    secret.write_bytes(_rss(_item(1)))
    with pytest.raises(FeedParseError):
        parse_feed(str(secret).encode(), "https://example.com/rss")
    with pytest.raises(FeedParseError):
        parse_feed(b"https://example.com/rss", "https://example.com/rss")


def test_str_input_is_refused() -> None:
    with pytest.raises(TypeError):
        parse_feed(_rss("").decode(), "https://example.com/rss")  # type: ignore[arg-type]


def test_html_is_reduced_to_text() -> None:
    description = (
        "<![CDATA[<div><p>First&nbsp;paragraph.</p><p>Second <b>bold</b>"
        "<i>ish</i>.</p><script>var x = 1;</script><style>p{}</style>"
        "<ul><li>one</li><li>two</li></ul>caf&eacute; &#x41;</div>]]>"
    )
    data = _rss(
        f"<item><title>t</title><link>https://example.com/x</link>"
        f"<description>{description}</description></item>"
    )
    summary = parse_feed(data, "https://example.com/rss")[0].summary
    assert summary == "First paragraph. Second boldish. one two café A"


def test_text_is_nfc_and_whitespace_collapsed() -> None:
    decomposed = "Cafe\u0301\u3000\u200bTokyo\n\t Moscow"
    data = _rss(f"<item><title>{decomposed}</title><link>https://example.com/x</link></item>")
    assert parse_feed(data, "https://example.com/rss")[0].title == "Café Tokyo Moscow"


def test_outlet_suffix_is_only_stripped_when_it_names_the_source() -> None:
    items = (
        "<item><title>A - B - Example Post</title><link>https://news.example/1</link>"
        '<source url="https://post.example">Example Post</source></item>'
        "<item><title>Moscow - Tokyo</title><link>https://news.example/2</link></item>"
        "<item><title>Example Post</title><link>https://news.example/3</link>"
        '<source url="https://post.example">Example Post</source></item>'
    )
    entries = parse_feed(_rss(items), "https://news.example/rss")
    assert [(e.title, e.outlet) for e in entries] == [
        ("A - B", "Example Post"),
        ("Moscow - Tokyo", None),
        ("Example Post", "Example Post"),
    ]
    # the site a search item names: what its opaque link is matched on
    assert [e.outlet_url for e in entries] == ["https://post.example", None,
                                               "https://post.example"]
    odd = parse_feed(_rss('<item><title>x</title><link>https://news.example/4</link>'
                          '<source url="javascript:alert(1)">X</source></item>'),
                     "https://news.example/rss")
    assert odd[0].outlet_url is None


def test_parsed_feed_reports_metadata() -> None:
    parsed = parse_feed_detailed(_rss(_item(1)), "https://example.com/rss")
    assert isinstance(parsed, ParsedFeed)
    assert (parsed.title, parsed.version, parsed.bozo, parsed.bozo_exception) == (
        "T",
        "rss20",
        False,
        None,
    )


def test_undeclared_encoding_is_utf8() -> None:
    data = "<rss version='2.0'><channel><title>日ロ</title></channel></rss>".encode()
    assert parse_feed_detailed(data, "https://example.jp/rss").title == "日ロ"


def test_utf8_bom_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + _rss(_item(1))
    assert len(parse_feed(data, "https://example.com/rss")) == 1


def test_hash_guid_when_neither_id_nor_link() -> None:
    """Unreachable through parse_feed (no link means skipped), but must be stable."""
    from scrapers.feeds import _hash_guid

    assert _hash_guid("t", "s") == _hash_guid("t", "s")
    assert _hash_guid("t", "s").startswith("sha256:")
    assert _hash_guid("t", "s") != _hash_guid("t", "s2")


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_published_falls_back_to_updated() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>
<entry><title>a</title><id>1</id><link href="https://example.com/a"/>
<updated>2025-03-07T11:20:00+03:00</updated></entry>
<entry><title>b</title><id>2</id><link href="https://example.com/b"/>
<published>garbage</published><updated>2025-03-07T11:20:00+03:00</updated></entry>
<entry><title>c</title><id>3</id><link href="https://example.com/c"/>
<published>2025-03-06T00:00:00Z</published><updated>2025-03-07T11:20:00+03:00</updated></entry>
</feed>"""
    dates = [e.published_at for e in parse_feed(atom, "https://example.com/atom")]
    assert dates == [_utc(2025, 3, 7, 8, 20), _utc(2025, 3, 7, 8, 20), _utc(2025, 3, 6, 0, 0)]


def test_search_feed_description_loses_the_publisher_only_when_it_is_headline_plus_name() -> None:
    items = (
        "<item><title>Talks resume - Example Post</title><link>https://news.example/1</link>"
        "<description>&lt;a href='https://news.example/1'&gt;Talks resume&lt;/a&gt;&amp;nbsp;"
        "&amp;nbsp;&lt;font&gt;Example Post&lt;/font&gt;</description>"
        '<source url="https://post.example">Example Post</source></item>'
        "<item><title>Envoy named - Example Post</title><link>https://news.example/2</link>"
        "<description>The minister was interviewed by Example Post</description>"
        '<source url="https://post.example">Example Post</source></item>'
    )
    entries = parse_feed(_rss(items), "https://news.example/rss")
    assert [e.summary for e in entries] == [
        "Talks resume",
        "The minister was interviewed by Example Post",
    ]


def test_encoding_mislabel_is_not_fatal() -> None:
    """Declared us-ascii, really UTF-8: feedparser notes it and decodes as UTF-8."""
    data = _rss(
        "<item><title>Лавров в Токио</title><link>https://example.ru/1</link></item>",
        prolog='<?xml version="1.0" encoding="us-ascii"?>',
    )
    parsed = parse_feed_detailed(data, "https://example.ru/rss")
    assert [e.title for e in parsed.entries] == ["Лавров в Токио"]
    assert parsed.bozo is True
    assert parsed.bozo_exception is not None
    assert parsed.bozo_exception.startswith("CharacterEncodingOverride")


def test_bare_ampersands_are_repaired_not_turned_into_entities() -> None:
    """feedparser's fallback parser alone would give "M&A;" and "AT&T;"."""
    items = (
        "<item><title>M&A and AT&T deals &c. R&D</title><link>https://x.example/1?a=1&b=2</link>"
        "<description><![CDATA[Kept &amp; as written, & a bare one]]></description></item>"
        "<item><title>Fish &amp; chips &#x41; &#66;</title><link>https://x.example/2</link></item>"
    )
    parsed = parse_feed_detailed(_rss(items), "https://x.example/rss")
    assert parsed.bozo is True
    assert [(e.title, e.url, e.summary) for e in parsed.entries] == [
        (
            "M&A and AT&T deals &c. R&D",
            "https://x.example/1?a=1&b=2",
            "Kept & as written, & a bare one",
        ),
        ("Fish & chips A B", "https://x.example/2", ""),
    ]


def test_ampersand_repair_keeps_cdata_and_references() -> None:
    from scrapers.feeds import _escape_bare_ampersands

    data = b"<t>a & b &amp; &#1; &#x1F; &nbsp; <![CDATA[x & y]]> &</t>"
    assert _escape_bare_ampersands(data) == (
        b"<t>a &amp; b &amp; &#1; &#x1F; &nbsp; <![CDATA[x & y]]> &amp;</t>"
    )
    utf16 = "<t>a & b</t>".encode("utf-16")
    assert _escape_bare_ampersands(utf16) == utf16


def test_empty_feed_with_a_bare_ampersand_is_empty_not_an_error() -> None:
    data = b'<rss version="2.0"><channel><title>Japan & Russia</title></channel></rss>'
    parsed = parse_feed_detailed(data, "https://x.example/rss")
    assert (parsed.entries, parsed.title, parsed.bozo) == ([], "Japan & Russia", True)


def test_entry_times_say_how_much_the_feed_stated() -> None:
    """An entry time without an offset is read in the source's zone and says so; one with
    an offset is a stated instant; an entry without a time has none."""
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>https://a.example/1</link><pubDate>2026-11-24T07:30:00</pubDate></item>
<item><title>b</title><link>https://a.example/2</link>
<pubDate>Tue, 24 Nov 2026 07:30:00 +0900</pubDate></item>
<item><title>c</title><link>https://a.example/3</link></item>
</channel></rss>"""
    entries = parse_feed_detailed(feed, "https://a.example/feed",
                                  naive_zone=ZoneInfo("Asia/Tokyo")).entries
    assert [(e.published_at, e.published_precision) for e in entries] == [
        (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "zone_assumed"),
        (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "datetime"),
        (None, "none")]
