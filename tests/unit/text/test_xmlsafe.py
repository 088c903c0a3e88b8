"""scrapers.text.xmlsafe: what a defused prolog keeps, drops, and leaves alone."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapers.text.xmlsafe import Defused, UnsafeDocumentError, defuse_prolog

FEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
ROOT = b'<rss version="2.0"><channel><title>&nbsp;&a; &amp; \xd0\xa0</title></channel></rss>'
DECL = b'<?xml version="1.0" encoding="utf-8"?>'


def _head(data: bytes) -> bytes:
    """What feedparser takes for the prolog: up to the first element-like "<"."""
    match = re.search(rb"<\w", data)
    return data[: match.start()] if match else data


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(FEEDS.iterdir())
     if not p.name.endswith(".json") and not p.name.startswith("entity_expansion")],
    ids=lambda p: p.name,
)
def test_ordinary_documents_are_returned_as_they_came(path: Path) -> None:
    data = path.read_bytes()
    assert defuse_prolog(data) == Defused(data)


@pytest.mark.parametrize("prolog", [
    b"",
    DECL + b"\n",
    DECL + b"\n<!-- a comment, with <b>markup</b> -->\n<?xml-stylesheet href='s.xsl'?>\n",
    DECL + b'\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
           b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n',
    b"\xef\xbb\xbf" + DECL + b"\r\n\r\n",
])
def test_prologs_without_declarations_are_left_alone(prolog: bytes) -> None:
    assert defuse_prolog(prolog + ROOT).data == prolog + ROOT


def test_internal_subset_goes_and_one_character_entities_become_references() -> None:
    data = (DECL + b'\n<!DOCTYPE rss SYSTEM "rss.dtd" [\n  <!ENTITY nbsp "&#160;">\n'
            b'  <!ENTITY a \'&#x41;\'>\n  <!ENTITY big "' + b"x" * 100 + b'">\n'
            b'  <!ENTITY % pe "y">\n  <!ELEMENT rss ANY>\n  <!ENTITY lt "&#62;">\n]>\n' + ROOT)
    defused = defuse_prolog(data)
    assert defused.data == (
        DECL + b'\n<!DOCTYPE rss SYSTEM "rss.dtd">\n'
        + ROOT.replace(b"&nbsp;", b"&#160;").replace(b"&a;", b"&#65;")
    )
    assert defused.transcoded_from is None
    assert defused.note is not None
    assert "4 markup declaration(s)" in defused.note  # big, pe, ELEMENT, the redefined lt


def test_declarations_hidden_behind_markup_in_a_value_are_found() -> None:
    data = (DECL + b'\n<!DOCTYPE rss [\n<!ENTITY intro "<b>x</b>">\n'
            b'<!ENTITY lol "lol">\n<!ENTITY lol1 "&lol;&lol;">\n]>\n' + ROOT)
    defused = defuse_prolog(data)
    assert defused.data == DECL + b"\n<!DOCTYPE rss>\n" + ROOT
    assert b"<!ENTITY" not in _head(defused.data)


@pytest.mark.parametrize("prolog", [
    b'<!DOCTYPE rss>\n<!--\n<!ENTITY a "xxxx">\n-->\n',
    b'<!DOCTYPE rss>\n<!ENTITY a "xxxx">\n',
    b'<!DOCTYPE rss>\n<?pi\n<!ENTITY a "xxxx">\n?>\n',
    b'<!DOCTYPE rss>\n<!DOCTYPE rss [<!ENTITY a "xxxx">]>\n',
])
def test_declarations_outside_the_doctype_are_dropped(prolog: bytes) -> None:
    defused = defuse_prolog(DECL + b"\n" + prolog + ROOT)
    assert defused.data == DECL + b"\n<!DOCTYPE rss>\n" + ROOT


def test_doctype_lines_in_an_unterminated_comment_go() -> None:
    defused = defuse_prolog(DECL + b"\n<!--" + b"\n<!DOCTYPE" * 3 + b"\n" + ROOT)
    assert defused.data == DECL + b"\n" + ROOT


def test_whitespace_flood_collapses_and_the_rest_is_kept_byte_for_byte() -> None:
    rest = ROOT + b"\n" * 100 + b"<!-- after the root: not the prolog -->"
    defused = defuse_prolog(DECL + b"\n" * 10_000 + b"<!-- c -->" + b" " * 40 + rest)
    assert defused.data == DECL + b"\n" + rest
    assert defused.note is None  # nothing was lost


def test_repeated_encoding_on_the_first_line_gets_the_declaration_its_own_line() -> None:
    rest = ROOT.replace(b"</title>", b'encoding="x" encoding="y"</title>')
    defused = defuse_prolog(DECL + rest)
    assert defused.data == DECL + b"\n" + rest


def test_utf8_bom_and_a_declared_single_byte_encoding_are_kept() -> None:
    decl = b'<?xml version="1.0" encoding="windows-1251"?>'
    rest = "<rss><channel><title>Лавров &nbsp;</title></channel></rss>".encode("cp1251")
    data = b"\xef\xbb\xbf" + decl + b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>' + rest
    assert defuse_prolog(data).data == (
        b"\xef\xbb\xbf" + decl + b"\n<!DOCTYPE rss>\n" + rest.replace(b"&nbsp;", b"&#160;")
    )


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_read_decoded_and_rewritten_as_utf8(codec: str) -> None:
    text = ('<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [<!ENTITY a "xx">]>\n'
            "<rss><channel><title>日ロ &a;</title></channel></rss>")
    defused = defuse_prolog(text.encode(codec))
    assert defused.data == (
        b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss>\n'
        + "<rss><channel><title>日ロ &a;</title></channel></rss>".encode()
    )
    assert defused.transcoded_from is not None
    assert defused.transcoded_from.startswith(codec[:6])


def test_encoding_that_spells_markup_with_other_bytes_is_refused() -> None:
    """In UTF-7, "+ADw-" is "<": the bytes show no declaration, feedparser's reading does."""
    hidden = '<!DOCTYPE rss [<!ENTITY a "xx">]><rss/>'.encode("utf-7").replace(b"<", b"+ADw-")
    data = b'<?xml version="1.0" encoding="utf-7"?>\n' + hidden
    assert b"<!" not in data
    with pytest.raises(UnsafeDocumentError, match="utf-7"):
        defuse_prolog(data)
    plain = b'<?xml version="1.0" encoding="utf-7"?>\n<rss/>'
    assert defuse_prolog(plain).data == plain


def test_too_many_declared_encodings_are_refused() -> None:
    labels = b" ".join(b'encoding="x-%d"' % n for n in range(5))
    with pytest.raises(UnsafeDocumentError):
        defuse_prolog(b"<?xml " + labels + b"?><rss/>")


@pytest.mark.parametrize("tail", [
    b'<!DOCTYPE rss [<!ENTITY a "' + b"x" * (1 << 20),  # unterminated literal
    b"<!DOCTYPE rss [" + b"<!--" * (1 << 18),  # unterminated comment
    b"<!DOCTYPE rss [" + b"[" * (1 << 20),
    b"<!" + b"<!DOCTYPE " * (1 << 17),
    b"\n" * (1 << 20),
])
def test_scan_is_linear_on_unterminated_constructs(tail: bytes) -> None:
    data = DECL + tail + ROOT
    started = time.monotonic()
    defused = defuse_prolog(data)
    assert time.monotonic() - started < 1.0
    assert b"<!ENTITY" not in _head(defused.data)


_PROLOG_PIECES = [
    b"\n", b" " * 40, b"<!DOCTYPE rss", b"[", b"]", b">", b"<!ENTITY a 'x'>",
    b'<!ENTITY nbsp "&#160;">', b"<!--", b"-->", b"<?pi ", b"?>", b'"', b"'", b"<b>",
    b"<!ELEMENT e ANY>", b"encoding='utf-8' ", b"<", b"\xd0\xa0",
]


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.lists(st.sampled_from(_PROLOG_PIECES), max_size=14).map(b"".join))
def test_what_feedparser_reads_as_the_prolog_never_declares_an_entity(prolog: bytes) -> None:
    try:
        defused = defuse_prolog(DECL + prolog + ROOT)
    except UnsafeDocumentError:
        return
    head = _head(defused.data)
    assert b"<!ENTITY" not in head
    assert not re.search(rb"\s{33}", head)
    if defused.data != DECL + prolog + ROOT:  # rewritten: nothing of the old prolog is left
        assert re.fullmatch(rb"(<\?xml[^<>]*\?>\n)?(<!DOCTYPE [\w.:-]+>\n)?", head)
    assert defused.data.endswith(b"</channel></rss>")
