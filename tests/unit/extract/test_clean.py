"""clean_text: interface text, bylines and captions out of the body; captions kept once."""

from __future__ import annotations

import pytest

from scrapers.extract.clean import CleanedText, clean_text, is_byline, is_caption, is_chrome
from tests.conftest import REPO

SEED = (
    REPO.parent
    / "shared"
    / "seed"
    / "cgtn-2019-05-31-japan-russia-joint-economic-activities.txt"
)

CAPTION = (
    "Japanese Prime Minister Shinzo Abe (R2) speaks at a meeting to seek the return of four "
    "Russian-held, Japanese-claimed islands off Hokkaido, in Tokyo, Japan, February 7, 2019. "
    "/VCG Photo"
)
# The shape of the seed scrape: title, outlet, tag array, chrome, paragraphs, a doubled caption.
SCRAPED = f"""Japan, Russia discuss joint economic activities on disputed islands
CGTN
["china"]
Share
Copied
Error loading player: No playable sources found
01:00
Japanese and Russian foreign ministers on Friday held talks in Tokyo.
"We confirmed that we will go forward in a flexible and constructive manner," Kono said.
{CAPTION}
{CAPTION}
Lavrov, for his part, highlighted the fact that differences still remain."""


def test_seed_shaped_scrape() -> None:
    cleaned = clean_text(
        SCRAPED,
        title="Japan, Russia discuss joint economic activities on disputed islands",
        site_name="CGTN",
    )
    assert cleaned.paragraphs == (
        "Japanese and Russian foreign ministers on Friday held talks in Tokyo.",
        '"We confirmed that we will go forward in a flexible and constructive manner," Kono said.',
        "Lavrov, for his part, highlighted the fact that differences still remain.",
    )
    assert cleaned.captions == (CAPTION,)
    assert cleaned.text == "\n\n".join(cleaned.paragraphs)


def test_the_seed_file_itself() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    cleaned = clean_text("\n".join(lines[1:]), title=lines[0], site_name="CGTN")
    article = [line for line in lines[7:] if not line.endswith("/VCG Photo")]
    assert cleaned.text == "\n\n".join(article)
    assert len(cleaned.captions) == 2
    assert all(c.endswith("/VCG Photo") for c in cleaned.captions)


@pytest.mark.parametrize(
    "line",
    [
        # en
        "Share",
        "SHARE",
        "Share:",
        "Share this article",
        "Share on Facebook",
        "Copied",
        "Link copied to clipboard",
        "Print",
        "Subscribe",
        "Subscribe now",
        "Read more",
        "Read more »",
        "Read more: Japan extends sanctions on Russian banks",
        "READ MORE: Tokyo summons Russian envoy",
        "Related",
        "Related Articles",
        "See also: Kuril Islands explained",
        "Advertisement",
        "Tweet",
        "Error loading player: No playable sources found",
        "This video file cannot be played.(Error Code: 224003)",
        "01:00",
        "1:02:03",
        "We use cookies to improve your experience. By continuing you agree to our policy.",
        "This website uses cookies",
        "Accept all cookies",
        '["china"]',
        # ja
        "シェア",
        "シェアする",
        "印刷",
        "印刷する",
        "関連記事",
        "関連記事：北方領土の墓参、見送り",
        "ツイート",
        "動画を再生",
        "スポンサーリンク",
        "当サイトではCookieを使用しています。",
        # ru
        "Поделиться",
        "Поделиться в Telegram",
        "Скопировано",
        "Ссылка скопирована",
        "Печать",
        "Версия для печати",
        "Подписаться",
        "Подписывайтесь на наш канал в Telegram",
        "Читайте также",
        "Читайте также: Япония продлила санкции",
        "Реклама",
        "Мы используем файлы cookie",
    ],
)
def test_chrome_lines(line: str) -> None:
    assert is_chrome(line)
    assert clean_text(f"Tokyo and Moscow held talks.\n{line}").paragraphs == (
        "Tokyo and Moscow held talks.",
    )


@pytest.mark.parametrize(
    "line",
    [
        "Share prices in Tokyo fell after the announcement.",
        "Related talks on fishing quotas will resume in May.",
        "Print and broadcast media in Russia covered the visit widely.",
        "The meeting began at 01:00 GMT and lasted two hours.",
        "Subscribers to the fishing cooperative met on Tuesday.",
        "More than 500 troops took part in the drills.",
        "シェアの拡大を目指す日本企業も多い。",
        "Поделиться опытом приехали рыбаки с Хоккайдо.",
        "Реклама японских товаров исчезла с улиц Южно-Сахалинска.",
    ],
)
def test_article_sentences_are_not_chrome(line: str) -> None:
    assert not is_chrome(line)
    assert not is_caption(line)


@pytest.mark.parametrize(
    "line",
    [
        CAPTION,
        "Lavrov speaks in Tokyo, Japan, May 31, 2019. /VCG Photo",
        "Kono and Lavrov shake hands in Tokyo. /Reuters",
        "Russian servicemen on Kunashiri island. / Xinhua",
        "Photo: Kyodo",
        "Kono and Lavrov in Tokyo. Photo: Kyodo",
        "Drills on Kunashiri island. (Photo by Russian Defense Ministry/Handout)",
        "Photos: Getty Images",
        "Фото: пресс-служба Сахалинской области",
        "Министр на встрече в Токио. Фото: архив редакции",
        "写真：会談に臨む日本の外相（１０日夜、外務省）",
        "会談に臨む両外相（写真：共同）",
        "記者会見するロシア外務省の報道官＝５月３１日、モスクワ、ロイター",
    ],
)
def test_caption_lines(line: str) -> None:
    assert is_caption(line)
    cleaned = clean_text(f"First paragraph.\n{line}\n{line}\nSecond paragraph.")
    assert cleaned.paragraphs == ("First paragraph.", "Second paragraph.")
    assert cleaned.captions == (line,)


def test_caption_seen_twice_far_apart_is_returned_once() -> None:
    cleaned = clean_text(f"A.\n{CAPTION}\nB.\n{CAPTION}\nC.")
    assert cleaned.paragraphs == ("A.", "B.", "C.")
    assert cleaned.captions == (CAPTION,)


def test_known_captions_without_credit() -> None:
    caption = "Fishing boats moored in the port of Nemuro."
    cleaned = clean_text(f"A.\n{caption}\n{caption}\nB.", known_captions=[f" {caption} "])
    assert cleaned.paragraphs == ("A.", "B.")
    assert cleaned.captions == (caption,)


def test_line_repeated_immediately_survives_once() -> None:
    assert clean_text("A.\nA.\n\nA.\nB.").paragraphs == ("A.", "B.")


def test_repetition_further_apart_is_kept() -> None:
    # a repeated refrain in a quote-heavy story is text, not a printing accident
    assert clean_text("A.\nB.\nA.").paragraphs == ("A.", "B.", "A.")


@pytest.mark.parametrize(
    "line",
    [
        "By Kenji Morita",
        "By KENJI MORITA and LAURA FENWICK",
        "By Taro Yamada, Kyodo",
        "By Anna Ivanova | Reuters",
        "Автор: Ирина Волкова",
        "Текст: Алексей Смирнов",
        "文：鈴木美咲",
        "【モスクワ支局＝佐藤健一記者】",
    ],
)
def test_leading_bylines_are_removed(line: str) -> None:
    assert is_byline(line)
    assert clean_text(f"{line}\nThe talks ended without agreement.").paragraphs == (
        "The talks ended without agreement.",
    )


@pytest.mark.parametrize(
    "line",
    [
        "By Sunday, the talks had collapsed.",
        "By the end of May, both sides had exchanged proposals.",
        "By most accounts the visit went well.",
        "Автор проекта рассказал о планах.",
    ],
)
def test_sentences_starting_like_bylines_are_kept(line: str) -> None:
    assert not is_byline(line)
    assert clean_text(line).paragraphs == (line,)


def test_byline_in_the_middle_is_kept() -> None:
    # only a byline opening the body is one; later it may be a quoted line or sign-off
    assert clean_text("First.\nBy Kenji Morita").paragraphs == ("First.", "By Kenji Morita")


def test_title_and_site_name_opening_the_body_are_dropped() -> None:
    cleaned = clean_text(
        "Islands talks\nCGTN\nBody.\nIslands talks", title="Islands talks", site_name="CGTN"
    )
    assert cleaned.paragraphs == ("Body.", "Islands talks")


def test_title_opening_the_body_is_not_mistaken_for_a_caption() -> None:
    title = "動画：ナイジェリアで自爆攻撃"
    cleaned = clean_text(f"{title}\n本文です。", title=title)
    assert cleaned == CleanedText(paragraphs=("本文です。",), captions=())


def test_unicode_and_whitespace_normalisation() -> None:
    text = "Cafe\u0301\u00a0 in\tTokyo\u200b.\r\n\r\n\u3000北方領土\u3000問題\n   \n•\n"
    assert clean_text(text).paragraphs == ("Café in Tokyo.", "北方領土 問題")


def test_empty_text() -> None:
    assert clean_text("") == CleanedText(paragraphs=(), captions=())
    assert clean_text("").text == ""


# -- paywalls, "continue reading", comment sections (issue 4) ---------------------------------

LEAD = (
    "Japan and Russia held a first round of fishing talks since relations soured, officials "
    "said on Friday, and agreed to meet again next month in Moscow to settle the quotas."
)


@pytest.mark.parametrize(
    "line",
    [
        "Subscribe to continue reading",
        "This article is for subscribers only.",
        "To continue reading, please log in or register.",
        "You have reached your free article limit.",
        "この記事は有料会員限定です。",
        "［有料会員限定］ この記事は会員限定です。電子版に登録すると続きをお読みいただけます。",
        "有料会員になると続きをお読みいただけます。",
        "Доступ к материалу только для подписчиков.",
        "Чтобы продолжить чтение, оформите подписку.",
    ],
)
def test_paywall_notice_leaves_the_body_and_marks_it(line: str) -> None:
    cleaned = clean_text(f"{LEAD}\n{line}")
    assert cleaned.paragraphs == (LEAD,)
    assert cleaned.paywalled


@pytest.mark.parametrize("line", ["Continue reading", "続きを読む", "Читать далее"])
def test_continue_reading_at_the_end_marks_a_teaser(line: str) -> None:
    cleaned = clean_text(f"{LEAD}\n{line}")
    assert cleaned.paragraphs == (LEAD,)
    assert cleaned.continued and not cleaned.paywalled


def test_continue_reading_in_the_middle_is_an_ad_label_not_a_teaser() -> None:
    cleaned = clean_text(f"{LEAD}\nContinue reading the main story\n{LEAD} Again.")
    assert cleaned.paragraphs == (LEAD, f"{LEAD} Again.")
    assert not cleaned.continued


@pytest.mark.parametrize("heading", ["Comments", "12 comments", "コメント", "Комментарии (4)"])
def test_comment_section_ends_the_article(heading: str) -> None:
    text = f"{LEAD}\n{LEAD} Second.\n{LEAD} Third.\n{heading}\nGreat article!\nI disagree."
    assert clean_text(text).paragraphs == (LEAD, f"{LEAD} Second.", f"{LEAD} Third.")


def test_comments_label_in_a_share_bar_does_not_cut_the_article() -> None:
    text = f"{LEAD}\nComments\n{LEAD} Second."
    assert clean_text(text).paragraphs == (LEAD, f"{LEAD} Second.")


@pytest.mark.parametrize("line", ["＞ ログイン", "＞ 新規会員登録", "記事保存", "» Subscribe"])
def test_buttons_with_leading_arrows_are_chrome(line: str) -> None:
    assert is_chrome(line)


def test_text_is_nfc_normalised() -> None:
    decomposed = "ガ" + "\u3099" + " Cafe\u0301 talks resumed in Tokyo on Friday."
    cleaned = clean_text("カ\u3099 Cafe\u0301 talks resumed in Tokyo on Friday.")
    assert cleaned.paragraphs[0] == "ガ Café talks resumed in Tokyo on Friday."
    assert decomposed != cleaned.paragraphs[0]


def test_single_cell_table_rows_lose_their_pipes() -> None:
    assert clean_text(f"| {LEAD} |").paragraphs == (LEAD,)
    assert clean_text("| 2023 | 21 ships |").paragraphs == ("| 2023 | 21 ships |",)


@pytest.mark.parametrize(
    "line",
    [
        "Fullscreen",
        "Thumbnails",
        "1 of 5",
        "Related Videos",
        "Featured Slide Shows",
        "- Close",
        "- Share on Facebook",
    ],
)
def test_gallery_controls_and_list_marked_buttons_are_chrome(line: str) -> None:
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line",
    [
        "© 2024 Example News",
        "Copyright © 2023 Harbor Wire Inc.",
        "Copyright 2023 Harbor Wire",
        "(c) 2021 Harbor Wire",
        "™ & © 2013 Cable News Network, Inc., a Time Warner Company. All rights reserved.",
        "Harbor Wire. Tous droits réservés",
    ],
)
def test_copyright_notices_are_chrome(line: str) -> None:
    assert is_chrome(line)
    assert clean_text(f"{LEAD}\n{line}").paragraphs == (LEAD,)


@pytest.mark.parametrize(
    "line",
    [
        "Copyright disputes between the two studios have dragged on for years.",
        "Copyright law in Japan was amended in 2018.",
        "- Next steps for the talks were not announced.",
        "Five of the 12 boats returned to port.",
    ],
)
def test_sentences_about_copyright_and_list_items_are_kept(line: str) -> None:
    assert not is_chrome(line)


@pytest.mark.parametrize(
    "line",
    [
        "- Chapters",
        "- descriptions off, selected",
        "- subtitles off, selected",
        "Captions settings",
        "This is a modal window. This modal can be closed by pressing the Escape key.",
    ],
)
def test_player_menus_read_to_screen_readers_are_chrome(line: str) -> None:
    assert is_chrome(line)


SLIDES = [
    f"- {n}/12 Slide title {n} A photo caption of a few words about slide {n}." for n in (1, 2, 5)
]


def test_slideshow_captions_leave_the_body() -> None:
    cleaned = clean_text("\n".join([LEAD, *SLIDES, "The story goes on after the gallery."]))
    assert cleaned.paragraphs == (LEAD, "The story goes on after the gallery.")
    assert cleaned.captions == tuple(SLIDES)


def test_long_slide_captions_leave_the_body_too() -> None:
    slides = [s + " More words." * 40 for s in SLIDES]  # over the 400 characters of a caption
    assert clean_text("\n".join([LEAD, *slides])).paragraphs == (LEAD,)


@pytest.mark.parametrize(
    "lines",
    [
        # two counters are not a gallery
        ["1/12 of the budget went to defence.", "2/12 of it went to schools."],
        # counters of different totals: fractions, scores
        ["1/2 cup of flour.", "2/3 of voters agreed.", "3/4 of the seats were filled."],
        # numbers past the total are not slides
        ["13/12 was the date.", "14/12 was the next.", "15/12 the last."],
        # dates are not counters
        ["1/12/2024: talks began.", "2/12/2024: talks went on.", "5/12/2024: talks ended."],
    ],
)
def test_lines_opening_with_fractions_stay(lines: list[str]) -> None:
    assert clean_text("\n".join([LEAD, *lines])).paragraphs == (LEAD, *lines)
