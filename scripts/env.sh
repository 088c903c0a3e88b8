# Environment shared by every make target: sourced, not executed.
# Everything here can be overridden by exporting the variable before `make`.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export NICHIRO_DB_URL="${NICHIRO_DB_URL:-postgresql://postgres@127.0.0.1:5432/nichiro}"
# Airflow's own metadata database: PostgreSQL on the same server, database nichiro_airflow.
_server="${NICHIRO_DB_URL%/*}"
export NICHIRO_AIRFLOW_DB_URL="${NICHIRO_AIRFLOW_DB_URL:-${_server}/nichiro_airflow}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/.local/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$REPO/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${NICHIRO_AIRFLOW_DB_URL/postgresql:\/\//postgresql+psycopg2://}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://localhost:${AIRFLOW__API__PORT}}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:${AIRFLOW__API__PORT}/execution/}"
export AIRFLOW_CONN_NICHIRO_DB="$NICHIRO_DB_URL"
export PATH="$REPO/.venv/bin:$PATH"
unset _server
