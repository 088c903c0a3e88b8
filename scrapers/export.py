"""Export the articles of a date range to CSV or JSON Lines.

CLI::

    python -m scrapers export --since 2026-11-01 --until 2026-11-30 \\
        [--format csv|jsonl] [--output FILE|-] [--language ja [--language ru]] [--db URL] [--quiet]

The range: an article is dated by its publication time, else by when Nichiro first saw it
(``analytics.articles.dated_at``). ``--since`` and ``--until`` are UTC calendar days and
both are inclusive: the example exports ``2026-11-01T00:00:00Z <= dated_at <
2026-12-01T00:00:00Z``. Rows come oldest first (dated_at, then id).

Output: timestamps are ISO 8601 in UTC (``2026-11-02T03:00:00Z``). JSON Lines keeps lists
and ``matched_terms`` as JSON; CSV (UTF-8, header row) joins ``authors`` and the two tag lists with
``"; "`` and writes ``matched_terms`` as JSON text, booleans as ``true``/``false`` and
missing values as empty cells. A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a single quote in front (``'=HYPERLINK(...)``): titles, bodies and
authors come from outlets, and a spreadsheet opening the file would otherwise run such a cell
as a formula (OWASP, "CSV Injection"). JSON Lines keeps every value exactly as stored. A file
is written under a temporary name and renamed when complete, so an interrupted export never
leaves a half file behind.

It reads ``analytics.articles`` through a server-side cursor in batches, so memory stays
flat however long the range, and it works with the read-only ``nichiro_reader`` role. A
progress bar (total from a count query) goes to stderr when stderr is a terminal and
``--quiet`` is not given.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

from scrapers.db.connection import Connection

LOGGER = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl")
COLUMNS = (
    "id", "url", "title", "source", "language", "published_at", "published_precision",
    "first_seen_at", "dated_at", "authors", "tags", "analyst_tags", "summary", "body",
    "relevance_score", "matched_terms", "truncated", "paywalled",
)
LIST_SEPARATOR = "; "
#: What makes a spreadsheet read a cell as a formula (or skip to one), per OWASP.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_BATCH = 1000

_SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM analytics.articles"
_ORDER = " ORDER BY dated_at, id"


class ExportError(ValueError):
    """The export's arguments do not describe a range that can be exported."""


def day_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """The UTC half-open interval [since 00:00, until+1 00:00) of two inclusive days.

    :param since: first day exported
    :param until: last day exported (inclusive); must not be before ``since``
    """
    if until < since:
        raise ExportError(f"--until {until} is before --since {since}")
    start = datetime.combine(since, time(0), tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)
    return start, end


def _where(
    since: date, until: date, languages: Sequence[str] | None
) -> tuple[str, dict[str, Any]]:
    start, end = day_bounds(since, until)
    sql = " WHERE dated_at >= %(start)s AND dated_at < %(end)s"
    params: dict[str, Any] = {"start": start, "end": end}
    if languages:
        sql += " AND language = ANY(%(languages)s)"
        params["languages"] = list(languages)
    return sql, params


def count_articles(
    conn: Connection, since: date, until: date, languages: Sequence[str] | None = None
) -> int:
    """How many articles ``export_articles`` would write for these arguments."""
    where, params = _where(since, until, languages)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM analytics.articles" + where, params)
        return int(cur.fetchone()[0])


def iter_articles(
    conn: Connection,
    since: date,
    until: date,
    languages: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[dict[str, Any]]:
    """Rows of the range as dicts (COLUMNS), oldest first, fetched in batches.

    Uses a server-side (named) cursor, so the caller's connection must not be in
    autocommit mode; the cursor lives in the current transaction.
    """
    where, params = _where(since, until, languages)
    with conn.cursor(name="nichiro_export") as cur:
        cur.itersize = batch_size
        cur.execute(_SELECT + where + _ORDER, params)
        while True:
            rows = cur.fetchmany(batch_size)
            if not rows:
                return
            for row in rows:
                yield dict(zip(COLUMNS, row, strict=True))


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2026-11-02T03:00:00Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def neutralise_formula(text: str) -> str:
    """``text`` with a single quote in front when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str):
        return neutralise_formula(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return neutralise_formula(LIST_SEPARATOR.join(value))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)  # starts with [ or {
    return str(value)  # ids and scores: numbers, which a spreadsheet cannot run


class _Writer:
    def __init__(self, out: TextIO, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.out = out
        self.fmt = fmt
        self.csv: Any = None
        self.csv_quoted: Any = None
        if fmt == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            # The csv module quotes a field for the characters of its line terminator only,
            # so a lone carriage return would go out bare and end the row early for every
            # reader; rows holding one are written with every field quoted.
            self.csv_quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
            self.csv.writerow(COLUMNS)

    def write(self, row: dict[str, Any]) -> None:
        if self.csv is not None:
            cells = [_csv_value(row[c]) for c in COLUMNS]
            if any("\r" in cell for cell in cells):
                self.csv_quoted.writerow(cells)
            else:
                self.csv.writerow(cells)
        else:
            record = {c: _json_value(row[c]) for c in COLUMNS}
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")


def export_articles(
    conn: Connection,
    out: TextIO,
    *,
    since: date,
    until: date,
    fmt: str = "csv",
    languages: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
) -> int:
    """Write the articles of [since, until] (UTC days, inclusive) to ``out``; returns the count.

    :param conn: psycopg2 connection (not autocommit: a server-side cursor needs a transaction)
    :param out: text stream to write to (opened with ``newline=""`` for CSV files)
    :param fmt: ``csv`` or ``jsonl``
    :param languages: only these article languages (all when empty)
    :param progress: show a tqdm bar on stderr, its total from a count query
    """
    writer = _Writer(out, fmt)
    bar = None
    if progress:
        from tqdm import tqdm

        total = count_articles(conn, since, until, languages)
        bar = tqdm(total=total, unit="article", file=sys.stderr, desc="export")
    written = 0
    try:
        for row in iter_articles(conn, since, until, languages, batch_size):
            writer.write(row)
            written += 1
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return written


def _stdout_utf8() -> TextIO:
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper) and (stream.encoding or "").lower() != "utf-8":
        stream.reconfigure(encoding="utf-8")
    return stream


def main(argv: list[str] | None = None) -> int:
    import psycopg2

    from scrapers.config import db_url

    parser = argparse.ArgumentParser(
        description="Export the articles of a date range (UTC days, both inclusive) to CSV "
        "or JSON Lines. Articles are dated by published_at, else first_seen_at."
    )
    parser.add_argument("--since", required=True, type=date.fromisoformat,
                        help="first day, YYYY-MM-DD (inclusive, from 00:00 UTC)")
    parser.add_argument("--until", required=True, type=date.fromisoformat,
                        help="last day, YYYY-MM-DD (inclusive, up to 24:00 UTC)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="csv or jsonl (default: from the --output suffix, else csv)")
    parser.add_argument("--output", "-o", default="-", help="file to write, or - for stdout")
    parser.add_argument("--language", action="append", default=None, metavar="LANG",
                        help="only articles in this language (repeatable): en, ja, ru")
    parser.add_argument("--db", default=None, help="libpq URL (default: NICHIRO_DB_URL)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help=f"rows fetched per round trip (default {DEFAULT_BATCH})")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar and no summary line on stderr")
    args = parser.parse_args(argv)
    fmt = args.format or ("jsonl" if args.output.endswith((".jsonl", ".ndjson")) else "csv")
    try:
        day_bounds(args.since, args.until)
    except ExportError as exc:
        parser.error(str(exc))
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    progress = not args.quiet and sys.stderr.isatty()

    conn = psycopg2.connect(args.db or db_url())
    try:
        conn.set_session(readonly=True)
        options = {"since": args.since, "until": args.until, "fmt": fmt,
                   "languages": args.language, "batch_size": args.batch_size,
                   "progress": progress}
        if args.output == "-":
            written = export_articles(conn, _stdout_utf8(), **options)
            sys.stdout.flush()
            target = "stdout"
        else:
            path = Path(args.output)
            partial = path.with_name(path.name + ".part")
            try:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    written = export_articles(conn, out, **options)
                os.replace(partial, path)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            target = str(path)
        conn.rollback()  # read-only: nothing to commit; closes the server-side cursor
    finally:
        conn.close()
    if not args.quiet:
        print(f"exported {written} articles ({args.since} .. {args.until}, {fmt}) to {target}",
              file=sys.stderr)
    return 0
