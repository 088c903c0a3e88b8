"""events (pure part): language-neutral evidence, the pair score, the decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scrapers.dedup.events import (
    LinkedReports,
    Member,
    decide_event,
    evidence,
    pair_score,
    shared_evidence,
)

T0 = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)


def test_numbers_and_dates_read_alike_in_three_languages() -> None:
    en = evidence([], "", "On June 7 Japan froze the assets of 1,500 people (G7 rules).", 2026)
    ja = evidence([], "", "政府は6月7日、1500人の資産を凍結した。", 2026)
    ru = evidence([], "", "7 июня Япония заморозила активы 1 500 человек.", 2026)
    for found in (en, ja, ru):
        assert {"md:6-7", "day:7", "num:1500"} <= found.keys()
    assert "num:7" not in en  # G7 is a name, not a number
    ja_day = evidence([], "", "松野官房長官は8日の記者会見で述べた。", 2026)
    assert "day:8" in ja_day and "num:8" not in ja_day
    assert "num:2026" not in evidence([], "", "In 2026 the talks resumed.", 2026)
    assert "num:1998" in evidence([], "", "The 1998 agreement was suspended.", 2026)


def test_tags_weigh_by_kind_and_generic_ones_little() -> None:
    found = evidence(["person:yuri_trutnev", "theme:sanctions", "place:kuril_islands"], "", "",
                     None)
    assert found == {"person:yuri_trutnev": 3.0, "theme:sanctions": 1.0,
                     "place:kuril_islands": 0.5}


def test_pair_score_is_weighted_jaccard_and_different_days_part_events() -> None:
    a = {"person:x": 3.0, "action:visit": 2.0, "day:12": 2.0}
    assert pair_score(a, a) == 1.0
    assert pair_score(a, {"person:x": 3.0}) == round(3 / 7, 4)
    assert pair_score(a, {"person:x": 3.0, "action:visit": 2.0, "day:13": 2.0}) == 0.0
    assert pair_score(a, {"person:x": 3.0, "action:visit": 2.0}) == round(5 / 7, 4)
    assert pair_score({}, {}) == 0.0
    assert shared_evidence(a, {"day:12": 2.0, "person:x": 1.0}) == ["day:12", "person:x"]


def test_a_report_joins_the_event_it_matches_on_average_within_the_window() -> None:
    visit = {"person:x": 3.0, "action:visit": 2.0, "day:12": 2.0}
    members = LinkedReports([Member(1, 10, T0, visit), Member(2, 10, T0, visit),
                             Member(3, 20, T0, {"action:visit": 2.0, "person:y": 3.0})])
    got = decide_event(visit, T0 + timedelta(hours=2), members)
    assert (got.event_id, got.score, got.matched_article_id) == (10, 1.0, 1)
    assert got.shared == ("person:x", "action:visit", "day:12")
    # beyond the window the same evidence opens a new event
    assert decide_event(visit, T0 + timedelta(days=4), members).event_id is None
    assert decide_event(visit, T0 + timedelta(days=4), members, window_days=5).event_id == 10
    # the mean over members is checked, not the best pair: no chaining through one member
    mixed = [Member(1, 30, T0, visit)] + [Member(n, 30, T0, {f"org:{n}": 3.0})
                                          for n in range(2, 6)]
    assert decide_event(visit, T0, LinkedReports(mixed)).event_id is None  # mean 0.2
    assert decide_event(visit, T0, LinkedReports(mixed[:4])).event_id == 30  # mean 0.25
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_event(visit, datetime(2026, 5, 12), members)


def test_the_window_edge_is_exact_and_the_best_event_and_member_win_ties() -> None:
    visit = {"person:x": 3.0, "action:visit": 2.0}
    linked = LinkedReports([Member(7, 40, T0, visit)])
    edge = T0 + timedelta(days=3)
    assert decide_event(visit, edge, linked).event_id == 40
    assert decide_event(visit, edge + timedelta(microseconds=1), linked).event_id is None
    assert decide_event(visit, T0 - timedelta(days=3), linked).event_id == 40
    # two events at the same mean: the lower id; within it, the best pair, then the lower id
    tied = LinkedReports([Member(9, 52, T0, visit), Member(8, 51, T0, visit),
                          Member(6, 51, T0, visit)])
    got = decide_event(visit, T0, tied)
    assert (got.event_id, got.matched_article_id, got.score) == (51, 6, 1.0)


def test_many_linked_reports_are_each_scored() -> None:
    """Past the arrays' first growth (16 rows), every member gets its own pair's score:
    7 shared of 9 (its extra number), or 0 for another day."""
    base = {"person:x": 3.0, "action:visit": 2.0, "day:12": 2.0}
    others = [{**base, f"num:{n}": 2.0} if n % 3 else {"person:x": 3.0, "day:13": 2.0}
              for n in range(40)]
    linked = LinkedReports(Member(n, n, T0, ev) for n, ev in enumerate(others))
    assert list(linked.scores(base)) == [round(7 / 9, 4) if n % 3 else 0.0 for n in range(40)]
