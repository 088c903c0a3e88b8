# Sourced by `make demo` and `make backfill SAMPLE=1`: the bundled sample site served on
# 127.0.0.1 (stopped when the calling script exits), its catalog, and the separate
# databases `nichiro_demo` and `nichiro_airflow_demo`, out of the operator's history.
base_db="${NICHIRO_DB_URL:-postgresql://postgres@127.0.0.1:5432/nichiro}"
export NICHIRO_DB_URL="${NICHIRO_DEMO_DB_URL:-${base_db%/*}/nichiro_demo}"
export AIRFLOW_HOME="$REPO/.local/airflow-demo"
export NICHIRO_AIRFLOW_DB_URL="${NICHIRO_AIRFLOW_DEMO_DB_URL:-${base_db%/*}/nichiro_airflow_demo}"
source scripts/env.sh
# The sample site is one local host: a short politeness delay keeps the demo quick.
export NICHIRO_ALLOW_PRIVATE_HOSTS=1 NICHIRO_TASK_RETRIES=0 NICHIRO_HOST_DELAY_SECONDS=0.1
mkdir -p .local/demo

.venv/bin/python scripts/dbctl.py ensure --db "$NICHIRO_DB_URL" --db "$NICHIRO_AIRFLOW_DB_URL"
airflow db migrate > .local/airflow-db-migrate.log 2>&1 || { cat .local/airflow-db-migrate.log; exit 1; }
.venv/bin/python plugins/nichiro_pools.py > /dev/null

.venv/bin/python -m tests.support.devserver tests/fixtures/site > .local/demo/server.out 2>&1 &
sample_server_pid=$!
trap 'kill $sample_server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s .local/demo/server.out ] && break; sleep 0.1; done
sample_base="$(head -n1 .local/demo/server.out)"
curl -fsS "$sample_base/catalog.toml" > .local/demo/catalog.toml
export NICHIRO_SOURCES="$REPO/.local/demo/catalog.toml"
echo "sample site at $sample_base; catalog $NICHIRO_SOURCES; news database $NICHIRO_DB_URL"
