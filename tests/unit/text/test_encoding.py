"""decode_html: what the server says, then the page, then the BOM, then detection; never raises."""

from __future__ import annotations

import codecs

import pytest

from scrapers.text.encoding import (
    charset_from_content_type,
    charset_from_meta,
    decode_html,
    normalize_charset,
)

RUSSIAN = (
    "Россия и Япония провели консультации по вопросам рыболовства у южных Курил. "
    "Стороны договорились продолжить диалог — «в интересах жителей региона»."
)
JAPANESE = "日本とロシアの外相が電話で会談し、北方領土での共同経済活動について意見を交わしました。"
ENGLISH = "Japan and Russia held talks on joint economic activities on the disputed islands."


def page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"


@pytest.mark.parametrize(
    ("label", "codec", "text"),
    [
        ("Shift_JIS", "cp932", JAPANESE),
        ("EUC-JP", "euc_jp", JAPANESE),
        ("windows-1251", "cp1251", RUSSIAN),
        ("KOI8-R", "koi8_r", RUSSIAN.replace("—", "-").replace("«", '"').replace("»", '"')),
        ("utf-8", "utf-8", RUSSIAN + JAPANESE),
    ],
)
def test_charset_from_http_header(label: str, codec: str, text: str) -> None:
    html = page(text)
    assert decode_html(html.encode(codec), f"text/html; charset={label}") == html


@pytest.mark.parametrize(
    ("declaration", "codec", "text"),
    [
        ('<meta charset="Shift_JIS">', "cp932", JAPANESE),
        ("<meta charset=euc-jp>", "euc_jp", JAPANESE),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
            "cp1251",
            RUSSIAN,
        ),
        ("<meta charset='koi8-r'>", "koi8_r", "Сахалин и Хоккайдо: паромная линия закрыта."),
    ],
)
def test_charset_from_meta_tag(declaration: str, codec: str, text: str) -> None:
    html = page(text, head=declaration)
    assert decode_html(html.encode(codec), "text/html") == html


def test_header_wins_over_meta() -> None:
    html = page(RUSSIAN, head='<meta charset="koi8-r">')
    assert decode_html(html.encode("cp1251"), "text/html; charset=windows-1251") == html


def test_declaration_that_does_not_decode_falls_through() -> None:
    # the server claims UTF-8 but the page is Shift_JIS and says so itself
    html = page(JAPANESE, head='<meta charset="Shift_JIS">')
    assert decode_html(html.encode("cp932"), "text/html; charset=UTF-8") == html


def test_meta_outside_first_4kb_is_ignored_but_detection_still_works() -> None:
    html = "<html><head>" + "<!-- padding -->" * 400 + '<meta charset="windows-1251">'
    html += f"</head><body><p>{RUSSIAN}</p></body></html>"
    assert charset_from_meta(html.encode("cp1251")) is None
    assert decode_html(html.encode("cp1251"), None) == html


def test_byte_order_mark_beats_a_contradicting_header() -> None:
    html = page(JAPANESE)
    assert decode_html(codecs.BOM_UTF8 + html.encode("utf-8"), "text/html; charset=EUC-JP") == html


def test_utf16_with_bom() -> None:
    html = page(RUSSIAN)
    assert decode_html(html.encode("utf-16"), None) == html


def test_latin1_server_default_does_not_garble_utf8() -> None:
    html = page(JAPANESE + " café")
    assert decode_html(html.encode("utf-8"), "text/html; charset=ISO-8859-1") == html


def test_latin1_header_still_applies_to_latin1_pages() -> None:
    html = page("Café Moskva, São Paulo")
    assert decode_html(html.encode("latin-1"), "text/html; charset=ISO-8859-1") == html


@pytest.mark.parametrize(
    ("codec", "text"),
    [
        ("cp1251", RUSSIAN),
        ("koi8_r", "Сахалин и Хоккайдо: паромная линия остается закрытой третий год."),
        ("cp932", JAPANESE),
        ("euc_jp", JAPANESE),
        ("utf-8", JAPANESE + RUSSIAN),
        ("ascii", ENGLISH),
    ],
)
def test_undeclared_charset_is_detected(codec: str, text: str) -> None:
    html = page(text)
    assert decode_html(html.encode(codec), None) == html


def test_shift_jis_label_reads_windows_31j_extensions() -> None:
    html = page("①元島民の墓参②自由訪問", head='<meta charset="Shift_JIS">')
    assert decode_html(html.encode("cp932"), None) == html


def test_undecodable_bytes_are_replaced_not_raised() -> None:
    data = b"<html><body><p>ok \xff\xfe\x81\x00\x9d broken</p></body></html>"
    text = decode_html(data, "text/html; charset=utf-8")
    assert text.startswith("<html><body><p>ok ")
    assert text.endswith(" broken</p></body></html>")


@pytest.mark.parametrize("label", ["base64", "rot13", "zlib", "hex", "uu", "idna", "punycode",
                                   "undefined", "unicode_escape"])
def test_a_label_naming_no_document_encoding_is_ignored(label: str) -> None:
    """Python knows these codecs, but they are byte transforms or for host names: decoding a
    page with one raised (LookupError, not a ValueError) past the extractor."""
    assert normalize_charset(label) is None
    # bytes that are not UTF-8 and too few to detect: the last resort decoded with the label
    assert isinstance(decode_html(b"<p>\x00\xff", f"text/html; charset={label}"), str)
    assert isinstance(decode_html(f'<meta charset="{label}"><p>\x00\xff'.encode("latin-1")), str)


def test_unknown_charset_label_is_ignored() -> None:
    html = page(ENGLISH)
    assert decode_html(html.encode("utf-8"), "text/html; charset=x-made-up") == html


def test_empty_body() -> None:
    assert decode_html(b"", "text/html") == ""


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Shift_JIS", "cp932"),
        ("x-sjis", "cp932"),
        ("EUC-JP", "euc_jp"),
        ("Windows-1251", "cp1251"),
        ("KOI8-R", "koi8-r"),
        ("ISO-8859-1", "cp1252"),
        ("UTF8", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("no-such-charset", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_charset(label: str | None, expected: str | None) -> None:
    assert normalize_charset(label) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/html; charset=EUC-JP", "euc_jp"),
        ('text/html; charset="windows-1251"', "cp1251"),
        ("text/html;charset=utf-8; foo=bar", "utf-8"),
        ("text/html", None),
        (None, None),
    ],
)
def test_charset_from_content_type(header: str | None, expected: str | None) -> None:
    assert charset_from_content_type(header) == expected
