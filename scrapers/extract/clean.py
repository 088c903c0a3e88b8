"""Clean the text an extractor pulled out of an article page.

Extractors keep whatever sits inside the article container: share buttons ("Share",
"Copied"), video player errors and durations, "Read more" links, cookie banners, bylines and
photo captions, often printed twice. None of that is article text, and left in the body it
skews relevance scoring and near-duplicate detection.

API: :func:`clean_text` takes extracted text (one paragraph per line, or paragraphs separated
by blank lines) and returns a :class:`CleanedText` with the article paragraphs and, apart, the
photo captions it removed (each once). All patterns live in the "Patterns" section below: to
teach the cleaner a new button label or caption credit, add a string to the relevant tuple.

Pure functions, no I/O.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOGGER = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Patterns. Each tuple is joined into one compiled regex below; lines are matched after
# whitespace normalisation. Keep patterns anchored: they decide whole lines.
# --------------------------------------------------------------------------------------------

#: Whole lines that are interface text, not article text (case-insensitive, full match).
CHROME_LINE_PATTERNS: tuple[str, ...] = (
    # sharing / printing / subscribing (en)
    r"share(?: (?:this|the))?(?: article| story| page| post)?",
    r"share (?:on|via|to) \w+",
    r"(?:link )?copied(?: to clipboard)?",
    r"copy(?: the)? link",
    r"print(?: this)?(?: article| story| page)?",
    r"e-?mail(?: this)?(?: article| story)?",
    r"(?:tweet|facebook|twitter|x|linkedin|whatsapp|telegram|vk|line|reddit|pinterest)",
    r"subscribe(?: now| here| today)?",
    r"sign up(?: now| here)?",
    r"(?:read|see|show|load) more",
    r"(?:continue|keep) reading(?: the main story)?",
    r"related(?: articles| stories| news| content| topics| coverage)?",
    r"(?:recommended|trending|most read|most popular|top stories|latest news|more stories)",
    r"(?:advertisement|advertising|sponsored(?: content)?)",
    r"(?:comments?|likes?)(?: \(?\d+\)?)?",
    r"(?:skip to (?:main )?content|back to top|home|menu|close|next|previous)",
    r"(?:view|open) (?:gallery|image|photos?)",
    # galleries and slideshows
    r"(?:full ?screen|exit full ?screen|thumbnails|\d+ of \d+)",
    r"(?:featured|recent|more|related|latest) (?:slide ?shows?|galleries|videos|photos)",
    # video players
    r"error loading (?:player|media|video)\b.*",
    r"no playable sources found",
    r"this video (?:file )?cannot be played\b.*",
    r"your browser does not support (?:the )?(?:video|audio)\b.*",
    r"(?:play|watch) (?:the )?video",
    # player menus and dialogs read out to screen readers (video.js and the like)
    r"(?:captions|subtitles|descriptions|chapters|audio track)(?: settings| off)?(?:, selected)?",
    r"[\w -]{1,30}, selected",
    r"this is a modal window\..{0,120}",
    r"\d{1,2}:\d{2}(?::\d{2})?",  # bare duration: 01:00, 1:02:03
    # cookie banners
    r"(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b.*",
    r"by (?:continuing to use|using) (?:this|our) (?:web)?site\b.*",
    r"(?:accept|reject|allow|manage)(?: all)? cookies",
    r"cookie (?:settings|policy|preferences)",
    # copyright notices: "© 2024 Example News", "... All rights reserved."
    r"(?:©|\(c\)\s*\d{4}\b|copyright\s*(?:©|\(c\)|\d{4}\b)).{0,120}",
    r".{0,150}\b(?:all rights reserved|tous droits réservés|todos los derechos reservados"
    r"|alle rechte vorbehalten|все права защищены)\.?",
    # tag lists printed as a JSON array, e.g. ["china"]
    r"\[\s*(?:\"[^\"]*\"\s*,?\s*)*\]",
    # Japanese
    r"シェア(?:する)?",
    r"印刷(?:する)?",
    r"関連(?:記事|ニュース|リンク)",
    r"(?:ツイート|ポスト|いいね！?|ブックマーク|はてなブックマーク|LINEで送る)",
    r"(?:リンクを)?コピー(?:する|しました)?",
    r"(?:続きを読む|もっと見る|全文を読む|記事を読む)",
    r"(?:購読|購読する|登録|会員登録|ログイン)",
    r"(?:広告|スポンサーリンク|PR)",
    r"(?:この記事を読んだ人に)?おすすめ(?:の記事|記事)?",
    r"(?:動画を再生|この動画を再生できません).*",
    r"(?:記事(?:を)?保存|(?:会員|無料会員)登録が必要です.*|新規(?:会員)?登録|会員の方はこちら)",
    r"(?:(?:この|本)?記事(?:を|の)?(?:URL|ＵＲＬ)?を?(?:共有|シェア)(?:する)?)",
    r"(?:拡大|写真を拡大|画像を拡大)(?:する)?",
    r"(?:前へ|次へ|トップへ戻る|ページの先頭へ)",
    r"(?:当|本|この)(?:サイト|ウェブサイト)(?:では|は).{0,20}(?:Cookie|クッキー).*",
    # Russian
    r"поделиться(?: в \w+)?",
    r"(?:ссылка )?скопирован[ао]?",
    r"копировать ссылку",
    r"(?:печать|распечатать|версия для печати)",
    r"подписаться",
    r"подпи(?:сывайтесь|шитесь)\b.{0,100}",
    r"(?:читайте|смотрите|читать) (?:также|далее|еще|ещё)",
    r"(?:похожие новости|новости по теме|материалы по теме|по теме)",
    r"(?:реклама|комментарии)",
    r"(?:мы|этот сайт|сайт) использу(?:ем|ет) (?:файлы )?cookie\b.*",
)

#: Headings that open a reader-comments section: everything after them is comments.
COMMENTS_HEADING_PATTERNS: tuple[str, ...] = (
    r"(?:\d+\s+)?(?:reader |user )?comments?(?:\s*\(\d+\))?",
    r"(?:leave|post|add|write|show|view) (?:a |your )?(?:comments?|reply)",
    r"join the (?:discussion|conversation)",
    r"(?:コメント|コメントする|みんなのコメント|読者のコメント)(?:\s*[（(]\d+[）)])?",
    r"(?:комментарии|обсуждение|оставить комментарий|комментировать)(?:\s*\(?\d+\)?)?",
    r"(?:comentar(?:ios)?|commentaires?|kommentare?)",
)

#: Lines saying the rest of the article is behind a paywall or login (en, ja, ru).
PAYWALL_PATTERNS: tuple[str, ...] = (
    r".{0,60}\bsubscribe (?:now )?to (?:continue reading|read (?:the full|more|this))\b.*",
    r".{0,60}\b(?:this (?:article|story|content) is (?:only )?(?:for|available to) "
    r"(?:paying |premium )?(?:subscribers|members))\b.*",
    r".{0,40}\b(?:subscribers?|members) only\b.{0,80}",
    r".{0,40}\bto (?:continue|keep) reading,? (?:please )?(?:subscribe|log ?in|sign ?in|register)"
    r"\b.*",
    r".{0,40}\balready a (?:subscriber|member)\??.{0,80}",
    r".{0,40}\byou(?:'ve| have) reached your (?:free )?(?:article|story) limit\b.*",
    r".{0,40}(?:有料会員限定|会員限定(?:です|記事)|有料記事|有料会員の方のみ|続きは(?:有料)?会員).*",
    r".{0,60}(?:登録|ログイン|会員)(?:すると|して|になると)続き(?:を|が)(?:お読み|読め|読む).*",
    r".{0,60}(?:только для (?:подписчиков|зарегистрированных)|доступ(?:ен)? к материалу только).*",
    r".{0,60}(?:оформите подписку|чтобы (?:продолжить чтение|читать (?:дальше|далее)))\b.*",
)

#: Lines saying the page shows only the beginning of the article.
CONTINUATION_PATTERNS: tuple[str, ...] = (
    r"(?:continue|keep) reading(?: (?:the )?(?:full )?(?:article|story))?\W*",
    r"read (?:the )?full (?:article|story)\W*",
    r"(?:続きを読む|全文を読む|記事全文|続きはこちら)\W*",
    r"(?:читать (?:далее|полностью|дальше)|продолжение)\W*",
)

#: Line openings that announce a link to another story ("Read more: ...", "関連記事：...").
CHROME_PREFIX_PATTERNS: tuple[str, ...] = (
    r"(?:read more|also read|read also|related|see also|more|watch|listen)\s*[:：»›>|]",
    r"(?:читайте также|смотрите также|читать также|по теме)\s*[:：»›>|]",
    r"(?:関連記事|関連ニュース|あわせて読みたい|こちらもおすすめ)\s*[:：》>|]",
)

#: Whole lines that are photo captions or credits (case-sensitive where credits are names).
CAPTION_PATTERNS: tuple[str, ...] = (
    r".+/\s*(?:VCG|CFP|IC|Xinhua|CGTN|China Daily|Kyodo|Jiji|TASS|ТАСС|RIA Novosti|РИА Новости"
    r"|Sputnik|Getty Images|AFP|AP|EPA|Reuters|Bloomberg|Yomiuri|Asahi|Mainichi)"
    r"(?: Photos?| Images?| via Getty Images)?\s*",
    r".+/\s*[A-Z][\w&.'’ -]{1,30} Photos?\s*",
    r"(?:(?i:photos?|images?|pictures?|credit|photo credit)\s*[:：]\s*).{1,80}",
    r".+[.!?”\"]\s+(?i:photos?|images?|credit)\s*[:：]\s*[^.]{1,60}",
    r".*\((?i:photos?|images?|pictures?)(?: by| courtesy of|\s*:)[^)]{1,80}\)\s*",
    r"(?:.+[.!?]\s+)?(?i:фото(?:графия)?|источник фото)\s*[:：]\s*.{1,80}",
    r".+\s+©\s*.{1,40}",
    r"(?:写真|画像|動画)\s*[:：].+",
    r".+[（(](?:写真|画像)[:：]?[^）)]{0,40}[）)]\s*",
    r"(?:【写真】|＜写真＞|<写真>).*",
    r".+＝(?:写真|画像).{0,40}",
    # "…＝５月３１日、モスクワ、ロイター": Japanese captions end with "＝date, place, credit"
    r".+＝[^＝。]{0,40}(?:撮影|提供|共同|時事|ロイター|ＡＰ|AP|ＡＦＰ|AFP|ＥＰＡ|EPA|タス|新華社)\s*",
)

#: Bylines, removed only while they open the body.
BYLINE_PATTERNS: tuple[str, ...] = (
    # "By Taro Yamada", "BY ANNA IVANOVA AND JOHN SMITH, Kyodo", "By Staff Writer | Reuters"
    r"(?:By|BY)\s+[A-ZА-ЯЁ][\w.'’-]*(?:\s+(?:[A-ZА-ЯЁ][\w.'’-]*|and|AND|&|de|van|von|der|bin))*"
    r"(?:\s*[,|–—-]\s*[^.!?]{0,40})?",
    r"(?:Автор|Автор текста|Текст|Корреспондент)\s*[:：]\s*[^.!?]{0,60}",
    r"(?:文|記者|筆者|執筆|取材)\s*[:：＝=/／]\s*[^。]{1,40}",
    r"【[^】]{1,30}(?:記者|特派員|支局)】",
)

#: A slideshow caption opens with its slide counter: "3/50 Title ...", "3 of 50: ...".
SLIDE_COUNTER = re.compile(r"\A(?:[-•·]\s+)?(\d{1,3})\s*(?:/|of)\s*(\d{1,3})\b(?![/.,:]\d)")
#: A gallery: at least this many lines counting slides of the same total.
MIN_GALLERY_SLIDES = 3
#: A slide's title and caption together are longer than a photo caption.
MAX_SLIDE_LINE = 1000

#: Characters dropped outright: zero-width spaces and joiners, stray BOMs, soft hyphens.
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
LINE_SPLIT = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
#: A line with no letter or digit in it (bullets, separators, lone punctuation).
NO_WORD_CHARACTER = re.compile(r"^[\W_]*$")
#: Longer lines are article text, whatever they start or end with (and the regexes skip them).
MAX_CHROME_LINE = 300
MAX_CAPTION_LINE = 400
MAX_BYLINE_LINE = 100
#: A "Comments" heading ends the article only after this much text (share bars print it early).
MIN_CHARS_BEFORE_COMMENTS = 400


def _compile_full(patterns: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\Z", flags)


CHROME_LINE = _compile_full(CHROME_LINE_PATTERNS, re.IGNORECASE)
CHROME_PREFIX = re.compile(
    "(?:" + "|".join(f"(?:{p})" for p in CHROME_PREFIX_PATTERNS) + ")", re.IGNORECASE
)
CAPTION_LINE = _compile_full(CAPTION_PATTERNS)
COMMENTS_HEADING = _compile_full(COMMENTS_HEADING_PATTERNS, re.IGNORECASE)
PAYWALL_LINE = _compile_full(PAYWALL_PATTERNS, re.IGNORECASE)
CONTINUATION_LINE = _compile_full(CONTINUATION_PATTERNS, re.IGNORECASE)
#: A table row of one cell, as extractors print layout tables: "| text |" → "text".
SINGLE_CELL_ROW = re.compile(r"\A\|\s*([^|]+?)\s*\|\Z")
#: Interface characters that may precede a button label ("＞ ログイン", "» Subscribe").
#: A list marker ("- ", as extractors print list items) counts as such.
LEADING_BUTTON_PUNCT = re.compile(r"\A(?:[\s＞>›»→|·•▶►]|-\s)+")
BYLINE_LINE = _compile_full(BYLINE_PATTERNS)
TRAILING_BUTTON_PUNCT = re.compile(r"[\s:：»›>→|·•]+\Z")


@dataclass(frozen=True)
class CleanedText:
    """Article paragraphs with interface text removed, and the captions taken out of them."""

    paragraphs: tuple[str, ...]
    captions: tuple[str, ...] = ()
    #: A line said the rest is for subscribers / behind a login.
    paywalled: bool = False
    #: The text ended on a "continue reading" link: the page holds only the beginning.
    continued: bool = False

    @property
    def text(self) -> str:
        """The paragraphs joined by blank lines, the form stored as ``Article.text``."""
        return "\n\n".join(self.paragraphs)


def clean_text(
    text: str,
    *,
    title: str | None = None,
    site_name: str | None = None,
    known_captions: Iterable[str] = (),
) -> CleanedText:
    """Remove interface text, bylines and captions from extracted article text.

    :param text: extracted text, one paragraph per line (blank lines are ignored).
    :param title: the article title; a copy of it opening the body is dropped.
    :param site_name: the outlet name; a copy of it opening the body is dropped.
    :param known_captions: caption texts the page marks up as such (e.g. ``<figcaption>``);
        body lines equal to one of them are treated as captions even without a photo credit.
    :return: the cleaned paragraphs and, once each and in order, the captions removed.
    """
    captions_seen = {normalize_line(c) for c in known_captions}
    captions_seen.discard("")
    leading = {normalize_line(v).casefold() for v in (title, site_name) if v}

    paragraphs: list[str] = []
    captions: list[str] = []
    dropped = 0
    at_start = True
    paywalled = False
    kept_chars = 0
    continued_at = -1  # number of paragraphs kept when a "continue reading" line was seen
    lines = [SINGLE_CELL_ROW.sub(r"\1", normalize_line(raw)) for raw in LINE_SPLIT.split(text)]
    slides = gallery_slides(lines)
    for index, line in enumerate(lines):
        if not line or NO_WORD_CHARACTER.match(line):
            continue
        if kept_chars >= MIN_CHARS_BEFORE_COMMENTS and is_comments_heading(line):
            dropped += 1  # reader comments follow: not article text
            break
        if is_paywall(line):
            paywalled = True
            dropped += 1
            continue
        if CONTINUATION_LINE.match(line) and len(line) <= MAX_CHROME_LINE:
            continued_at = len(paragraphs)
            dropped += 1
            continue
        if paragraphs and line == paragraphs[-1]:
            dropped += 1  # printed twice in a row
            continue
        if at_start and line.casefold() in leading:
            dropped += 1  # the title or outlet name printed above the text
            continue
        if index in slides or is_caption(line) or line in captions_seen:
            if line not in captions:
                captions.append(line)
            continue
        if is_chrome(line) or (at_start and is_byline(line)):
            dropped += 1
            continue
        at_start = False
        paragraphs.append(line)
        kept_chars += len(line)
    LOGGER.debug(
        "kept %d paragraphs, dropped %d lines, %d captions", len(paragraphs), dropped, len(captions)
    )
    return CleanedText(
        paragraphs=tuple(paragraphs),
        captions=tuple(captions),
        paywalled=paywalled,
        continued=continued_at >= 0 and continued_at == len(paragraphs),
    )


def gallery_slides(lines: Sequence[str]) -> set[int]:
    """Indexes of slideshow captions: lines opening with a slide counter ("3/50 ...").

    A gallery printed into the text gives one line per slide, each opening with its place
    and the same total; at least `MIN_GALLERY_SLIDES` such lines (and slides numbered within
    their total) are a gallery, whose captions are not article text. A lone "1/2" opening a
    line (a score, a fraction) is not.
    """
    by_total: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        match = SLIDE_COUNTER.match(line) if len(line) <= MAX_SLIDE_LINE else None
        if match and 0 < int(match[1]) <= int(match[2]):
            by_total.setdefault(match[2], []).append(index)
    return {
        index
        for indexes in by_total.values()
        if len(indexes) >= MIN_GALLERY_SLIDES
        for index in indexes
    }


def normalize_line(line: str) -> str:
    """NFC-normalise a line, drop zero-width characters and collapse whitespace."""
    if not line.isascii():
        line = ZERO_WIDTH.sub("", unicodedata.normalize("NFC", line))
    return " ".join(line.split())


def is_chrome(line: str) -> bool:
    """True if a normalised line is interface text (buttons, player errors, cookie banners)."""
    if len(line) > MAX_CHROME_LINE:
        return False
    if CHROME_LINE.match(line):
        return True
    bare = TRAILING_BUTTON_PUNCT.sub("", LEADING_BUTTON_PUNCT.sub("", line))
    if bare != line and bare and CHROME_LINE.match(bare):
        return True
    return CHROME_PREFIX.match(line) is not None


def is_comments_heading(line: str) -> bool:
    """True if a normalised line is the heading of a reader-comments section."""
    return len(line) <= MAX_BYLINE_LINE and COMMENTS_HEADING.match(line) is not None


def is_paywall(line: str) -> bool:
    """True if a normalised line says the article continues behind a paywall or login."""
    return len(line) <= MAX_CHROME_LINE and PAYWALL_LINE.match(line) is not None


def is_caption(line: str) -> bool:
    """True if a normalised line is a photo caption or credit."""
    return len(line) <= MAX_CAPTION_LINE and CAPTION_LINE.match(line) is not None


def is_byline(line: str) -> bool:
    """True if a normalised line reads as a byline ("By X", "Автор: X", "文：X")."""
    if len(line) > MAX_BYLINE_LINE or line.endswith((".", "。", "!", "?")):
        return False
    return BYLINE_LINE.match(line) is not None
