"""scrapers.extract.fusion: extracted paragraphs checked against the page they came from."""

from __future__ import annotations

from lxml.html import HtmlElement, document_fromstring

from scrapers.extract.fusion import (
    drop_teasers,
    drop_trailing_links,
    link_share,
    restore_repeats,
    restore_standfirst,
    source_block,
)

LONG = (
    "Japanese and Russian diplomats met in Tokyo on Friday for the first round of talks on "
    "fishing quotas since relations soured, officials from both sides said afterwards."
)
OTHER = (
    "The talks covered salmon and trout catches in the waters off the disputed islands, which "
    "Japan calls the Northern Territories and Russia the Southern Kurils."
)
LAST = "Neither side announced an agreement, but both said they would meet again next month."
MORE_TEXT = (
    "Fishing crews in Nemuro said they had been tied up in port all winter and welcomed any "
    "sign that the boats could go out again before the pollock season ends in April."
)


def tree(body: str) -> HtmlElement:
    return document_fromstring(f"<html><body>{body}</body></html>")


# -- repeated paragraphs ----------------------------------------------------------------------


def test_sibling_copies_of_a_long_paragraph_come_back_next_to_it() -> None:
    page = tree(f"<article><p>{LONG}</p><div>Like this</div><p>{LONG}</p><p>{LONG}</p></article>")
    assert restore_repeats(page, [LONG, LAST]) == (LONG, LONG, LONG, LAST)


def test_source_line_breaks_do_not_hide_a_copy() -> None:
    wrapped = LONG.replace(" on ", "\n        on ")
    page = tree(f"<article><div>\n  {wrapped}\n</div><div>{wrapped}</div></article>")
    assert restore_repeats(page, [LONG]) == (LONG, LONG)


def test_copies_in_different_containers_are_layout_duplicates() -> None:
    # e.g. a desktop and a mobile version of the same text: not the author's repetition
    page = tree(f"<div class='desktop'><p>{LONG}</p></div><div class='mobile'><p>{LONG}</p></div>")
    assert restore_repeats(page, [LONG]) == (LONG,)


def test_copies_already_in_the_body_are_not_added_again() -> None:
    page = tree(f"<article><p>{LONG}</p><h2>Next</h2><p>{LONG}</p></article>")
    assert restore_repeats(page, [LONG, "Next", LONG]) == (LONG, "Next", LONG)


def test_short_repeated_lines_are_not_restored() -> None:
    short = "Fishing boats moored in the port of Nemuro."
    page = tree(f"<article><p>{short}</p><p>{short}</p><p>{LONG}</p></article>")
    assert restore_repeats(page, [short, LONG]) == (short, LONG)


def test_a_page_printing_most_paragraphs_twice_is_not_restored() -> None:
    # more than a few distinct repeated paragraphs: a layout printed twice, not an author
    paragraphs = [f"{LONG} ({i})" for i in range(6)]
    page = tree("<article>" + "".join(f"<p>{p}</p><p>{p}</p>" for p in paragraphs) + "</article>")
    assert restore_repeats(page, paragraphs) == tuple(paragraphs)


# -- teasers ----------------------------------------------------------------------------------


def teaser(i: int) -> str:
    return (
        f"<li><h3><a href='/story/{i}'>Headline of another story number {i}</a></h3>"
        f"<p>Summary of another story number {i}, which has nothing to do with the talks.</p></li>"
    )


def test_teaser_summaries_leave_the_body() -> None:
    river = "".join(teaser(i) for i in range(3))
    body = [LONG, OTHER, MORE_TEXT, LAST]
    page = tree(f"<article>{''.join(f'<p>{p}</p>' for p in body)}</article><ul>{river}</ul>")
    summaries = [
        f"Summary of another story number {i}, which has nothing to do with the talks."
        for i in range(3)
    ]
    assert drop_teasers(page, [*body, *summaries]) == tuple(body)


def test_sections_of_a_listicle_are_not_teasers() -> None:
    # several linked headings in one container: sections of the article, not one teaser
    page = tree(
        f"<article><h3><a href='/a'>First app</a></h3><p>{LONG}</p>"
        f"<h3><a href='/b'>Second app</a></h3><p>{OTHER}</p></article>"
    )
    assert drop_teasers(page, [LONG, OTHER]) == (LONG, OTHER)


def test_anchor_headings_are_not_teasers() -> None:
    page = tree(f"<section><h2><a href='#talks'>The talks</a></h2><p>{LONG}</p></section>")
    assert drop_teasers(page, [LONG]) == (LONG,)


def test_a_page_of_nothing_but_teasers_keeps_its_text() -> None:
    # a section front: the listing check decides about it, on the whole text
    river = "".join(teaser(i) for i in range(3))
    page = tree(f"<ul>{river}</ul>")
    summaries = [
        f"Summary of another story number {i}, which has nothing to do with the talks."
        for i in range(3)
    ]
    assert drop_teasers(page, summaries) == tuple(summaries)


def test_a_teaser_of_the_article_itself_keeps_its_paragraphs() -> None:
    # a stream of stories above the article announces it too, with its first paragraphs
    own = "<li><h3><a href='/story/0'>Fishing talks resume</a></h3>" f"<p>{OTHER}</p></li>"
    river = own + "".join(teaser(i) for i in range(1, 3))
    body = [LONG, OTHER, MORE_TEXT, LAST, f"{LONG} (2)", f"{MORE_TEXT} (2)"]
    page = tree(
        f"<ul>{river}</ul><article><h1>Fishing talks resume</h1>"
        f"{''.join(f'<p>{p}</p>' for p in body)}</article>"
    )
    assert drop_teasers(page, body) == tuple(body)


# -- trailing link lists ----------------------------------------------------------------------


MORE = (
    "<h2>More stories</h2><ul>"
    "<li><a href='/1'>Fishing fleet returns to Nemuro</a></li>"
    "<li><a href='/2'>Salmon prices climb in Tokyo</a></li>"
    "<li><a href='/3'>Islands visit postponed again</a></li></ul>"
)
MORE_LINES = [
    "More stories",
    "- Fishing fleet returns to Nemuro",
    "- Salmon prices climb in Tokyo",
    "- Islands visit postponed again",
]


def test_a_final_link_list_and_its_heading_leave_the_body() -> None:
    page = tree(f"<article><p>{LONG}</p><p>{LAST}</p>{MORE}</article>")
    assert drop_trailing_links(page, [LONG, LAST, *MORE_LINES]) == (LONG, LAST)


def test_a_closing_line_below_the_link_list_goes_with_it() -> None:
    contact = "Write to Hana Ito at hana.ito@example.com"
    page = tree(f"<article><p>{LONG}</p>{MORE}<p>{contact}</p></article>")
    assert drop_trailing_links(page, [LONG, *MORE_LINES, contact]) == (LONG,)


def test_one_link_above_a_closing_line_is_not_a_list() -> None:
    link = "Read the agreement in full"
    page = tree(f"<article><p>{LONG}</p><p><a href='/doc'>{link}</a></p><p>{LAST}</p></article>")
    assert drop_trailing_links(page, [LONG, link, LAST]) == (LONG, link, LAST)


def test_text_ending_in_prose_is_left_alone() -> None:
    page = tree(f"<article><p>{LONG}</p><p>{OTHER}</p></article>")
    assert drop_trailing_links(page, [LONG, OTHER]) == (LONG, OTHER)


def test_source_block_and_link_share() -> None:
    page = tree("<ul><li><span>Salmon prices </span><a href='/2'>climb in Tokyo</a></li></ul>")
    block = source_block(page, "- Salmon prices climb in Tokyo")
    assert block is not None and block.tag == "li"
    assert link_share(block) == len("climbinTokyo") / len("SalmonpricesclimbinTokyo")
    assert source_block(page, "Nothing like this is on the page") is None


# -- standfirst -------------------------------------------------------------------------------


STANDFIRST = "Boats from Nemuro may fish near the disputed islands again from next month."


def test_a_lost_standfirst_inside_the_article_comes_back_first() -> None:
    page = tree(
        f"<article><h1>Talks</h1><div class='lead'>{STANDFIRST}</div><p>{LONG}</p></article>"
    )
    assert restore_standfirst(page, [LONG], STANDFIRST) == (STANDFIRST, LONG)


def test_a_description_shown_outside_the_article_is_not_a_standfirst() -> None:
    page = tree(
        f"<header><p>{STANDFIRST}</p></header><article><p>{LONG}</p></article>"
        f"<div class='promo'><p>{STANDFIRST}</p></div>"
    )
    assert restore_standfirst(page, [LONG], STANDFIRST) == (LONG,)


def test_a_standfirst_already_in_the_body_is_not_doubled() -> None:
    page = tree(f"<article><p>{STANDFIRST}</p><p>{LONG}</p></article>")
    assert restore_standfirst(page, [STANDFIRST, LONG], STANDFIRST) == (STANDFIRST, LONG)
