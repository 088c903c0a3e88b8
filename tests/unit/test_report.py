"""The run's report: the per-source table and lines of the task log, and the note written
to the Airflow UI (totals, failures, busiest sources, size limit)."""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.report import NOTE_LIMIT, display_width, format_summary, run_note, summary_lines

pytestmark = pytest.mark.clock


def row(source: str, *, new: int = 0, updated: int = 0, error: str | None = None,
        **counts: int) -> dict[str, Any]:
    base = dict.fromkeys(("entries", "relevant", "fetched", "duplicates", "rejected"), 0)
    base.update(counts)
    return {"source": source, "new": new, "updated": updated, "errors": int(bool(error)),
            "error": error, **base}


def test_note_states_totals_failures_and_sources_with_news() -> None:
    note = run_note([
        row("Pacific Wire", new=3, updated=1, entries=6, relevant=4, fetched=4),
        row("北海新報", new=2, entries=5, relevant=2, fetched=2, duplicates=1),
        row("Quiet Outlet", entries=9),
        row("Broken Feed", error="HTTP 500 from https://feeds.example/broken.xml"),
    ])
    assert note.splitlines() == [
        "**4 sources, 1 failed** · 5 new · 1 updated · 1 duplicates · 0 rejected",
        "",
        "20 entries, 6 relevant, 6 pages fetched, 1 errors.",
        "",
        "**Failed:**",
        "- Broken Feed: HTTP 500 from https://feeds.example/broken.xml",
        "",
        "**New or updated by source:**",
        "- Pacific Wire: 3 new, 1 updated",
        "- 北海新報: 2 new, 0 updated",
    ]


def test_feed_text_cannot_inject_markdown_or_html() -> None:
    note = run_note([row("<script>alert(1)</script> [x](javascript:y) *b*", new=1)])
    assert "<script>" not in note and "](" not in note
    assert r"\<script\>alert\(1\)\</script\> \[x\]\(javascript:y\) \*b\*" in note


def test_a_quiet_run_says_so() -> None:
    assert run_note([]) == "**No source was due in this run.**"
    note = run_note([row("Quiet Outlet", entries=3)])
    assert "Failed" not in note and "by source" not in note


def test_long_runs_fit_airflows_note_column_and_say_what_was_left_out() -> None:
    rows = [row(f"Source number {i:04d}", new=i % 5 + 1) for i in range(300)]
    rows += [row(f"Dead {i}", error="connection refused " * 20) for i in range(50)]
    note = run_note(rows)
    assert len(note) <= NOTE_LIMIT
    assert note.startswith("**350 sources, 50 failed**")
    assert "- … and " in note and "more (see the summary task's log)" in note
    assert "\n- Dead 0: connection refused" in note


def test_summary_table_totals_failures_and_cjk_alignment() -> None:
    rows = [
        {"source": "北海新報", "entries": 5, "relevant": 3, "fetched": 3, "new": 3,
         "updated": 0, "duplicates": 0, "rejected": 0, "errors": 0, "error": None},
        {"source": "Broken Feed", "entries": 0, "relevant": 0, "fetched": 0, "new": 0,
         "updated": 0, "duplicates": 0, "rejected": 0, "errors": 1,
         "error": "HTTPStatusError: HTTP 500"},
    ]
    lines = format_summary(rows).splitlines()
    assert lines[0].split() == ["source", "entries", "relevant", "fetched", "new", "updated",
                                "duplicates", "rejected", "errors"]
    assert lines[-2].split() == ["TOTAL", "5", "3", "3", "3", "0", "0", "0", "1"]
    assert lines[-1] == "FAILED Broken Feed: HTTPStatusError: HTTP 500"
    table = [line for line in lines if not line.startswith("FAILED")]
    assert len({display_width(line) for line in table}) == 1  # every row equally wide


def test_summary_lines_are_one_per_source() -> None:
    row = {"source": "Pacific Wire", "entries": 6, "relevant": 3, "fetched": 3, "new": 2,
           "updated": 1, "duplicates": 0, "rejected": 1, "errors": 0, "error": None}
    broken = {**row, "source": "Broken Feed", "rejected": 0, "errors": 1,
              "error": "HTTP 500", "rejected_by": {}}
    picky = {**row, "source": "北海新報", "rejected": 3,
             "rejected_by": {"listing page": 1, "not relevant with body": 2}}
    assert summary_lines([row, broken, picky]) == [
        "Pacific Wire: entries=6 relevant=3 fetched=3 new=2 updated=1 duplicates=0 "
        "rejected=1 errors=0",
        "Broken Feed: entries=6 relevant=3 fetched=3 new=2 updated=1 duplicates=0 "
        "rejected=0 errors=1 error='HTTP 500'",
        "北海新報: entries=6 relevant=3 fetched=3 new=2 updated=1 duplicates=0 "
        "rejected=3 (not relevant with body 2, listing page 1) errors=0"]


def test_a_run_fails_only_when_more_than_the_allowed_share_of_sources_fail() -> None:
    from scrapers.report import failing_sources_verdict

    def rows(ok: int, failed: int) -> list[dict[str, object]]:
        return ([{"source": f"ok-{i}", "error": None} for i in range(ok)]
                + [{"source": f"bad-{i}", "error": "HTTP 500"} for i in range(failed)])

    assert failing_sources_verdict(rows(4, 1), 0.5) is None  # one broken feed: its own problem
    assert failing_sources_verdict(rows(2, 2), 0.5) is None  # exactly half: not more
    verdict = failing_sources_verdict(rows(1, 2), 0.5)
    assert verdict is not None and verdict.startswith("2 of 3 sources failed")
    assert "bad-0, bad-1" in verdict
    assert failing_sources_verdict([], 0.5) is None  # nothing due, nothing fetched
