"""extract_article on saved pages (each fixture carries its expectation) and on small cases.

Fixtures live in tests/fixtures/pages: ``<name>.html`` (bytes as served, in the page's own
charset) beside ``<name>.expected.json`` with ``url``, ``content_type``, ``fields`` (Article
fields asserted for equality; ``paragraphs`` stands for ``text``) and optional
``must_contain`` / ``must_not_contain`` strings checked against the text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scrapers.extract.body import (
    MAX_PAGE_ELEMENTS,
    ExtractionError,
    drop_widgets,
    extract_article,
    needs_full_mode,
    parse_html,
)
from scrapers.models import Article
from scrapers.text.language import detect_language, normalize_language
from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.clock

PAGES = FIXTURES / "pages"
PAGE_FILES = sorted(PAGES.glob("*.html"))
SEED = (
    REPO.parent
    / "shared"
    / "seed"
    / "cgtn-2019-05-31-japan-russia-joint-economic-activities.txt"
)
URL = "https://news.example.com/politics/2024/05/10/story.html"

BODY = (
    "<p>Japanese and Russian diplomats met in Tokyo on Friday for the first round of talks on "
    "fishing quotas since relations soured, officials from both sides said afterwards.</p>"
    "<p>The talks covered salmon and trout catches in the waters off the disputed islands, which "
    "Japan calls the Northern Territories and Russia the Southern Kurils.</p>"
    "<p>Neither side announced an agreement, but both said they would meet again next month.</p>"
)
BODY_PARAGRAPHS = [
    "Japanese and Russian diplomats met in Tokyo on Friday for the first round of talks on "
    "fishing quotas since relations soured, officials from both sides said afterwards.",
    "The talks covered salmon and trout catches in the waters off the disputed islands, which "
    "Japan calls the Northern Territories and Russia the Southern Kurils.",
    "Neither side announced an agreement, but both said they would meet again next month.",
]


def page(head: str = "", body: str = BODY, html_attrs: str = "") -> str:
    return (
        f"<!DOCTYPE html><html{html_attrs}><head><meta charset='utf-8'>{head}</head>"
        f"<body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>Fishing talks</h1>{body}</article>"
        f"<footer><p>&copy; 2024 Example News</p></footer></body></html>"
    )


def load_case(html_path: Path) -> dict[str, Any]:
    expected = html_path.with_name(html_path.stem + ".expected.json")
    case: dict[str, Any] = json.loads(expected.read_text(encoding="utf-8"))
    return case


def field_value(article: Article, name: str) -> Any:
    if name == "paragraphs":
        return article.text.split("\n\n") if article.text else []
    value = getattr(article, name)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# -- fixture pages ----------------------------------------------------------------------------


def test_every_page_has_an_expectation_and_vice_versa() -> None:
    assert PAGE_FILES, "no fixture pages found"
    stems = {p.stem for p in PAGE_FILES}
    expectations = {p.name.removesuffix(".expected.json") for p in PAGES.glob("*.expected.json")}
    assert stems == expectations


@pytest.mark.parametrize("html_path", PAGE_FILES, ids=lambda p: p.stem)
def test_fixture_page(html_path: Path) -> None:
    case = load_case(html_path)
    article = extract_article(html_path.read_bytes(), case["url"], case.get("content_type"))

    for name, expected in case["fields"].items():
        assert field_value(article, name) == expected, name
    if "paragraphs" in case["fields"]:
        assert article.text == "\n\n".join(case["fields"]["paragraphs"])
    for needle in case.get("must_contain", []):
        assert needle in article.text, needle
    for needle in case.get("must_not_contain", []):
        assert needle not in article.text, needle


@pytest.mark.parametrize("html_path", PAGE_FILES, ids=lambda p: p.stem)
def test_fixture_page_invariants(html_path: Path) -> None:
    case = load_case(html_path)
    article = extract_article(html_path.read_bytes(), case["url"], case.get("content_type"))

    paragraphs = article.text.split("\n\n")
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)
    assert all(a != b for a, b in zip(paragraphs, paragraphs[1:], strict=False))
    assert len(set(article.captions)) == len(article.captions)
    assert not any(c in article.text for c in article.captions)
    assert article.published_at is None or article.published_at.utcoffset() is not None
    assert article.published_at is None or article.published_at.tzinfo == UTC
    assert article.url == case["url"]


def test_str_and_bytes_give_the_same_article() -> None:
    html_path = PAGES / "cgtn_seed.html"
    case = load_case(html_path)
    from_bytes = extract_article(html_path.read_bytes(), case["url"])
    from_text = extract_article(html_path.read_text(encoding="utf-8"), case["url"])
    assert from_bytes == from_text


def test_cgtn_fixture_holds_exactly_the_seed_article() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    article_lines = [line for line in lines[7:] if not line.endswith("/VCG Photo")]
    case = load_case(PAGES / "cgtn_seed.html")
    assert case["fields"]["paragraphs"] == article_lines
    assert case["fields"]["title"] == lines[0]


# -- refusing input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", None),
        ("   \n\t", None),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", None),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
        ("Just a line of plain text about Japan and Russia.", None),
        ('{"title": "Japan and Russia", "items": []}', None),
        (page(), "application/pdf"),
        (page(), "image/jpeg"),
        (page(), "application/json"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/octet-stream"),
    ],
)
def test_not_html_raises(data: str | bytes, content_type: str | None) -> None:
    with pytest.raises(ExtractionError):
        extract_article(data, URL, content_type)


def test_extraction_error_is_a_value_error() -> None:
    assert issubclass(ExtractionError, ValueError)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "TEXT/HTML; charset=UTF-8",
        "application/xhtml+xml; charset=utf-8",
        "text/plain",
        "application/octet-stream",
        None,
    ],
)
def test_html_content_types_are_accepted(content_type: str | None) -> None:
    assert extract_article(page(), URL, content_type).text == "\n\n".join(BODY_PARAGRAPHS)


@pytest.mark.parametrize(
    "body",
    [
        "<div id='app'></div><script>window.render({page: 'story'});</script>",
        "<nav><a href='/'>Home</a></nav>",
        "",
    ],
)
def test_html_without_article_text_gives_empty_text(body: str) -> None:
    html = f"<html><head><title>Page not found</title></head><body>{body}</body></html>"
    article = extract_article(html, URL)
    assert article.text == ""
    assert article.title == "Page not found"
    assert article.captions == []


def test_fragment_without_html_tag() -> None:
    article = extract_article(BODY, URL)
    assert article.text == "\n\n".join(BODY_PARAGRAPHS)


# -- metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (
            '<link rel="canonical" href="/politics/story.html">',
            "https://news.example.com/politics/story.html",
        ),
        ('<link rel="canonical" href="//m.example.com/a">', "https://m.example.com/a"),
        (
            '<link rel="Canonical" href=" https://example.org/x?id=1 ">',
            "https://example.org/x?id=1",
        ),
        ('<link rel="canonical" href="javascript:void(0)">', None),
        ('<link rel="canonical" href="mailto:desk@example.com">', None),
        ('<link rel="canonical" href="">', None),
        ('<link rel="canonical" href="http://[::1/broken">', None),
        ('<link rel="alternate" href="https://example.org/amp">', None),
        (
            '<base href="https://cdn.example.net/base/"><link rel="canonical" href="page.html">',
            "https://cdn.example.net/base/page.html",
        ),
    ],
)
def test_canonical_url(link: str, expected: str | None) -> None:
    assert extract_article(page(head=link), URL).canonical_url == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<meta property="og:title" content="OG title"><title>Page | Example News</title>',
            "OG title",
        ),
        (
            '<meta property="og:site_name" content="Example News"><title>Fishing talks resume | '
            "Example News</title>",
            "Fishing talks resume",
        ),
        (
            '<meta property="og:site_name" content="Example News"><title>Example News - Fishing '
            "talks resume</title>",
            "Fishing talks resume",
        ),
        ("<title>Fishing talks | Example News</title>", "Fishing talks"),
        (
            '<meta property="og:title" content="Fishing talks resume | Example News World">'
            '<meta property="og:site_name" content="Example News">',
            "Fishing talks resume",
        ),
        (  # the JSON-LD headline, shown in <title>, beats the <title> with its suffix
            '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "LD headline"}'
            "</script><title>LD headline - Other site</title>",
            "LD headline",
        ),
        (  # a JSON-LD "headline" the page never shows is a tagline, not the title
            '<script type="application/ld+json">{"@type": "Article", "name": "Fishing talks",'
            ' "headline": "annual negotiations on catch quotas"}</script>'
            "<title>Fishing talks - Example Wiki</title>",
            "Fishing talks",
        ),
        ("", "Fishing talks"),
    ],
)
def test_title(head: str, expected: str) -> None:
    assert extract_article(page(head=head), URL).title == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<meta property="article:published_time" content="2024-05-10T19:30:00+09:00">',
            datetime(2024, 5, 10, 10, 30, tzinfo=UTC),
        ),
        (
            '<meta name="pubdate" content="Fri, 10 May 2024 19:30:00 +0900">',
            datetime(2024, 5, 10, 10, 30, tzinfo=UTC),
        ),
        ('<meta name="date" content="2024-05-10">', datetime(2024, 5, 10, tzinfo=UTC)),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", '
            '"datePublished": "2024-05-10T07:00:00Z"}</script>'
            '<meta property="article:published_time" content="2023-01-01T00:00:00Z">',
            datetime(2024, 5, 10, 7, 0, tzinfo=UTC),
        ),
        (
            '<meta name="date" content="not a date">'
            '<meta property="article:published_time" content="2024-05-10T10:00:00+03:00">',
            datetime(2024, 5, 10, 7, 0, tzinfo=UTC),
        ),
        ("", None),
    ],
)
def test_published_at(head: str, expected: datetime | None) -> None:
    assert extract_article(page(head=head), URL).published_at == expected


def test_published_at_from_time_element() -> None:
    body = '<time itemprop="datePublished" datetime="2024-05-10T19:30:00+09:00">May 10</time>'
    article = extract_article(page(body=body + BODY), URL)
    assert article.published_at == datetime(2024, 5, 10, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
            '[{"@type": "Person", "name": "Kenji Morita"}, {"name": "Anna Ivanova"}]}</script>',
            ["Kenji Morita", "Anna Ivanova"],
        ),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "author": "Kenji Morita"}'
            "</script>",
            ["Kenji Morita"],
        ),
        (
            '<meta name="author" content="Kenji Morita and Anna Ivanova">',
            ["Kenji Morita", "Anna Ivanova"],
        ),
        ('<meta property="article:author" content="https://facebook.com/somebody">', []),
        (
            '<meta name="author" content="By Kenji Morita">'
            '<meta name="author" content="kenji morita">',
            ["Kenji Morita"],
        ),
        ("", []),
    ],
)
def test_authors(head: str, expected: list[str]) -> None:
    assert extract_article(page(head=head), URL).authors == expected


@pytest.mark.parametrize("byline", [
    '<span itemprop="author">Hazel Sheffield</span>',
    '<div class="article-author"><a href="/authors/hs">Hazel Sheffield</a></div>',
    '<p class="author-name">Hazel Sheffield</p>',
])
def test_author_from_byline_markup_when_the_page_states_no_author(byline: str) -> None:
    article = extract_article(page(body=byline + BODY), URL)
    assert article.authors == ["Hazel Sheffield"]
    assert article.text.split("\n\n") == BODY_PARAGRAPHS


def test_stated_authors_win_over_byline_markup() -> None:
    head = '<meta name="author" content="Anna Severova">'
    body = '<span itemprop="author">Someone Else</span>' + BODY
    assert extract_article(page(head=head, body=body), URL).authors == ["Anna Severova"]


def test_author_from_byline_element() -> None:
    body = '<p class="byline">By Kenji Morita</p>' + BODY
    assert extract_article(page(body=body), URL).authors == ["Kenji Morita"]


def test_json_ld_in_graph_and_comment_wrapped_and_invalid() -> None:
    head = (
        '<script type="application/ld+json">{not json</script>'
        '<script type="application/ld+json"><!--{"@context": "https://schema.org", "@graph": ['
        '{"@type": "WebPage", "name": "page"},'
        '{"@type": ["NewsArticle"], "headline": "Graph headline", "keywords": "Japan, Russia",'
        ' "articleSection": ["Politics"], "publisher": {"@type": "Organization", '
        '"name": "Example News"}, "datePublished": "2024-05-10"}]}--></script>'
        "<title>Graph headline - Example News</title>"
    )
    article = extract_article(page(head=head), URL)
    assert article.title == "Graph headline"
    assert article.tags == ["Japan", "Russia", "Politics"]
    assert article.site_name == "Example News"
    assert article.published_at == datetime(2024, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize("wrapped", [
    '<![CDATA[{json}]]>',
    '\n  <![CDATA[\n  {json}\n  ]]>\n',
    '//<![CDATA[\n{json}\n//]]>',
    '<!-- {json} -->',
])
def test_json_ld_wrapped_in_cdata_or_comments_is_read(wrapped: str) -> None:
    data = ('{"@context": {"@vocab": "http://schema.org"}, "@type": "NewsArticle", '
            '"headline": "Wrapped headline", "author": [{"name": "Stella Kim"}, '
            '{"name": "Jennifer Jett"}]}')
    head = ('<script type="application/ld+json">' + wrapped.replace("{json}", data)
            + "</script><title>Wrapped headline | Example News</title>")
    article = extract_article(page(head=head), URL)
    assert (article.title, article.authors) == ("Wrapped headline",
                                                ["Stella Kim", "Jennifer Jett"])


def test_tags_are_merged_without_duplicates() -> None:
    head = (
        '<meta name="keywords" content="Japan, Russia,  Kuril Islands">'
        '<meta property="article:tag" content="russia">'
        '<meta property="article:tag" content="Diplomacy">'
    )
    assert extract_article(page(head=head), URL).tags == [
        "Japan",
        "Russia",
        "Kuril Islands",
        "Diplomacy",
    ]


def test_summary_and_site_name() -> None:
    head = (
        '<meta property="og:site_name" content="Example News">'
        '<meta name="description" content="  Talks on   fishing quotas resumed. ">'
    )
    article = extract_article(page(head=head), URL)
    assert article.site_name == "Example News"
    assert article.summary == "Talks on fishing quotas resumed."


# -- language ---------------------------------------------------------------------------------

JA_BODY = "".join(
    f"<p>{s}</p>"
    for s in (
        "日本とロシアの外相が１０日夜、電話で会談し、北方領土での共同経済活動の進め方について"
        "意見を交わしました。",
        "ロシア側は、日本の制裁が対話の障害になっていると主張しました。",
        "政府は平和条約を締結するという基本方針を堅持するとしています。",
    )
)
RU_BODY = "".join(
    f"<p>{s}</p>"
    for s in (
        "Россия готова продолжать консультации с Японией по вопросам промысла у южных Курил.",
        "Переговоры о мирном договоре остаются замороженными с 2022 года.",
        "Японская сторона называет острова северными территориями.",
    )
)


@pytest.mark.parametrize(
    ("html_attrs", "head", "body", "expected"),
    [
        (' lang="ja-JP"', "", JA_BODY, "ja"),
        ("", '<meta property="og:locale" content="ru_RU">', RU_BODY, "ru"),
        ("", '<meta http-equiv="Content-Language" content="ja">', JA_BODY, "ja"),
        ("", "", JA_BODY, "ja"),
        ("", "", RU_BODY, "ru"),
        ("", "", BODY, "en"),
        (' lang="en"', "", JA_BODY, "ja"),  # template default contradicted by the text
        (' lang="en-US"', "", RU_BODY, "ru"),
        (' lang="fr"', "", BODY, "fr"),  # a stated language other than ours is kept
    ],
)
def test_language(html_attrs: str, head: str, body: str, expected: str) -> None:
    article = extract_article(page(head=head, body=body, html_attrs=html_attrs), URL)
    assert article.language == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ja-JP", "ja"), ("ru_RU", "ru"), ("EN", "en"), ("jpn", "ja"), ("x", None), (None, None)],
)
def test_normalize_language(value: str | None, expected: str | None) -> None:
    assert normalize_language(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("北方領土", "ja"),
        ("ひらがなとカタカナ", "ja"),
        ("Курилы", "ru"),
        ("Kuril Islands", "en"),
        ("Lavrov said «нет» twice in the English report about the talks", "en"),
        ("12345 !!!", None),
        ("日露外相会談", "ja"),  # short all-kanji: the stated rule (kanji → ja) holds
        ("港特首梁振英就住宅违建事件道歉。" * 5, "zh"),  # long Han text without kana
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


# -- cleaning is applied ----------------------------------------------------------------------


def test_chrome_and_captions_inside_the_article_container_are_cleaned() -> None:
    caption = "Kono and Lavrov in Tokyo, May 31, 2019. /VCG Photo"
    body = (
        "<p>Share</p><p>Copied</p><p>Error loading player: No playable sources found</p>"
        f"<p>01:00</p>{BODY}<p>{caption}</p><p>{caption}</p><p>Read more: Kuril talks</p>"
    )
    article = extract_article(page(body=body), URL)
    assert article.text == "\n\n".join(BODY_PARAGRAPHS)
    assert article.captions == [caption]


# -- date precision, authors, hard pages (issue 4) ---------------------------------------------


@pytest.mark.parametrize(
    ("head", "published_at", "precision"),
    [
        ('<meta name="date" content="2024-05-10">', datetime(2024, 5, 10, tzinfo=UTC), "date"),
        (
            '<meta property="article:published_time" content="2024-05-10T19:30:00+09:00">',
            datetime(2024, 5, 10, 10, 30, tzinfo=UTC),
            "datetime",
        ),
        (  # the day in one tag, the full timestamp in another: the timestamp wins
            '<meta property="article:published_time" content="2024-05-10">'
            '<meta name="pubdate" content="2024-05-10T08:00:00+03:00">',
            datetime(2024, 5, 10, 5, 0, tzinfo=UTC),
            "datetime",
        ),
        ("", None, "none"),
    ],
)
def test_published_precision(head: str, published_at: datetime | None, precision: str) -> None:
    article = extract_article(page(head=head), URL)
    assert (article.published_at, article.published_precision) == (published_at, precision)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<meta name="author" content="By Kenji Morita, Staff Writer">', ["Kenji Morita"]),
        (
            '<meta name="author" content="Anna Ivanova and Kenji Morita, Tokyo correspondent">',
            ["Anna Ivanova", "Kenji Morita"],
        ),
        (
            '<meta name="author" content="Анна Иванова и Олег Петров">',
            ["Анна Иванова", "Олег Петров"],
        ),
        ('<meta name="author" content="Корреспондент: Олег Петров">', ["Олег Петров"]),
        ('<meta name="author" content="佐藤健一記者・鈴木美咲記者">', ["佐藤健一", "鈴木美咲"]),
        ('<meta name="author" content="ウラジーミル・プーチン">', ["ウラジーミル・プーチン"]),
        ('<meta name="author" content="Reuters staff; editor@example.com">', ["Reuters staff"]),
    ],
)
def test_authors_are_cleaned_and_split(head: str, expected: list[str]) -> None:
    assert extract_article(page(head=head), URL).authors == expected


def test_section_is_a_tag() -> None:
    head = '<meta property="article:section" content="Politics">'
    assert extract_article(page(head=head), URL).tags == ["Politics"]


def test_complete_article_is_not_marked() -> None:
    article = extract_article(page(), URL)
    assert (article.page_kind, article.truncated, article.paywalled) == ("article", False, False)


def test_short_body_is_truncated_with_a_lower_bar_for_japanese() -> None:
    short = "<p>Japan and Russia resumed fishing talks on Friday in Tokyo.</p>"
    assert extract_article(page(body=short), URL).truncated
    ja_article = page(body=JA_BODY + JA_BODY.replace("。", "と伝えた。"), html_attrs=' lang="ja"')
    assert not extract_article(ja_article, URL).truncated


def test_json_ld_not_free_marks_paywalled_without_truncating_a_full_text() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"isAccessibleForFree": "False"}</script>'
    )
    article = extract_article(page(head=head), URL)
    assert article.paywalled
    assert not article.truncated
    assert article.text == "\n\n".join(BODY_PARAGRAPHS)


def test_hidden_elements_are_not_text() -> None:
    hidden = (
        "<p hidden>Hidden paragraph about something else entirely.</p>"
        "<p style='display: none'>Another hidden paragraph that readers never see.</p>"
        "<div style='visibility:hidden'><p>A third one, invisible as well.</p></div>"
    )
    article = extract_article(page(body=BODY + hidden), URL)
    assert article.text == "\n\n".join(BODY_PARAGRAPHS)


def test_menu_tables_are_dropped_but_text_tables_kept() -> None:
    menu = (
        "<table><tr><td><a href='/'>Home</a></td><td><a href='/world'>World news</a></td>"
        "<td><a href='/asia'>Asia Pacific</a></td></tr></table>"
    )
    layout = f"<table><tr><td>{BODY}</td></tr></table>"
    article = extract_article(page(body=menu + layout), URL)
    assert "World news" not in article.text
    assert "|" not in article.text
    assert all(p in article.text for p in BODY_PARAGRAPHS)


def test_article_pages_with_related_lists_are_not_listings() -> None:
    related = "".join(
        f"<li><a href='/story/{i}'>Related headline number {i} about the fishing talks</a></li>"
        for i in range(20)
    )
    article = extract_article(page(body=BODY + f"<ul>{related}</ul>"), URL)
    assert article.page_kind == "article"


# -- page preparation and paragraph checks (scrapers.extract.fusion) -------------------------


WIDGETS = (
    "<form action='/subscribe'><p>Get our morning briefing in your inbox every day.</p>"
    "<input type='email' name='email'><button>Sign me up for the briefing</button></form>"
    "<div class='newsletter-box'><p>Our weekly letter on Asia.</p></div>"
    "<div id='cookieConsent'><p>This portal stores small files on your device to work "
    "properly; by staying here you agree to that.</p></div>"
)


def test_small_forms_and_consent_boxes_are_dropped() -> None:
    tree = parse_html(page(body=BODY + WIDGETS))
    drop_widgets(tree)
    text = tree.text_content()
    assert "briefing" not in text and "weekly letter" not in text and "small files" not in text
    assert all(p in text for p in BODY_PARAGRAPHS)
    assert extract_article(page(body=BODY + WIDGETS), URL).text == "\n\n".join(BODY_PARAGRAPHS)


def test_a_form_around_the_whole_page_is_kept() -> None:
    # ASP.NET-style pages wrap everything in one form: long, so not a widget
    tree = parse_html(page(body=f"<form action='/'><input name='q'>{BODY * 3}</form>"))
    drop_widgets(tree)
    assert all(p in tree.text_content() for p in BODY_PARAGRAPHS)


def test_a_form_without_visible_controls_is_kept() -> None:
    tree = parse_html(page(body=f"<form><input type='hidden' name='x'>{BODY}</form>"))
    drop_widgets(tree)
    assert all(p in tree.text_content() for p in BODY_PARAGRAPHS)


def test_source_line_breaks_inside_a_block_are_spaces() -> None:
    breaks = ",\n      "
    wrapped = "\n".join(
        f"<div>\n      {p.replace(', ', breaks)}\n    </div>" for p in BODY_PARAGRAPHS
    )
    article = extract_article(page(body=wrapped), URL)
    assert article.text == "\n\n".join(BODY_PARAGRAPHS)


def test_a_paragraph_the_author_repeats_is_kept_each_time() -> None:
    first = BODY_PARAGRAPHS[0]
    body = f"<p>{first}</p><p>{first}</p>" + "".join(f"<p>{p}</p>" for p in BODY_PARAGRAPHS[1:])
    article = extract_article(page(body=body), URL)
    assert article.text.split("\n\n") == [first, *BODY_PARAGRAPHS]


def ld_page(article_body: str, html_body: str) -> str:
    ld = json.dumps(
        {"@context": "https://schema.org", "@type": "NewsArticle", "articleBody": article_body}
    )
    return page(head=f"<script type='application/ld+json'>{ld}</script>", body=html_body)


LONG_PARAGRAPHS = [p + " " + p for p in BODY_PARAGRAPHS]


def test_json_ld_body_replaces_a_page_that_shows_little_of_it() -> None:
    html = ld_page("\n".join(LONG_PARAGRAPHS), "<p>Loading the story, please wait.</p>")
    article = extract_article(html, URL)
    assert article.text.split("\n\n") == LONG_PARAGRAPHS
    assert not article.truncated


def test_json_ld_body_with_markup_is_read_as_html() -> None:
    marked_up = "".join(f"<p>{p}</p>" for p in LONG_PARAGRAPHS)
    article = extract_article(ld_page(marked_up, "<p>Loading.</p>"), URL)
    assert article.text.split("\n\n") == LONG_PARAGRAPHS


def test_page_text_is_kept_when_it_holds_the_article() -> None:
    # the JSON-LD body is a summary here, shorter than the page: the page wins
    html = ld_page(" ".join(LONG_PARAGRAPHS), BODY)
    article = extract_article(html, URL)
    assert article.text == "\n\n".join(BODY_PARAGRAPHS)


MATHML = (
    "<math xmlns='http://www.w3.org/1998/Math/MathML'><mi>a</mi><mo>&#8800;</mo><mn>0</mn></math>"
)


def test_a_formula_without_tex_is_kept_as_its_text() -> None:
    sentence = f"<p>When {MATHML}, the equation has two solutions, which the talks confirmed.</p>"
    article = extract_article(page(body=BODY + sentence), URL)
    assert "When a ≠ 0, the equation has two solutions" in article.text


def test_a_formula_drawn_by_a_renderer_is_kept_once_as_text() -> None:
    # MathJax draws the formula in custom elements and keeps the MathML for screen readers
    drawn = (
        "<mjx-container><mjx-math aria-hidden='true'><mjx-mi><mjx-c></mjx-c></mjx-mi></mjx-math>"
        f"<mjx-assistive-mml display='inline'>{MATHML}</mjx-assistive-mml></mjx-container>"
    )
    sentence = f"<p>When {drawn}there are two solutions, which the talks confirmed.</p>"
    article = extract_article(page(body=BODY + sentence), URL)
    assert "When a ≠ 0 there are two solutions" in article.text


LIST_ITEMS = [
    "Salmon quotas were cut by a fifth for the coming season.",
    "Trout catches stay at last year's level until the next round.",
]


def test_a_list_inside_a_table_cell_is_kept() -> None:
    items = "".join(f"<li>{item}</li>" for item in LIST_ITEMS)
    table = f"<table><tr><td>{BODY}<ul>{items}</ul></td><td>{BODY}</td></tr></table>"
    article = extract_article(page(body=table), URL)
    for item in LIST_ITEMS:
        assert item in article.text


def test_a_menu_inside_a_table_cell_stays_out() -> None:
    menu = "".join(f"<li><a href='/s/{i}'>Section number {i} of the site</a></li>" for i in (1, 2))
    table = f"<table><tr><td>{BODY}<ul>{menu}</ul></td><td>{BODY}</td></tr></table>"
    article = extract_article(page(body=table), URL)
    assert "Section number" not in article.text


def test_a_data_table_inside_a_page_grid_is_kept() -> None:
    data = (
        "<table><tr><th>Species</th><th>Quota (tonnes)</th></tr>"
        "<tr><td>Salmon</td><td>1,850</td></tr><tr><td>Trout</td><td>920</td></tr></table>"
    )
    # an old-style page grid: columns in a table, the article column in a table of its own
    grid = (
        "<table><tr><td><a href='/'>Front page</a></td><td><table><tr><td><div>"
        f"{BODY}<h4>Quotas</h4><blockquote>{data}</blockquote><p>{BODY_PARAGRAPHS[0]}</p>"
        "</div></td></tr></table></td></tr></table>"
    )
    html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
        f"<body>{grid}</body></html>"
    )
    text = extract_article(html, URL).text
    assert "Salmon" in text
    assert "1,850" in text
    assert "Trout" in text


# -- trafilatura's fast mode first, its full mode when that looks incomplete ------------------

@pytest.mark.parametrize(("text_chars", "paragraph_chars", "full"), [
    (2_000, 2_400, False),   # most of the page's paragraphs: complete
    (2_000, 3_999, False),
    (2_000, 4_001, True),    # under half of them: a second opinion
    (499, 0, True),          # short, whatever the page
    (500, 0, False),
])
def test_needs_full_mode(text_chars: int, paragraph_chars: int, full: bool) -> None:
    assert needs_full_mode(text_chars, paragraph_chars) is full


def _modes_used(html: str, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `fast` flag of every trafilatura call while extracting the page (a spy: the real
    trafilatura runs)."""
    import trafilatura

    real = trafilatura.bare_extraction
    modes: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        modes.append(kwargs["fast"])
        return real(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    extract_article(html, URL, "text/html")
    return modes


def test_a_long_body_takes_the_fast_mode_only(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "".join(f"<p>{p} (Part {n}.)</p>" for n in range(3) for p in BODY_PARAGRAPHS)
    assert _modes_used(page(body=body), monkeypatch) == [True]


def test_a_short_body_gets_the_full_mode_too(monkeypatch: pytest.MonkeyPatch) -> None:
    body = f"<p>{BODY_PARAGRAPHS[0]}</p><p>{BODY_PARAGRAPHS[2]}</p>"
    assert _modes_used(page(body=body), monkeypatch) == [True, False]


def test_a_page_with_more_elements_than_the_limit_is_refused() -> None:
    """trafilatura's time grows faster than the page: a 10 MiB page of small blocks (the
    fetch cap) took about 40 s. Refused after parsing instead, with the count."""
    block = "<div><p>Japan and Russia talk peace in Tokyo today.</p><span>x</span></div>"
    within = page(body=block * (MAX_PAGE_ELEMENTS // 3 - 20))
    assert extract_article(within.encode(), "https://news.example/a", "text/html").text
    over = page(body=block * (MAX_PAGE_ELEMENTS // 3 + 1))
    with pytest.raises(ExtractionError, match=r"too large to extract: \d+ elements"):
        extract_article(over.encode(), "https://news.example/a", "text/html")
