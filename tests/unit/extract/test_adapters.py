"""Site adapters: each one is justified by a fixture page in its outlet's layout on which the
generic path scores lower, and each outlet fixture comes out as exactly its paragraphs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bench.extraction import prf, tokens
from scrapers.extract.adapters import ADAPTERS, SiteAdapter, adapter_blocks, adapter_for
from scrapers.extract.body import extract_article
from tests.conftest import FIXTURES

OUTLETS = FIXTURES / "outlets"
PAGES = sorted(OUTLETS.glob("*.html"))


def expectation(page: Path) -> dict[str, Any]:
    return dict(json.loads(page.with_suffix(".expected.json").read_text("utf-8")))


def f1(text: str, reference: str) -> float:
    """Token F1 as bench/extraction.py scores it."""
    got, ref = tokens(text), tokens(reference)
    return prf(sum((got & ref).values()), sum(got.values()), sum(ref.values()))[2]


def extract(page: Path, *, use_adapters: bool = True) -> Any:
    spec = expectation(page)
    return extract_article(page.read_bytes(), spec["url"], spec["content_type"],
                           use_adapters=use_adapters)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_outlet_page_comes_out_as_its_paragraphs_and_metadata(page: Path) -> None:
    spec = expectation(page)
    article = extract(page)
    assert article.text.split("\n\n") == spec["fields"]["paragraphs"]
    for field in ("title", "canonical_url", "language", "site_name", "authors"):
        if field in spec["fields"]:
            assert getattr(article, field) == spec["fields"][field], field
    assert article.published_at is not None
    assert article.published_at.isoformat() == spec["fields"]["published_at"]
    for text in spec["must_not_contain"]:
        assert text not in article.text


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
def test_every_adapter_has_a_fixture_where_it_beats_the_generic_path(
        adapter: SiteAdapter) -> None:
    pages = [p for p in PAGES if adapter_for(expectation(p)["url"]) is adapter]
    assert pages, f"no fixture page in tests/fixtures/outlets/ for {adapter.name}"
    for page in pages:
        reference = "\n".join(expectation(page)["fields"]["paragraphs"])
        with_adapter, generic = (f1(extract(page, use_adapters=on).text, reference)
                                 for on in (True, False))
        assert with_adapter == 1.0 and generic < with_adapter, (page.name, generic)


def test_outlets_without_adapter_are_the_generic_path() -> None:
    """Pages whose outlet has no adapter are in the set too: the generic path got them right."""
    generic_only = [p.stem for p in PAGES if adapter_for(expectation(p)["url"]) is None]
    assert generic_only  # e.g. ria, moscowtimes


@pytest.mark.parametrize(("url", "name"), [
    ("https://www.kommersant.ru/doc/1", "Kommersant"),
    ("https://kommersant.ru/doc/1", "Kommersant"),
    ("https://WWW3.NHK.OR.JP/news/html/x.html", "NHK News Web"),
    ("https://lenta.ru/news/2026/01/01/x/", "Lenta.ru"),
    ("https://notkommersant.ru/doc/1", None),
    ("https://kommersant.ru.evil.example/doc/1", None),
    ("https://ria.ru/20260101/x.html", None),
    ("not a url", None),
])
def test_adapter_for_matches_the_host_or_its_subdomains(url: str, name: str | None) -> None:
    adapter = adapter_for(url)
    assert (adapter.name if adapter else None) == name


def test_a_stale_adapter_falls_back_to_the_generic_path(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    """The outlet changed its markup: the adapter finds nothing, the page is still read."""
    paragraphs = [f"Параграф номер {i}: Россия и Япония обсудили рыболовство, квоты и "
                  f"условия промысла у южных Курил в новом сезоне." for i in range(5)]
    html = ("<html lang='ru'><head><title>Новость</title></head><body><main><article>"
            + "".join(f"<p>{p}</p>" for p in paragraphs)
            + "</article></main></body></html>")
    kommersant = adapter_for("https://www.kommersant.ru/doc/2")
    assert kommersant is not None
    with caplog.at_level(logging.WARNING, logger="scrapers.extract.adapters"):
        assert adapter_blocks(kommersant, html) == []
        article = extract_article(html, "https://www.kommersant.ru/doc/2")
    assert article.text.split("\n\n") == paragraphs


def test_nested_blocks_are_read_once_and_drops_apply_inside_the_body() -> None:
    adapter = SiteAdapter(name="Test", hosts=("example.org",), body="div.body",
                          blocks="div.block, p", drop=(".quote",))
    html = ("<div class='body'><div class='block'><p>" + "a" * 120 + "</p></div>"
            "<p class='quote'>dropped</p><p>" + "b" * 120 + "</p></div>"
            "<p>" + "c" * 300 + " outside the body</p>")
    assert adapter_blocks(adapter, html) == ["a" * 120, "b" * 120]
