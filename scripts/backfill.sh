#!/usr/bin/env bash
# `make backfill FROM=2026-09-01 TO=2026-11-30 [LANG=ja,ru] [SOURCE="A,B"] [MAX=1000]
# [SAMPLE=1]`: one nichiro_backfill run in-process (`airflow dags test`) with a progress bar
# of its units; SAMPLE=1 runs it against the bundled sample site and the demo databases.
# The same request again goes on where the last one stopped.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
: "${FROM:?give the first day: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD}"
: "${TO:?give the last day: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD}"
if [ -n "${SAMPLE:-}" ]; then
  source scripts/sample.sh
else
  source scripts/env.sh
fi
conf="$(python -m scrapers backfill conf --from "$FROM" --to "$TO" --languages "${LANG_:-}" \
  --sources "${SOURCE:-}" --max-articles "${MAX:-1000}")"
# The bar reads the backfill's tables from the start: they must exist before the run.
migrated="$(python -m scrapers migrate 2>&1)" || { echo "$migrated"; exit 1; }
mkdir -p "$AIRFLOW_HOME/backfill-logs"
log="$AIRFLOW_HOME/backfill-logs/$(date -u +%Y%m%dT%H%M%SZ).log"
echo "backfill $conf (full log: $log)"
airflow dags test nichiro_backfill -c "$conf" >"$log" 2>&1 &
run_pid=$!
python -m scrapers backfill progress --conf "$conf" --watch "$run_pid"
status=0
wait "$run_pid" || status=$?
if [ "$status" -ne 0 ] || grep -q "state=failed\|DagRunState.FAILED" "$log"; then
  echo "the run finished with failed tasks; details in $log"
  grep -m3 "AirflowFailException\|ERROR" "$log" || true
  exit 1
fi
