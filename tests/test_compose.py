"""docker-compose.yml: validity under docker-compose v1 (and v2 where present) and its wiring.

No Docker engine is needed: `docker-compose config` only reads and validates the file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.compose

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
ALL_SERVICES = ("postgres", "news-db", *AIRFLOW_SERVICES)
LONG_RUNNING = AIRFLOW_SERVICES[1:]


#: The secrets the compose file requires (no defaults), with stand-ins for the checks: URL-
#: and JSON-safe, as docs/docker.md asks (the Fernet key is a well-formed one).
SECRETS = {
    "AIRFLOW_DB_PASSWORD": "test-airflow-db-pw",
    "NICHIRO_DB_PASSWORD": "test-nichiro-db-pw",
    "NICHIRO_API_PASSWORD": "test-nichiro-api-pw",
    "AIRFLOW_FERNET_KEY": "J8Xz8sBWbKdu7h3l0D0gWt6yqVQq4pA8X8vI6N3Jr1c=",
    "AIRFLOW_JWT_SECRET": "test-jwt-secret",
    "AIRFLOW_API_SECRET_KEY": "test-api-secret-key",
}


def _clean_env() -> dict[str, str]:
    """An environment without the variables the compose file interpolates, so that a developer's
    shell settings cannot change what is checked."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ}


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose (v1) is not installed, so docker-compose.yml cannot be validated. "
            "`make test` installs it; by hand: "
            "apt-get install -y --no-install-recommends docker-compose"
        )
    return exe


def _run_config(tmp_path: Path, *extra: str, secrets: dict[str, str] | None = None,
                env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with `secrets` (default: all of SECRETS) in its environment."""
    # An empty --env-file keeps a local .env (real secrets, other passwords) out of the check.
    if env_file is None:
        env_file = tmp_path / "empty.env"
        env_file.write_text("")
    return subprocess.run(
        [_docker_compose(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", *extra],
        cwd=REPO,
        env={**_clean_env(), **(SECRETS if secrets is None else secrets)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as written (YAML anchors and merge keys resolved by PyYAML, no interpolation)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_docker_compose_v1_validates(tmp_path: Path) -> None:
    proc = _run_config(tmp_path, "-q")
    assert proc.returncode == 0, f"docker-compose config -q failed:\n{proc.stderr}{proc.stdout}"


def test_resolved_values(tmp_path: Path) -> None:
    """With the secrets set (and nothing else), every service gets them, and AIRFLOW_UID, the
    one optional variable, keeps its default."""
    proc = _run_config(tmp_path)
    assert proc.returncode == 0, proc.stderr
    services = yaml.safe_load(proc.stdout)["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["NICHIRO_DB_URL"] == (
            "postgresql://nichiro:test-nichiro-db-pw@news-db:5432/nichiro")
        assert env["AIRFLOW_CONN_NICHIRO_DB"] == (
            "postgres://nichiro:test-nichiro-db-pw@news-db:5432/nichiro")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
            "postgresql+psycopg2://airflow:test-airflow-db-pw@postgres/airflow"
        )
        assert env["AIRFLOW__CORE__FERNET_KEY"] == SECRETS["AIRFLOW_FERNET_KEY"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "test-jwt-secret"
        assert env["AIRFLOW__API__SECRET_KEY"] == "test-api-secret-key"
        api_conn = json.loads(env["AIRFLOW_CONN_NICHIRO_AIRFLOW_API"])
        assert (api_conn["login"], api_conn["password"]) == ("nichiro", "test-nichiro-api-pw")
        assert services[name]["user"] == "50000:0"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert services[name]["image"] == "nichiro-airflow:latest"
    assert services["airflow-init"]["environment"]["NICHIRO_API_PASSWORD"] == (
        "test-nichiro-api-pw")
    assert services["news-db"]["environment"]["POSTGRES_PASSWORD"] == "test-nichiro-db-pw"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "test-airflow-db-pw"


@pytest.mark.parametrize("missing", sorted(SECRETS))
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_compose_refuses_to_start_without_each_secret(tmp_path: Path, missing: str,
                                                      how: str) -> None:
    """No public default stands in for a secret: an unset or empty one stops compose, with a
    message that names it."""
    secrets = {k: v for k, v in SECRETS.items() if k != missing}
    if how == "empty":
        secrets[missing] = ""
    proc = _run_config(tmp_path, "-q", secrets=secrets)
    assert proc.returncode != 0, f"config accepted the file without {missing}"
    assert f"set {missing}" in proc.stderr, proc.stderr


def test_no_secret_has_a_default_anywhere_in_the_file() -> None:
    """Every use of a secret is `${VAR:?...}`: a `${VAR:-...}` or a bare `${VAR}` would let a
    copy of the line run with a public or empty value."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"(\W{0,2})", text)
        assert uses, name
        assert all(sep == ":?" for sep in uses), (name, uses)
        assert f"${name}" not in text.replace("${", "{"), name  # no unbraced $VAR either


def test_env_example_names_every_secret_and_holds_none(tmp_path: Path) -> None:
    """.env.example lists each secret with an empty value: a copy that was not filled in is
    refused, not run with placeholders."""
    example = REPO / ".env.example"
    values = dict(line.split("=", 1) for line in example.read_text("utf-8").splitlines()
                  if line.strip() and not line.lstrip().startswith("#"))
    assert set(SECRETS) <= set(values)
    assert all(values[name] == "" for name in SECRETS), values
    proc = _run_config(tmp_path, "-q", secrets={}, env_file=example)
    assert proc.returncode != 0 and "set " in proc.stderr, proc.stderr


CELERY_SERVICES = ("redis", "airflow-worker", "flower")


def test_services_exist(raw: dict[str, Any]) -> None:
    assert set(ALL_SERVICES) <= set(raw["services"])
    # The Celery machinery only starts with its profile: a plain `up` is LocalExecutor.
    for name in CELERY_SERVICES:
        assert raw["services"][name]["profiles"], name
    assert not any(raw["services"][name].get("profiles") for name in ALL_SERVICES)


def test_the_celery_profile_in_the_shape_of_airflows_compose_file(
        raw: dict[str, Any], tmp_path: Path) -> None:
    services = raw["services"]
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker" and "celery" in worker["profiles"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["airflow-init"]["condition"] == (
        "service_completed_successfully")
    assert "inspect ping" in worker["healthcheck"]["test"][1]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["flower"]["command"] == "celery flower"
    env = worker["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://airflow:")
    # the executor is chosen by AIRFLOW_EXECUTOR, LocalExecutor unless set
    proc = _run_config(tmp_path, secrets={**SECRETS, "AIRFLOW_EXECUTOR": "CeleryExecutor"})
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)["services"]
    assert {resolved[name]["environment"]["AIRFLOW__CORE__EXECUTOR"]
            for name in (*AIRFLOW_SERVICES, "airflow-worker")} == {"CeleryExecutor"}


def test_ports_bound_to_loopback_only(raw: dict[str, Any]) -> None:
    services = raw["services"]
    assert services["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]
    assert services["news-db"]["ports"] == ["127.0.0.1:5433:5432"]
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    published = {name: s.get("ports") for name, s in services.items() if s.get("ports")}
    assert set(published) == {"airflow-apiserver", "news-db", "flower"}, published
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_airflow_services_environment(raw: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        env = raw["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}", name
        assert env["NICHIRO_DB_URL"].startswith("postgresql://nichiro:"), name
        assert env["NICHIRO_DB_URL"].endswith("@news-db:5432/nichiro"), name
        assert env["AIRFLOW_CONN_NICHIRO_DB"].startswith("postgres://nichiro:"), name
        assert env["AIRFLOW_CONN_NICHIRO_DB"].endswith("@news-db:5432/nichiro"), name
        assert env["NICHIRO_SOURCES"] == "/opt/nichiro/sources.toml", name
        assert env["PYTHONPATH"] == "/opt/nichiro", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-apiserver:8080/execution/"
        ), name
        # Secrets shared by all components must come from the environment.
        for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
            assert env[key].startswith("${"), (name, key)
        volumes = raw["services"][name]["volumes"]
        targets = {v.split(":")[1] for v in volumes}
        assert {
            "/opt/airflow/dags",
            "/opt/airflow/plugins",
            "/opt/airflow/logs",
            "/opt/nichiro/scrapers",
            "/opt/nichiro/sql",
            "/opt/nichiro/sources.toml",
        } <= targets, name


def test_start_order(raw: dict[str, Any]) -> None:
    services = raw["services"]
    init_deps = services["airflow-init"]["depends_on"]
    assert init_deps["postgres"]["condition"] == "service_healthy"
    assert init_deps["news-db"]["condition"] == "service_healthy"
    for name in LONG_RUNNING:
        deps = services[name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert "healthcheck" in services[name], name
    for name in ("postgres", "news-db"):
        assert "pg_isready" in services[name]["healthcheck"]["test"], name
    api_health = " ".join(services["airflow-apiserver"]["healthcheck"]["test"])
    assert "/api/v2/" in api_health
    assert services["airflow-apiserver"]["command"] == "api-server"


def test_init_runs_both_migrations(raw: dict[str, Any]) -> None:
    script = " ".join(str(part) for part in raw["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert "python -m scrapers migrate" in script
    assert script.index("airflow db migrate") < script.index("python -m scrapers migrate")
