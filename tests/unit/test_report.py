"""The run note written to the Airflow UI: totals, failures, busiest sources, size limit."""

from __future__ import annotations

from typing import Any

from scrapers.report import NOTE_LIMIT, run_note


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
