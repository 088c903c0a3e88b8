"""scrapers.digest: an edition as Markdown and HTML, feed text kept as text."""

from __future__ import annotations

from datetime import date

from scrapers.digest import headline, html_page, markdown

CONTENT = {
    "events": [{"event_id": 7, "headlines": {"en": "Lavrov in *Tokyo*", "ja": "露外相が訪日"},
                "article_count": 5, "languages": ["en", "ja", "ru"], "articles": 2}],
    "new_tags": [{"tag": "person:sergei_lavrov", "articles": 3}],
    "spikes": [{"tag": "theme:sanctions", "count": 9, "mean": 1.2, "z": 7.8}],
}


def test_an_edition_reads_as_markdown_in_its_sides_language() -> None:
    text = markdown(date(2026, 11, 30), "japan", 12, CONTENT)
    assert text.splitlines()[0] == "# Nichiro digest, 2026-11-30: Japanese outlets"
    assert "- 露外相が訪日 (2 report(s) from this side, 5 in all; en, ja, ru)" in text
    assert "- person:sergei\\_lavrov (3)" in text
    assert "- theme:sanctions: 9 article(s), usually 1.2 a day (z = 7.8)" in text
    international = markdown(date(2026, 11, 30), "international", 3, CONTENT)
    assert "- Lavrov in \\*Tokyo\\* (2 report(s)" in international  # no emphasis forms
    assert headline({"event_id": 9, "headlines": {}}, "russia") == "event 9"
    empty = markdown(date(2026, 11, 30), "russia", 1,
                     {"events": [], "new_tags": [], "spikes": []})
    assert empty.count("- none") == 3


def test_an_edition_as_html_escapes_feed_text() -> None:
    content = {**CONTENT, "events": [{**CONTENT["events"][0],
                                      "headlines": {"en": "<script>x</script>"}}]}
    page = html_page(date(2026, 11, 30), "international", 3, content)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "<h2>Spikes</h2><ul><li>theme:sanctions" in page
