"""Hostile feeds: documents built to exhaust memory or time, or to break the load later.

Each test states the bound it holds: a tracemalloc peak, an elapsed `time.monotonic`, or a
size in characters or bytes. The budgets are generous (tens of times what the parse needs)
so that a slow machine passes and a blow-up does not.
"""

from __future__ import annotations

import logging
import re
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scrapers.feeds import (
    MAX_AUTHOR_CHARS,
    MAX_GUID_BYTES,
    MAX_LINK_BYTES,
    MAX_OUTLET_BYTES,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    SKIP_LONG_LINK,
    FeedParseError,
    _escape_bare_ampersands,
    parse_feed,
    parse_feed_detailed,
)

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
FEED_URL = "https://hostile.example/rss.xml"
MB = 1024 * 1024
PEAK_BUDGET = 50 * MB
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _quiet_parser() -> Iterator[None]:
    """Every document here is malformed on purpose; its WARNING line helps nobody."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def measured(action: Callable[[], T]) -> tuple[T, float, int]:
    """What `action` returned, its elapsed seconds and its tracemalloc peak in bytes."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = action()
        return result, time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def elapsed(action: Callable[[], object]) -> float:
    """Seconds `action` took; a FeedParseError counts as a clean end."""
    started = time.monotonic()
    try:
        action()
    except FeedParseError:
        pass
    return time.monotonic() - started


def _rss(items: str, channel_title: str = "Hostile Herald") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{channel_title}</title><link>https://hostile.example/</link>{items}"
        "</channel></rss>"
    ).encode()


def _item(title: str = "t", link: str = "https://hostile.example/1", guid: str = "k",
          extra: str = "") -> str:
    return (f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">{guid}</guid>{extra}</item>')


# -- 1. entity expansion --------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_nested_entities_are_not_expanded(codec: str) -> None:
    """The billion-laughs fixture: 2.4 million characters from one title, unless the
    document's own entity declarations are dropped before any parser expands them."""
    data = (FEEDS / "entity_expansion_nested.xml").read_bytes()
    if codec != "utf-8":
        data = data.decode().replace('encoding="utf-8"', f'encoding="{codec}"').encode(codec)

    parsed, seconds, peak = measured(lambda: parse_feed_detailed(data, FEED_URL))

    assert peak < PEAK_BUDGET
    assert seconds < 2.0
    assert [e.title for e in parsed.entries] == ["Talks resume: &lol6;"]
    assert parsed.bozo_exception is not None
    assert "declaration" in parsed.bozo_exception


@pytest.mark.parametrize("where", ["internal subset", "comment beside the DOCTYPE"])
def test_one_large_entity_repeated_is_not_expanded(where: str) -> None:
    """19 KB: a 4,000-character entity referenced 5,000 times is a 20-million-character
    title. feedparser passes such a declaration on (its value holds no "&"), and takes one
    from a comment in the prolog just as well."""
    declaration = '<!ENTITY a "' + "x" * 4_000 + '">'
    prolog = (f"<!DOCTYPE rss [\n{declaration}\n]>" if where == "internal subset"
              else f"<!DOCTYPE rss>\n<!--\n{declaration}\n-->")
    data = (f'<?xml version="1.0"?>\n{prolog}\n<rss version="2.0"><channel><title>t</title>'
            f'{_item(title="&a;" * 5_000)}</channel></rss>').encode()
    assert len(data) < 20_000

    parsed, _, peak = measured(lambda: parse_feed_detailed(data, FEED_URL))

    assert peak < PEAK_BUDGET
    assert len(parsed.entries) == 1
    assert len(parsed.entries[0].title) <= MAX_TITLE_CHARS
    assert "x" * 100 not in parsed.entries[0].title


def test_character_entities_declared_in_the_doctype_still_work() -> None:
    """An entity that names one character cannot amplify: its references become that
    character's reference, and the document stays well-formed for the strict parser."""
    data = _rss(_item(title="Talks&nbsp;resume"), channel_title="Herald").replace(
        b"\n<rss", b'\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>\n<rss'
    )
    parsed = parse_feed_detailed(data, FEED_URL)
    assert ([e.title for e in parsed.entries], parsed.bozo) == (["Talks resume"], False)


def test_whitespace_before_the_root_is_linear() -> None:
    """1 MiB of newlines before <rss>: feedparser's DOCTYPE regexes run over that head
    once per line."""
    data = b"\n" * MB + _rss(_item()).split(b"\n", 1)[1]
    assert elapsed(lambda: parse_feed(data, FEED_URL)) < 1.0
    assert [e.guid for e in parse_feed(data, FEED_URL)] == ["k"]


def test_encoding_attributes_on_the_first_line_are_linear() -> None:
    """A one-line document repeating `encoding="x"`: feedparser's declaration regex
    backtracks over the whole first line for each one."""
    flood = 'encoding="x" ' * 2_000
    data = _rss(_item(title=flood)).replace(b"\n", b"")
    assert elapsed(lambda: parse_feed(data, FEED_URL)) < 1.0
    assert parse_feed(data, FEED_URL)[0].title.startswith('encoding="x"')


def test_doctype_lines_in_an_unterminated_comment_are_linear() -> None:
    """Each "<!DOCTYPE" at a line start with no ">" after it: feedparser's DOCTYPE regex
    scans the rest of the prolog from each one."""
    data = _rss(_item()).replace(b"\n<rss", b"\n<!--" + b"\n<!DOCTYPE" * 20_000 + b"\n<rss")
    assert elapsed(lambda: parse_feed(data, FEED_URL)) < 1.0


# -- 2. field caps --------------------------------------------------------------------------------


def test_long_fields_are_capped() -> None:
    words = "Lavrov Hayashi talks " * 2_000
    data = _rss(
        _item(title="日" * 5_000, extra=f"<description>{words}</description>"
              f"<dc:creator>{'A' * 1_000}</dc:creator>"),
        channel_title="Ф" * 5_000,
    )
    parsed = parse_feed_detailed(data, FEED_URL)
    entry = parsed.entries[0]
    assert entry.title == "日" * MAX_TITLE_CHARS
    assert len(entry.summary) <= MAX_SUMMARY_CHARS
    assert entry.summary == entry.summary.strip()
    assert words.startswith(entry.summary)
    assert entry.authors == ["A" * MAX_AUTHOR_CHARS]
    assert parsed.title == "Ф" * MAX_TITLE_CHARS


def test_caps_cut_between_characters_not_inside_one() -> None:
    """A cap that falls between a letter and its combining marks drops the letter too."""
    title = "a" * (MAX_TITLE_CHARS - 1) + "q\u0323\u0307" + "b" * 10  # q̣̇ has no precomposed form
    entry = parse_feed(_rss(_item(title=title)), FEED_URL)[0]
    assert entry.title == "a" * (MAX_TITLE_CHARS - 1)
    assert not unicodedata.category(entry.title[-1]).startswith("M")


# -- 3. the bare-ampersand repair -----------------------------------------------------------------

# The repair's former regex: the reference its replacement must agree with, input for input.
_REFERENCE_RE = re.compile(
    rb"(<!\[CDATA\[.*?\]\]>)"
    rb"|&(?!(?:[A-Za-z_][A-Za-z0-9._-]{0,40}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)",
    re.DOTALL,
)


def _reference_escape(data: bytes) -> bytes:
    return _REFERENCE_RE.sub(lambda m: m.group(0) if m.group(1) else b"&amp;", data)


def test_unterminated_cdata_is_linear() -> None:
    """1 MiB of `<![CDATA[` openings with no `]]>`: the former regex rescanned the rest of
    the document from each one."""
    head = _rss(_item(extra="<description>")).split(b"</item>")[0]
    unit = b"<![CDATA[Q & A "
    data = head + unit * (MB // len(unit))
    assert elapsed(lambda: parse_feed_detailed(data, FEED_URL)) < 1.0
    assert elapsed(lambda: _escape_bare_ampersands(data)) < 0.5


_PIECES = [b"&", b"amp;", b"#38;", b"#x26;", b"#;", b"nbsp;", b"a", b" ", b";", b"<![CDATA[",
           b"]]>", b"]]", b"<", b"x_y.z-1;", b"#xZZ;", b"\xe6\x97\xa5"]


@settings(max_examples=600, derandomize=True, database=None, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=24).map(b"".join))
@example(b"<t>a & b &amp; &#1; &#x1F; &nbsp; <![CDATA[x & y]]> &</t>")
@example(b"&<![CDATA[&]]>&<![CDATA[&")
def test_ampersand_repair_agrees_with_the_former_regex(data: bytes) -> None:
    assert _escape_bare_ampersands(data) == _reference_escape(data)


# -- 4. control characters ------------------------------------------------------------------------

_C0 = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def test_nul_and_control_characters_are_removed_from_every_field() -> None:
    """PostgreSQL refuses NUL in text; the other C0 controls are noise no reader wants."""
    item = (
        "<item><title>Ta&#0;lks\x01 resu\x08me</title>"
        "<link>https://hostile.example/a&#0;b\x02c</link>"
        '<guid isPermaLink="false">g&#0;u\x03id</guid>'
        "<description>Sum&#0;ma\x04ry</description>"
        "<dc:creator>Jo&#0;e\x05 Bloggs</dc:creator>"
        "<category>Dip&#0;lo\x06macy</category>"
        '<source url="https://wire.example/">Wi&#0;re\x07 Service</source></item>'
    )
    parsed = parse_feed_detailed(_rss(item, channel_title="Her&#0;ald\x0e"), FEED_URL)
    [entry] = parsed.entries
    assert (entry.title, entry.url, entry.guid, entry.summary, entry.authors, entry.tags,
            entry.outlet, parsed.title) == (
        "Talks resume", "https://hostile.example/abc", "guid", "Summary", ["Joe Bloggs"],
        ["Diplomacy"], "Wire Service", "Herald",
    )


@pytest.mark.parametrize("field", ["title", "description", "guid", "link", "category"])
@pytest.mark.parametrize("char", ["&#0;", "&#x1;", "&#31;", "\x00", "\x1f"])
def test_no_field_keeps_a_control_character(field: str, char: str) -> None:
    values = {"title": "t", "description": "d", "guid": "g", "link": "https://h.example/x",
              "category": "c"}
    values[field] += char + "z"
    item = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    parsed = parse_feed_detailed(_rss(f"<item>{item}</item>"), FEED_URL)
    for entry in parsed.entries:
        for text in (entry.title, entry.summary, entry.guid, entry.url, *entry.tags):
            assert not _C0.search(text), (field, char, text)


def test_a_removed_control_character_leaves_no_double_space() -> None:
    item = _item(title="Lavrov &#0; Hayashi",
                 extra="<description>a \x01 b &amp;#1; c</description>")
    [entry] = parse_feed(_rss(item), FEED_URL)
    assert (entry.title, entry.summary) == ("Lavrov Hayashi", "a b c")


# -- 5. oversized identifiers ---------------------------------------------------------------------

_BASE = "https://hostile.example/"


def test_link_over_the_limit_is_skipped_with_a_reason() -> None:
    at_limit = _BASE + "a" * (MAX_LINK_BYTES - len(_BASE))
    over = at_limit + "a"
    items = _item(link=at_limit, guid="fits") + _item(link=over, guid="too-long")
    parsed = parse_feed_detailed(_rss(items), FEED_URL)
    assert [e.url for e in parsed.entries] == [at_limit]
    assert parsed.skipped == [(SKIP_LONG_LINK, "too-long")]


def test_link_size_counts_its_percent_encoded_form() -> None:
    """A link is stored canonical, each non-ASCII byte as %XX: 600 kanji are 5,400 bytes."""
    link = _BASE + "日" * 600
    assert len(link.encode()) < MAX_LINK_BYTES
    parsed = parse_feed_detailed(_rss(_item(link=link)), FEED_URL)
    assert (parsed.entries, parsed.skipped) == ([], [(SKIP_LONG_LINK, "k")])


def test_long_guid_becomes_a_stable_hash() -> None:
    long_guid = "urn:x:" + "g" * MAX_GUID_BYTES
    fits = "日" * (MAX_GUID_BYTES // 3)  # 510 bytes
    items = (_item(guid=long_guid, link=_BASE + "1") + _item(guid=fits, link=_BASE + "2")
             + _item(guid=long_guid + "h", link=_BASE + "3"))
    one = parse_feed(_rss(items), FEED_URL)
    two = parse_feed(_rss(items), "https://elsewhere.example/feed")
    assert [e.guid for e in one] == [e.guid for e in two]
    hashed, kept, other = (e.guid for e in one)
    assert kept == fits
    assert hashed.startswith("sha256:") and other.startswith("sha256:") and hashed != other
    assert all(len(e.guid.encode()) <= MAX_GUID_BYTES for e in one)


def test_guid_taken_from_a_long_link_is_hashed_too() -> None:
    link = _BASE + "a" * 1_000
    entry = parse_feed(_rss(f"<item><title>t</title><link>{link}</link></item>"), FEED_URL)[0]
    assert entry.url == link
    assert entry.guid.startswith("sha256:")


def test_long_outlet_name_is_truncated_at_a_character() -> None:
    name = "日" * 300  # 900 bytes
    item = _item(extra=f'<source url="https://wire.example/">{name}</source>')
    [entry] = parse_feed(_rss(item), FEED_URL)
    assert entry.outlet == "日" * (MAX_OUTLET_BYTES // 3)
