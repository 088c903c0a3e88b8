#!/usr/bin/env bash
# `make demo`: serve the bundled sample site on 127.0.0.1, run nichiro_ingest once against
# it into the separate database `nichiro_demo`, and show the summary and a few rows.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
source scripts/sample.sh
NICHIRO_REPORT_ARTICLES=8 scripts/once.sh || true
stored="$(.venv/bin/python -c 'import os, psycopg2
cur = psycopg2.connect(os.environ["NICHIRO_DB_URL"]).cursor()
cur.execute("SELECT count(*) FROM articles"); print(cur.fetchone()[0])')"
echo
echo "articles in $NICHIRO_DB_URL: $stored  (the sample's \"Broken Feed\" fails on purpose: HTTP 500)"
echo "its archive (October 2026): make backfill SAMPLE=1 FROM=2026-10-01 TO=2026-10-31"
[ "$stored" -gt 0 ]
