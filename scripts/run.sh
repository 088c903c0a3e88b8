#!/usr/bin/env bash
# `make run`: Airflow 3 in the foreground (api-server + UI, scheduler, dag-processor,
# triggerer via `airflow standalone`), nichiro_ingest unpaused. Ctrl-C stops it all.
set -euo pipefail
: "${AIRFLOW_HOME:?source scripts/env.sh first}"
mkdir -p "$AIRFLOW_HOME"
# Login is required: the simple auth manager's user `admin` with a generated password.
# The service user `nichiro` (role "user": may edit DAG runs) lets the summary task write
# each run's note through the REST API; its password is generated here, once.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin,nichiro:user}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False
passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
service_password=$(umask 077; python - "$passwords" <<'PY'
import json, secrets, sys
path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        users = json.load(f)
except (FileNotFoundError, ValueError):
    users = {}
if "nichiro" not in users:
    users["nichiro"] = secrets.token_urlsafe(24)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(users, f)
print(users["nichiro"])
PY
)
if [ -z "${AIRFLOW_CONN_NICHIRO_AIRFLOW_API:-}" ]; then
  AIRFLOW_CONN_NICHIRO_AIRFLOW_API=$(python -c 'import json, sys; print(json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": int(sys.argv[1]), "login": "nichiro", "password": sys.argv[2]}))' "$AIRFLOW__API__PORT" "$service_password")
  export AIRFLOW_CONN_NICHIRO_AIRFLOW_API
fi
# A stable, long signing key for the UI's tokens (Airflow would make a short one per start).
secret_file="$AIRFLOW_HOME/jwt_secret"
[ -s "$secret_file" ] || (umask 077; python -c 'import secrets; print(secrets.token_urlsafe(64))' > "$secret_file")
export AIRFLOW__API_AUTH__JWT_SECRET="${AIRFLOW__API_AUTH__JWT_SECRET:-$(cat "$secret_file")}"
url="http://localhost:${AIRFLOW__API__PORT}"

# Own process group, so that stopping reaches every component standalone started.
setsid airflow standalone &
airflow_pid=$!
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping Airflow (scheduler, dag-processor, api-server, triggerer)..."
  kill -INT "$airflow_pid" 2>/dev/null || true          # standalone's own clean shutdown
  for _ in $(seq 1 20); do kill -0 -- "-$airflow_pid" 2>/dev/null || break; sleep 1; done
  kill -TERM -- "-$airflow_pid" 2>/dev/null || true     # whatever is left of the group
  sleep 2
  kill -KILL -- "-$airflow_pid" 2>/dev/null || true
  echo "stopped."
}
trap stop INT TERM EXIT

healthy() { python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$url/api/v2/monitor/health" >/dev/null 2>&1; }
for _ in $(seq 1 120); do
  healthy && break
  kill -0 "$airflow_pid" 2>/dev/null || { echo "Airflow exited during start-up" >&2; exit 1; }
  sleep 2
done
# The DAG must be parsed before it can be unpaused.
unpaused=no
for _ in $(seq 1 60); do
  airflow dags unpause nichiro_ingest >/dev/null 2>&1 && { unpaused=yes; break; }
  sleep 3
done
[ "$unpaused" = yes ] || echo "WARNING: could not unpause nichiro_ingest (import error? see the UI's DAG import errors)" >&2
cat <<MSG

==============================================================================
 Nichiro is running.  Airflow UI: $url  (listening on 127.0.0.1 only)
 Log in as: admin   password: $(python -c 'import json,sys; print(json.load(open(sys.argv[1])).get("admin","(see file)"))' "$passwords" 2>/dev/null || echo "see $passwords")
 (passwords file: $passwords)
 DAG nichiro_ingest is unpaused; schedule: ${NICHIRO_SCHEDULE:-*/30 * * * *}
 News database: $NICHIRO_DB_URL   — Ctrl-C stops everything.
==============================================================================

MSG
wait "$airflow_pid" || true
