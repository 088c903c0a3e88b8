"""Print what a run did, from the news database.

    python -m scrapers report                 # per-source table of the latest run
    python -m scrapers report --articles 5    # ... and the 5 newest articles
    python -m scrapers report --run-id RUN    # a given run
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from scrapers.config import db_url
from scrapers.db.connection import Connection
from scrapers.db.store import run_summary

# Airflow keeps a DAG run's note in a VARCHAR(1000); a longer note is refused.
NOTE_LIMIT = 1000
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~])")


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two, so Japanese names line up."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


SUMMARY_COLUMNS = ("source", "entries", "relevant", "fetched", "new", "updated",
                   "duplicates", "rejected", "errors")


def summary_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One readable key=value line per source, for task logs and log search; rejections
    with their reasons, most frequent first: `rejected=3 (not relevant 2, listing page 1)`."""
    lines = []
    for row in rows:
        counts = []
        for c in SUMMARY_COLUMNS[1:]:
            counts.append(f"{c}={row[c]}")
            reasons = row.get("rejected_by") or {}
            if c == "rejected" and reasons:
                ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
                counts[-1] += " (" + ", ".join(f"{why} {n}" for why, n in ranked) + ")"
        lines.append(f"{row['source']}: " + " ".join(counts)
                     + (f" error={row['error']!r}" if row.get("error") else ""))
    return lines


def summary_totals(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Each count column summed over the sources."""
    return {c: sum(int(row[c]) for row in rows) for c in SUMMARY_COLUMNS[1:]}


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of per-source counts, with a total line and failing sources."""
    table = [list(SUMMARY_COLUMNS)]
    table += [[str(row[c]) for c in SUMMARY_COLUMNS] for row in rows]
    totals = summary_totals(rows)
    table.append(["TOTAL", *(str(totals[c]) for c in SUMMARY_COLUMNS[1:])])
    widths = [max(display_width(r[i]) for r in table) for i in range(len(SUMMARY_COLUMNS))]

    def line(cells: list[str]) -> str:
        first = cells[0] + " " * (widths[0] - display_width(cells[0]))
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    out = [line(table[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in table[1:-1]]
    out += ["  ".join("-" * w for w in widths), line(table[-1])]
    failures = [r for r in rows if r.get("error")]
    for r in failures:
        out.append(f"FAILED {r['source']}: {r['error']}")
    return "\n".join(out)


def failing_sources_verdict(rows: Sequence[dict[str, Any]], max_share: float) -> str | None:
    """Why a run should count as failed because of its sources, or None.

    One broken feed is the source's problem, shown by name in the summary and the note;
    more than `max_share` of the sources fetched in the run failing at once points at the
    deployment (network, DNS, proxy, a bad release) and must turn the run red.
    """
    failed = [r["source"] for r in rows if r.get("error")]
    if rows and len(failed) > max_share * len(rows):
        return (f"{len(failed)} of {len(rows)} sources failed (more than "
                f"{max_share:.0%}): {', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}")
    return None


def _md(text: str) -> str:
    """Feed-provided text as literal Markdown: no links, emphasis or HTML of its own."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def run_note(rows: Sequence[dict[str, Any]], limit: int = NOTE_LIMIT) -> str:
    """The run's note for the Airflow UI (Markdown): totals, failing sources, busiest sources.

    Kept under `limit` characters; what does not fit is counted, never cut mid-line.
    """
    totals = summary_totals(rows)
    failed = [r for r in rows if r.get("error")]
    head = [
        f"**{len(rows)} sources, {len(failed)} failed** · "
        f"{totals['new']} new · {totals['updated']} updated · "
        f"{totals['duplicates']} duplicates · {totals['rejected']} rejected",
        "",
        f"{totals['entries']} entries, {totals['relevant']} relevant, "
        f"{totals['fetched']} pages fetched, {totals['errors']} errors.",
    ]
    sections: list[tuple[str, list[str]]] = []
    if failed:
        sections.append(("**Failed:**", [
            f"- {_md(r['source'])}: {_md(str(r['error'])[:160])}" for r in failed]))
    busy = sorted((r for r in rows if r["new"] or r["updated"]),
                  key=lambda r: (-(int(r["new"]) + int(r["updated"])), str(r["source"])))
    if busy:
        sections.append(("**New or updated by source:**", [
            f"- {_md(r['source'])}: {r['new']} new, {r['updated']} updated" for r in busy]))
    if not rows:
        head = ["**No source was due in this run.**"]
    lines = list(head)
    for title, items in sections:
        lines += ["", title]
        for i, item in enumerate(items):
            more = f"- … and {len(items) - i} more (see the summary task's log)"
            if len("\n".join([*lines, item, more])) > limit:
                lines.append(more)
                break
            lines.append(item)
    note = "\n".join(lines)
    return note if len(note) <= limit else note[: limit - 1] + "…"


def backfill_scope(request: Mapping[str, Any]) -> str:
    """Which outlets a backfill request covers, in words."""
    scope = ", ".join(request.get("languages") or []) or "all languages"
    if request.get("sources"):
        scope += "; " + ", ".join(request["sources"])
    return scope


def backfill_line(row: Mapping[str, Any]) -> str:
    """One backfill's progress (a row of `scrapers.db.backfill.progress`) in one line."""
    request = row["request"] or {}
    scope = backfill_scope(request)
    failed = f", {row['units_failed']} failed (retried next run)" if row["units_failed"] else ""
    return (f"backfill {row['id']} ({request.get('from')} to {request.get('to')}, {scope}): "
            f"{row['units_done']}/{row['units']} units done{failed}; "
            f"{row['found']} entries in range, {row['candidates']} candidates, "
            f"{row['pages']} pages fetched, {row['articles']} new articles"
            + ("; finished" if row["finished_at"] else ""))


def latest_run_id(conn: Connection) -> str | None:
    """The latest nichiro_ingest run (a backfill's fetches are filed under "backfill:…")."""
    with conn.cursor() as cur:
        cur.execute("SELECT run_id FROM feed_fetches WHERE run_id NOT LIKE 'backfill:%' "
                    "ORDER BY started_at DESC, id DESC LIMIT 1")
        row = cur.fetchone()
    return row[0] if row else None


def newest_articles(conn: Connection, limit: int) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, source, language, to_char(published_at AT TIME ZONE 'UTC',
                      'YYYY-MM-DD HH24:MI') AS published_utc, left(title, 70) AS title,
                      length(body) AS body_chars
               FROM articles ORDER BY first_seen_at DESC, id DESC LIMIT %s""",
            (limit,),
        )
        return list(cur.fetchall())


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    parser = argparse.ArgumentParser(description="Summarise a nichiro_ingest run.")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--articles", type=int, default=0, help="also list N newest articles")
    args = parser.parse_args(argv)
    conn = psycopg2.connect(args.db or db_url())
    try:
        run_id = args.run_id or latest_run_id(conn)
        if run_id is None:
            print("no runs recorded yet")
            return 1
        print(f"run {run_id}\n")
        print(format_summary(run_summary(conn, run_id)))
        if args.articles:
            print(f"\nnewest {args.articles} rows of articles:")
            header = ("id", "source", "lang", "published (UTC)", "title", "body chars")
            print(" | ".join(header))
            for row in newest_articles(conn, args.articles):
                print(" | ".join("" if v is None else str(v) for v in row))
    finally:
        conn.close()
    return 0
