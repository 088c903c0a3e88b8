"""Defusing an XML document's prolog before feedparser reads it.

feedparser hands a document to expat and, when expat stops, to a lenient SGML parser.
What comes before the root element is where both can be made to work without bound:

- Entities declared in a DOCTYPE's internal subset are expanded. Nested ones ("billion
  laughs") run in expat until its amplification limit stops them; and feedparser
  re-declares, for both parsers, every entity whose value holds no "&", however long, so
  that a document of a few kilobytes can make a title of tens of millions of characters.
- feedparser filters those declarations with regular expressions that end the DOCTYPE at
  its first ">" and the prolog at the first element-like "<", so a value holding markup
  hides every declaration after it from the filter; and they pick declarations out of
  comments as readily as out of the DOCTYPE.
- The same expressions restart at every line of the prolog and backtrack over the
  whitespace after it, or over the rest of it when a "<!DOCTYPE" on that line has no ">"
  after it: quadratic in a prolog of blank lines, or of such lines in an unterminated
  comment. feedparser's encoding sniffer backtracks over the whole first line for each
  ``encoding=`` on it: cubic in a one-line document that repeats it.

`defuse_prolog` rewrites a prolog that shows any of these into the XML declaration and the
DOCTYPE's name and external identifier, nothing else. An entity that stands for one
character (``<!ENTITY nbsp "&#160;">``, which cannot amplify) is not lost: its references
become that character reference. (Kept as a declaration it would break the lenient parser,
which turns ``&nbsp;`` into ``&&#160;;``.) The rest of the document is kept byte for byte;
a document whose prolog shows none of these is returned as it came.

The prolog is read in the encoding feedparser will read it in. The bytes are read as they
are when every ASCII character of that reading is its own byte (UTF-8, the single-byte
encodings, EUC, Shift_JIS, Big5, GBK); UTF-16/32, known by a BOM or by the bytes of "<?",
are decoded, and re-encoded as UTF-8 if rewritten. A document that names an encoding in
which other bytes spell ASCII (UTF-7, UTF-16 without a BOM, ISO-2022) is refused if any
reading of it needs defusing: a rewrite in one reading is another document in the other.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Defused", "UnsafeDocumentError", "defuse_prolog"]


class UnsafeDocumentError(ValueError):
    """A prolog that needs defusing, in an encoding it cannot safely be rewritten in."""


@dataclass(frozen=True)
class Defused:
    """A document ready for feedparser, and what was done to it."""

    data: bytes
    transcoded_from: str | None = None  # the codec, when the text was re-encoded as UTF-8
    note: str | None = None  # declarations dropped, when any were


# Byte-order marks and, without one, the bytes of "<?" (or "<") per XML 1.0 appendix F:
# what feedparser sniffs before it looks for a declared encoding.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)  # fmt: skip
_MARKERS = (
    (b"\x3c\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"), (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)  # fmt: skip
_ASCII = "".join(map(chr, range(128)))
# Multi-byte encodings in which a byte below 0x80 is either that ASCII character or the
# second byte of a two-byte one, never "<" or "&" (Shift_JIS, Big5, GBK, UHC use 0x40 up).
_ASCII_PRESERVING_MULTIBYTE = frozenset({
    "utf-8", "euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr", "gb2312", "gbk", "gb18030",
    "big5", "big5hkscs", "cp950", "cp949", "shift_jis", "cp932", "shift_jis_2004",
    "shift_jisx0213",
})  # fmt: skip
_MAX_LABELS = 4

# feedparser's prolog ends at the first "<" followed by an ASCII word character.
_ELEMENT_START_RE = re.compile(r"<[A-Za-z0-9_]")
# What the prolog is made of: PIs, comments, declarations, then the root element.
_PROLOG_TOKEN_RE = re.compile(r"<(?:\?|!--|![A-Za-z]|[A-Za-z0-9_])")
_KEYWORD_RE = re.compile(r"[A-Za-z]+")
# A declaration up to its "[" or ">" (or a "<" it cannot hold), literals whole; an internal
# subset up to its "]", literals, comments and PIs whole. Each stops at an unterminated
# literal, comment or PI, which is read once.
_DECL_HEAD_RE = re.compile(r"""(?:[^"'\[<>]+|"[^"]*"|'[^']*')*""")
_SUBSET_RE = re.compile(
    r"""(?:[^"'<\]]+|"[^"]*"|'[^']*'|<!--(?:[^-]|-(?!->))*-->|<\?(?:[^?]|\?(?!>))*\?>"""
    r"""|<(?!!--|\?))*"""
)
# Beyond this many PIs, comments and declarations the prolog is hostile: the walk stops
# and the rewrite resumes at the next element, so that Python steps stay bounded.
_MAX_CONSTRUCTS = 1_000
_MARKUP_DECL_RE = re.compile(r"<!(?:ENTITY|ELEMENT|ATTLIST|NOTATION)\b")
# What feedparser's prolog expressions backtrack over, once per line.
_LONG_SPACE_RE = re.compile(r"\s{33}")
_SPACE_RE = re.compile(r"\s*")
# Any spelling feedparser's sniffer might take a label from.
_ENCODING_ATTR_RE = re.compile(r"""encoding\s*=\s*["']\s*([^"'\s]{1,60})\s*["']""")
_LABEL_RE = re.compile(r"[A-Za-z0-9._:-]{1,40}")
_LITERAL = r"""(?:"[^"<>&]{0,500}"|'[^'<>&]{0,500}')"""
_DOCTYPE_HEAD_RE = re.compile(
    rf"([A-Za-z_][A-Za-z0-9_.:-]{{0,63}})(?: (?:SYSTEM {_LITERAL}|PUBLIC {_LITERAL} {_LITERAL}))?"
)
_NAME = r"[A-Za-z_][A-Za-z0-9._-]{0,40}"
_CHAR_ENTITY_RE = re.compile(
    rf"""<!ENTITY\s+({_NAME})\s+(["'])&#(?:([0-9]{{1,7}})|x([0-9A-Fa-f]{{1,6}}));\2\s*>"""
)
_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
_REFERENCE_RE = re.compile(rf"&({_NAME});")
_REFERENCE_BYTES_RE = re.compile(rf"&({_NAME});".encode())


@dataclass(frozen=True)
class _Prolog:
    """What a scan of one reading of the document found before its root element."""

    root: int  # index of the root element's "<" (the text's length if there is none)
    risky: bool
    label: str | None = None  # the encoding the XML declaration names
    doctype: str = ""  # the DOCTYPE's name and external identifier, rebuilt ("" if none)
    characters: Mapping[str, int] = field(default_factory=dict)  # one-character entities
    dropped: int = 0  # markup declarations left out


def defuse_prolog(data: bytes) -> Defused:
    """`data`, its prolog rewritten if it could make feedparser expand or backtrack
    without bound; see the module docstring.

    :raises UnsafeDocumentError: if it needs defusing but can also be read in an encoding
        the rewrite would not cover.
    """
    sniffed, skip = _sniffed_codec(data)
    body = data[skip:]  # what feedparser decodes
    if sniffed:
        primary, start = body.decode(sniffed, errors="replace"), 0
    else:
        primary, start = data.decode("latin-1"), skip  # one character per byte
    found = _scan(primary, start)
    others = _other_readings(primary, start, sniffed)
    if any(_reading_is_risky(body, codec) for codec in others) or (
        others and found.risky and not sniffed
    ):
        raise UnsafeDocumentError(
            f"declared as {', '.join(others)}, with entity declarations or a flood in its "
            "prolog: refused, not rewritten"
        )
    if not found.risky:
        return Defused(data)
    note = None
    if found.dropped:
        note = (f"DTDDeclarationsDropped: {found.dropped} markup declaration(s) in the "
                "prolog were not read")
    if sniffed:
        text = _inlined(primary[found.root :], found.characters)
        prolog = f'<?xml version="1.0" encoding="utf-8"?>\n{found.doctype}'
        return Defused((prolog + text).encode("utf-8", errors="replace"), sniffed, note)
    declaration = ""
    if found.label is not None or primary.startswith("<?xml", start):
        label = f' encoding="{found.label}"' if found.label else ""
        declaration = f'<?xml version="1.0"{label}?>\n'
    rest = _inlined_bytes(data[found.root :], found.characters)
    return Defused(data[:start] + (declaration + found.doctype).encode("latin-1") + rest,
                   None, note)


def _sniffed_codec(data: bytes) -> tuple[str | None, int]:
    """The codec a BOM or the bytes of "<?" name, and the BOM's length; UTF-8 is None."""
    if data.startswith(codecs.BOM_UTF8):
        return None, len(codecs.BOM_UTF8)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    for marker, codec in _MARKERS:
        if data.startswith(marker):
            return codec, 0
    return None, 0


def _other_readings(text: str, start: int, sniffed: str | None) -> list[str]:
    """Codecs that feedparser may read the document in, named on its first line, whose
    reading the scan of `text` does not cover."""
    end = text.find("\n", start)
    labels = {m.group(1) for m in
              _ENCODING_ATTR_RE.finditer(text, start, end if end >= 0 else len(text))}
    if len(labels) > _MAX_LABELS:
        raise UnsafeDocumentError(f"{len(labels)} different encodings declared on its first line")
    others = []
    for label in sorted(labels):
        try:
            codec = codecs.lookup(label).name
        except LookupError:
            continue  # feedparser falls back to UTF-8, then windows-1252: the bytes' reading
        if sniffed:
            if codec not in (sniffed, "utf-16", "utf-32"):  # the last two mean the BOM's
                others.append(codec)
        elif not _bytes_show_its_ascii(codec):
            others.append(codec)
    return others


@functools.lru_cache(maxsize=64)
def _bytes_show_its_ascii(codec: str) -> bool:
    """Does every ASCII character of the codec's reading come from its own byte, "<" and
    "&" always being themselves? Then the bytes as they are show all the markup it does."""
    if codec in _ASCII_PRESERVING_MULTIBYTE:
        return True
    if codec.startswith("iso2022"):
        return False  # escape sequences switch to two-byte characters made of ASCII bytes
    try:
        table = bytes(range(256)).decode(codec, errors="replace")
    except (LookupError, TypeError):
        return False
    return len(table) == 256 and table[:128] == _ASCII  # one byte, one character


def _reading_is_risky(data: bytes, codec: str) -> bool:
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False  # feedparser cannot read it that way either
    return _scan(text, 0).risky


def _scan(text: str, start: int) -> _Prolog:
    """Walk the prolog of `text` from `start` as XML does, literals and comments whole."""
    size = len(text)
    element = _ELEMENT_START_RE.search(text, start)
    head_end = element.start() if element else size  # where feedparser's prolog ends
    root, doctype, subset, dropped = size, None, False, 0
    characters: dict[str, int] = {}
    pos: int | None = start
    constructs = 0
    while pos is not None and (token := _PROLOG_TOKEN_RE.search(text, pos)) is not None:
        lt, kind = token.start(), token.group()
        if kind[1] not in "?!":
            root = lt
            break
        constructs += 1
        if constructs > _MAX_CONSTRUCTS:
            pos = None
        elif kind == "<?":
            pos = _after(text, "?>", lt + 2)
        elif kind == "<!--":
            pos = _after(text, "-->", lt + 4)
        else:
            pos, open_at, close_at = _declaration_end(text, lt)
            keyword = _KEYWORD_RE.match(text, lt + 2)
            if keyword and keyword.group() == "DOCTYPE" and doctype is None and pos is not None:
                stop = open_at if open_at >= 0 else pos - text.startswith(">", pos - 1)
                doctype = _doctype_head(text[lt + 9 : stop])
                if open_at >= 0:
                    subset = True
                    characters = _character_entities(text, open_at, close_at)
                    declared = len(_MARKUP_DECL_RE.findall(text, open_at, close_at))
                    dropped += max(declared - len(characters), 0)
            else:
                dropped += 1
        if pos is None:
            # Unterminated, or too many: XML would read on to the end, and feedparser's
            # lenient parser goes on at the next element, which is where a rewrite resumes.
            resume = _ELEMENT_START_RE.search(text, lt + 2)
            root = resume.start() if resume else size
    line_end = text.find("\n", start)
    risky = (
        subset
        or dropped > 0
        or constructs > _MAX_CONSTRUCTS
        or text.find("<!ENTITY", start, root) >= 0
        or text.count("<!DOCTYPE", start, root) > 1
        or _LONG_SPACE_RE.search(text, start, head_end) is not None
        or (text.startswith("<?", start)
            and text.count("encoding=", start, line_end if line_end >= 0 else size) > 1)
    )
    return _Prolog(root, risky, _declared_label(text, start), doctype or "", characters,
                   dropped)


def _declared_label(text: str, start: int) -> str | None:
    """The encoding the XML declaration at `start` names, if it is a plausible label."""
    if not text.startswith("<?xml", start):
        return None
    end = text.find("?>", start)
    declared = _ENCODING_ATTR_RE.search(text, start, end if end >= 0 else len(text))
    if declared and _LABEL_RE.fullmatch(declared.group(1)):
        return declared.group(1)
    return None


def _after(text: str, terminator: str, pos: int) -> int | None:
    """The index after `terminator`, searched from `pos`; None if it never comes."""
    found = text.find(terminator, pos)
    return None if found < 0 else found + len(terminator)


def _declaration_end(text: str, start: int) -> tuple[int | None, int, int]:
    """Where the walk goes on after the declaration at `start` (None if it never ends),
    and where its internal subset's brackets are (-1 when it has none)."""
    pos = _run_end(_DECL_HEAD_RE, text, start + 2)
    if text.startswith(">", pos):
        return pos + 1, -1, -1
    if not text.startswith("[", pos):  # a "<": malformed, the declaration ends before it
        return (pos if text.startswith("<", pos) else None), -1, -1
    close_at = _run_end(_SUBSET_RE, text, pos + 1)
    if not text.startswith("]", close_at):
        return None, pos, len(text)
    after = _run_end(_SPACE_RE, text, close_at + 1)
    return (after + 1 if text.startswith(">", after) else after), pos, close_at


def _run_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where `pattern`, which also matches nothing, stops when matched at `pos`."""
    match = pattern.match(text, pos)
    return match.end() if match else pos


def _doctype_head(head: str) -> str:
    """``<!DOCTYPE name [external id]>`` from what followed the keyword ("" if no name)."""
    head = " ".join(head.split())
    match = _DOCTYPE_HEAD_RE.match(head)
    if match is None:
        return ""
    # the external identifier only when the whole head reads as one
    kept = match.group(0) if match.end() == len(head) else match.group(1)
    return f"<!DOCTYPE {kept}>\n"


def _character_entities(text: str, open_at: int, close_at: int) -> dict[str, int]:
    """The internal subset's entities that stand for one character (the first of a name)."""
    found: dict[str, int] = {}
    for entity in _CHAR_ENTITY_RE.finditer(text, open_at, close_at):
        name, decimal, hexadecimal = entity.group(1), entity.group(3), entity.group(4)
        value = int(decimal) if decimal else int(hexadecimal, 16)
        if name not in _PREDEFINED and _is_plain_char(value):
            found.setdefault(name, value)
    return found


def _is_plain_char(value: int) -> bool:
    """An XML character that is not markup ("&", "<") and not a C0 control."""
    if value in (0x9, 0xA, 0xD):
        return True
    return (0x20 <= value <= 0x10FFFF and value not in (0x26, 0x3C)
            and not 0xD800 <= value <= 0xDFFF)


def _inlined(text: str, characters: Mapping[str, int]) -> str:
    """References to one-character entities replaced by that character's reference."""
    if not characters:
        return text
    return _REFERENCE_RE.sub(
        lambda m: f"&#{characters[m.group(1)]};" if m.group(1) in characters else m.group(0),
        text,
    )


def _inlined_bytes(data: bytes, characters: Mapping[str, int]) -> bytes:
    if not characters:
        return data
    return _REFERENCE_BYTES_RE.sub(
        lambda m: (f"&#{characters[name]};".encode() if (name := m.group(1).decode())
                   in characters else m.group(0)),
        data,
    )
