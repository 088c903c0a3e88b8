"""Languages: a declared code reduced to two letters, and a guess from the dominant script.
Pure, no I/O."""

from __future__ import annotations

import re

LANGUAGE_CODE = re.compile(r"^([a-z]{2,3})(?:[-_].*)?$")
THREE_LETTER_LANGUAGES = {"jpn": "ja", "rus": "ru", "eng": "en"}
KANA_CHARS = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
HAN_CHARS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CYRILLIC_CHARS = re.compile(r"[\u0400-\u04ff]")
LATIN_CHARS = re.compile(r"[A-Za-z\u00c0-\u024f]")
LANGUAGE_SAMPLE_CHARS = 3000
#: Han characters with no kana among this many are Chinese: Japanese prose always has kana.
MIN_HAN_FOR_CHINESE = 50




def normalize_language(value: str | None) -> str | None:
    """Reduce a declared language (``ja-JP``, ``ru_RU``, ``jpn``) to a two-letter code."""
    if not value:
        return None
    match = LANGUAGE_CODE.match(value.strip().lower())
    if not match:
        return None
    code = match.group(1)
    if len(code) == 3:
        return THREE_LETTER_LANGUAGES.get(code)
    return code


def detect_language(text: str) -> str | None:
    """Guess the language from the dominant script: kana/kanji → ja, Cyrillic → ru, else en.

    One refinement: a long text of Han characters without a single kana is Chinese ("zh"),
    not Japanese. Returns None when the text has no letters at all.
    """
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    kana = len(KANA_CHARS.findall(sample))
    han = len(HAN_CHARS.findall(sample))
    counts = {
        "ja": kana + han,
        "ru": len(CYRILLIC_CHARS.findall(sample)),
        "en": len(LATIN_CHARS.findall(sample)),
    }
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        return None
    if best == "ja" and kana == 0 and han >= MIN_HAN_FOR_CHINESE:
        return "zh"
    return best
