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
# The DAGs are active from their creation (is_paused_upon_creation=False). Still check their
# state through the REST API, and unpause one that an earlier install left paused.
python - "$url" "$passwords" nichiro_ingest nichiro_digest nichiro_backfill nichiro_alerts <<'PY' || exit 1
import json, sys, time, urllib.error, urllib.request
url, passwords, dag_ids = sys.argv[1], sys.argv[2], sys.argv[3:]

def call(method, path, token=None, body=None):
    request = urllib.request.Request(
        url + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)

with open(passwords, encoding="utf-8") as f:
    password = json.load(f)["admin"]
token = call("POST", "/auth/token", body={"username": "admin", "password": password})["access_token"]
deadline = time.monotonic() + 180
for dag_id in dag_ids:
    while True:  # registered once the dag-processor has parsed the file
        try:
            dag = call("GET", f"/api/v2/dags/{dag_id}", token)
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                sys.exit(f"ERROR: {dag_id} is not registered (HTTP {exc.code}): see the UI's "
                         "DAG import errors and the dag-processor log")
            time.sleep(2)
    if dag["is_paused"]:
        dag = call("PATCH", f"/api/v2/dags/{dag_id}", token, {"is_paused": False})
    if dag["is_paused"]:
        sys.exit(f"ERROR: {dag_id} is still paused; unpause it in the UI")
    print(f"{dag_id}: active")
PY
cat <<MSG

==============================================================================
 Nichiro is running.  Airflow UI: $url  (listening on 127.0.0.1 only)
 Log in as: admin   password: $(python -c 'import json,sys; print(json.load(open(sys.argv[1])).get("admin","(see file)"))' "$passwords" 2>/dev/null || echo "see $passwords")
 (passwords file: $passwords)
 DAGs nichiro_ingest and nichiro_digest are active; schedule: ${NICHIRO_SCHEDULE:-*/30 * * * *}
 History: trigger nichiro_backfill (from, to, languages, sources) or run make backfill
 News database: $NICHIRO_DB_URL   — Ctrl-C stops everything.
==============================================================================

MSG
wait "$airflow_pid" || true
