"""Turn the bytes of an HTML page into text.

Japanese and Russian outlets still serve Shift_JIS, EUC-JP, windows-1251 and KOI8-R pages, and
many of them declare the charset only in the HTTP header, only in a ``<meta>`` tag, or not at
all. Decoding with the wrong codec yields mojibake that no later stage can repair, so this
module looks at every statement a page makes before it guesses.

Order of evidence (first that decodes the bytes cleanly wins):

1. a byte-order mark: unambiguous, and the HTML standard lets it override every declaration;
2. the charset of the HTTP ``Content-Type`` header;
3. ``<meta charset>`` / ``<meta http-equiv="Content-Type">`` in the first 4 KB;
4. strict UTF-8 (a cheap test that is almost never wrong when it passes);
5. detection with charset-normalizer;
6. UTF-8 with ``errors="replace"``, so decoding never raises.

A header stating ISO-8859-1/ASCII is a common server default rather than a statement about the
page, so bytes that are valid UTF-8 are read as UTF-8 in spite of it.

windows-1251 and KOI8-R decode each other's bytes cleanly, so a page labelled (or detected as)
one of them is checked against the other: the reading that gives mostly lower-case Cyrillic
wins (`cyrillic_reading`).

Pure function, no I/O.
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

LOGGER = logging.getLogger(__name__)

#: How far into the document ``<meta>`` charset declarations are looked for.
META_SCAN_BYTES = 4096
#: How much of a large document is handed to charset-normalizer (head and tail).
DETECTION_SAMPLE_BYTES = 16384

HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
# Matches both <meta charset="x"> and <meta http-equiv="Content-Type" content="...; charset=x">.
META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Labels as browsers read them (WHATWG Encoding Standard), where Python's codec differs:
# pages labelled Shift_JIS are in practice Windows-31J (NEC/IBM extensions, e.g. ①), and
# Latin-1/ASCII labels mean windows-1252.
CHARSET_ALIASES: dict[str, str] = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "koi8": "koi8_r",
    "koi": "koi8_r",
    "x-mac-cyrillic": "mac_cyrillic",
    # A document that is being parsed as text cannot be UTF-16 in a <meta>; browsers use UTF-8.
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
    "unicode": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
}
# Header labels servers send by default, which say nothing about the page itself.
DEFAULT_HEADER_CHARSETS = frozenset({"cp1252"})
# Codecs Python knows that no page is written in: bytes-to-bytes transforms (base64, zlib,
# rot13: `_is_text_encoding` is false) cannot decode a page at all, and these text codecs
# are for host names or escapes, and fail on ordinary bytes. A label naming one is ignored.
NOT_DOCUMENT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape",
                                   "raw-unicode-escape"})
# Single-byte Cyrillic encodings that decode each other's bytes without error.
CYRILLIC_TWINS: dict[str, str] = {"cp1251": "koi8-r", "koi8-r": "cp1251"}
CYRILLIC_LOWER = re.compile("[\u0430-\u044f\u0451]")
CYRILLIC_UPPER = re.compile("[\u0410-\u042f\u0401]")
#: Fewer Cyrillic letters than this are too few to judge a windows-1251/KOI8-R label by.
MIN_CYRILLIC_LETTERS = 10


# C0 control characters but tab, newline and carriage return: PostgreSQL refuses NUL in
# text (psycopg2 will not even send it), and the others are no part of a headline, a name
# or a paragraph. `&#0;` in a feed or a page decodes to one.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A lone surrogate: a JSON string's `\ud800` (JSON-LD) decodes to one, and no encoding can
# write it, so hashing, JSON for staging and psycopg2 all raise on it. It becomes U+FFFD,
# as the HTML parser turns `&#xD800;` into U+FFFD.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """`text` without C0 control characters (tab, newline and CR kept), and with U+FFFD for
    each lone surrogate: what remains can be encoded and stored."""
    return _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub("", text))


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Decode an HTML body using what the page and server state, then detection.

    :param data: the response body as received.
    :param content_type: the HTTP ``Content-Type`` header, if any.
    :return: the document as text; undecodable bytes become U+FFFD, never an exception.
    """
    if not data:
        return ""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")

    header = charset_from_content_type(content_type)
    meta = charset_from_meta(data)
    if header in DEFAULT_HEADER_CHARSETS and meta is None and not data.isascii():
        text = _try_decode(data, "utf-8")
        if text is not None:
            return text

    candidates = [c for c in (header, meta) if c]
    for codec in candidates:
        text = _try_decode(data, codec)
        if text is not None:
            twin = cyrillic_reading(data, codec)
            return text if twin == codec else data.decode(twin)
        LOGGER.debug("declared charset %s does not decode the page", codec)

    text = _try_decode(data, "utf-8")
    if text is not None:
        return text

    detected = detect_charset(data)
    if detected:
        detected = cyrillic_reading(data, detected)
        text = _try_decode(data, detected)
        if text is not None:
            return text

    fallback = candidates[0] if candidates else detected or "utf-8"
    LOGGER.debug("no clean decoding, falling back to %s with replacement", fallback)
    return data.decode(fallback, errors="replace")


def normalize_charset(label: str | None) -> str | None:
    """Map a charset label to a Python codec name, or None if Python does not know it.

    :param label: a label as found in a header or ``<meta>``, e.g. ``"Shift_JIS"``.
    """
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    key = CHARSET_ALIASES.get(key, key)
    try:
        codec = codecs.lookup(key)
    except LookupError:
        LOGGER.debug("unknown charset label %r", label)
        return None
    if not getattr(codec, "_is_text_encoding", True) or codec.name in NOT_DOCUMENT_CHARSETS:
        LOGGER.debug("charset label %r names no document encoding", label)
        return None
    return codec.name


def charset_from_content_type(content_type: str | None) -> str | None:
    """Return the codec named by an HTTP ``Content-Type`` header, if any."""
    if not content_type:
        return None
    match = HEADER_CHARSET.search(content_type)
    return normalize_charset(match.group(1)) if match else None


def charset_from_meta(data: bytes) -> str | None:
    """Return the codec declared by the first ``<meta>`` charset in the first 4 KB, if any."""
    match = META_CHARSET.search(data[:META_SCAN_BYTES])
    if not match:
        return None
    return normalize_charset(match.group(1).decode("ascii", errors="ignore"))


def cyrillic_reading(data: bytes, codec: str) -> str:
    """`codec`, or the other of windows-1251/KOI8-R when only that reads as Russian.

    The two decode each other's bytes without error but swap the case of nearly every
    letter: KOI8-R text read as windows-1251 is mostly capitals ("тПУУЙС"). Russian prose
    is mostly lower-case, so a label that gives mostly capitals, where its twin gives
    mostly lower case, is taken to be wrong.

    :param data: the document's bytes.
    :param codec: a Python codec name, as from `normalize_charset`.
    """
    twin = CYRILLIC_TWINS.get(codec)
    if twin is None:
        return codec
    try:
        lower, upper = _cyrillic_cases(data.decode(codec))
        if lower >= upper or lower + upper < MIN_CYRILLIC_LETTERS:
            return codec
        twin_lower, twin_upper = _cyrillic_cases(data.decode(twin))
    except UnicodeDecodeError:
        return codec
    return twin if twin_lower > twin_upper else codec


def _cyrillic_cases(text: str) -> tuple[int, int]:
    return len(CYRILLIC_LOWER.findall(text)), len(CYRILLIC_UPPER.findall(text))


def _try_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_charset(data: bytes) -> str | None:
    """Guess the charset of undeclared, non-UTF-8 bytes with charset-normalizer.

    :return: a Python codec name, or None if nothing fits.
    """
    sample = data
    if len(data) > 2 * DETECTION_SAMPLE_BYTES:
        sample = data[:DETECTION_SAMPLE_BYTES] + data[-DETECTION_SAMPLE_BYTES:]
    best = from_bytes(sample).best()
    if best is None:
        return None
    return normalize_charset(best.encoding)
