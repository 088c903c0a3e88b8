"""scrapers.backfill, the pure part: the request, its units, what a sitemap entry says."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from scrapers.backfill import BackfillRequest, plan_units
from scrapers.models import Source


def test_a_request_from_params_is_checked_and_keeps_its_id_across_budgets() -> None:
    request = BackfillRequest.from_params({"from": "2026-09-01", "to": "2026-11-30",
                                           "languages": "ru, ja", "max_articles": 50})
    assert (request.start, request.end, request.languages) == (
        date(2026, 9, 1), date(2026, 11, 30), ("ja", "ru"))
    assert request.window == (datetime(2026, 9, 1, tzinfo=UTC),
                              datetime(2026, 12, 1, tzinfo=UTC))
    same = BackfillRequest.from_params({"from": "2026-09-01", "to": "2026-11-30",
                                        "languages": ["ja", "ru"], "max_articles": 900})
    assert same.id == request.id and same.run_id == f"backfill:{request.id}"
    other = BackfillRequest.from_params({"from": "2026-09-02", "to": "2026-11-30",
                                         "languages": ["ja", "ru"]})
    assert other.id != request.id
    assert BackfillRequest.from_params(request.as_json()) == request


@pytest.mark.parametrize(("params", "problem"), [
    ({"to": "2026-11-30"}, "'from' is required"),
    ({"from": "2026-13-01", "to": "2026-11-30"}, "month must be in 1..12"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "ends (2026-11-01) before it starts"),
    ({"from": "2026-11-01", "to": "2026-11-30", "languages": "de"}, "unknown language(s)"),
    ({"from": "2026-11-01", "to": "2026-11-30", "via": "commoncrawl"}, "unknown way(s)"),
    ({"from": "2026-11-01", "to": "2026-11-30", "max_articles": -1}, "at least 1"),
])
def test_a_bad_request_says_what_is_wrong(params: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match="backfill request") as caught:
        BackfillRequest.from_params(params)
    assert problem in str(caught.value)


def test_units_are_the_chosen_outlet_feeds_sites() -> None:
    sources = [
        Source("Wire", "https://wire.example/rss", "en"),
        Source("Shimbun", "https://www.shimbun.example/feed.rdf", "ja",
               site="https://www.shimbun.example/news/"),
        Source("Search", "https://news.search.example/rss?q=x", "en", kind="search"),
        Source("Off", "https://off.example/rss", "en", enabled=False),
    ]
    ids = {"Wire": 1, "Shimbun": 2, "Search": 3, "Off": 4}
    request = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31))
    units = plan_units(request, sources, ids)
    sitemaps = [u for u in units if u["via"] == "sitemap"]
    assert [(u["source_id"], u["target"]) for u in sitemaps] == [
        (1, "https://wire.example/"), (2, "https://www.shimbun.example/news/")]
    assert {(u["window_start"], u["window_end"]) for u in sitemaps} == {request.window}
    # the search feed, day by day (its query dated), 31 days of October
    searches = [u for u in units if u["via"] == "search"]
    assert len(searches) == 31 and {u["source_id"] for u in searches} == {3}
    assert searches[0]["target"].endswith("q=x+after%3A2026-09-30+before%3A2026-10-02")
    assert len(units) == 2 + 31
    japanese = BackfillRequest(date(2026, 10, 1), date(2026, 10, 31), languages=("ja",))
    assert [u["source_id"] for u in plan_units(japanese, sources, ids)] == [2]
    gdelt = Source("GDELT (ru)", "https://api.example/doc#ru", "ru", kind="gdelt")
    ids["GDELT (ru)"] = 5
    both = plan_units(BackfillRequest(date(2026, 10, 30), date(2026, 10, 31)),
                      [*sources, gdelt], ids)
    assert [(u["source_id"], u["via"], u["window_start"].day, u["target"]) for u in both
            if u["via"] == "gdelt"] == [(5, "gdelt", 30, "https://api.example/doc#ru"),
                                        (5, "gdelt", 31, "https://api.example/doc#ru")]
    only_sitemaps = BackfillRequest(date(2026, 10, 30), date(2026, 10, 31), via=("sitemap",))
    assert {u["via"] for u in plan_units(only_sitemaps, [*sources, gdelt], ids)} == {"sitemap"}
    with pytest.raises(ValueError, match=r"no source named \['Nope'\]"):
        plan_units(BackfillRequest(date(2026, 10, 1), date(2026, 10, 1), sources=("Nope",)),
                   sources, ids)
