"""Fixtures for the Nichiro page: the fixture rows, and Airflow identities to call it with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.support import free_port

#: The event of tests/fixtures/events/reports.jsonl the page shows in three languages.
UI_EVENT = "visit"


@pytest.fixture
def dashboard_db(db: Any) -> Any:
    """The emptied news database with tests/fixtures/ui/dashboard.sql loaded, plus the three
    reports (EN, JA, RU) of one event from tests/fixtures/events/reports.jsonl 40 days ago
    (before the chart), indexed for search and linked to events (as the load task does)."""
    import json

    from scrapers.db.search import index_pending
    from scrapers.dedup.event_links import link_pending

    with db.cursor() as cur:
        cur.execute((FIXTURES / "ui" / "dashboard.sql").read_text("utf-8"))
        lines = (FIXTURES / "events" / "reports.jsonl").read_text("utf-8").splitlines()
        for n, report in enumerate(json.loads(line) for line in lines if line):
            if report["event"] != UI_EVENT:
                continue
            cur.execute(
                """INSERT INTO articles (url, original_url, title, body, published_at,
                       fetched_at, first_seen_at, language, source, relevance_score, relevant,
                       content_hash)
                   SELECT %(url)s, %(url)s, %(title)s, %(body)s, t, t, t, %(lang)s,
                          %(outlet)s, 1.0, true, %(hash)s
                   FROM (SELECT now() - interval '40 days' + %(n)s * interval '1 hour') AS s(t)""",
                {"url": f"https://events.example/{report['id']}", "title": report["title"],
                 "body": report["text"], "lang": report["language"], "n": n,
                 "outlet": {"en": "Kyodo", "ja": "NHK", "ru": "TASS"}[report["language"]],
                 "hash": f"ui-{report['id']}"})
    index_pending(db)
    link_pending(db)
    db.commit()
    return db


@pytest.fixture(scope="session")
def auth_manager(airflow_db: None) -> Any:
    """Airflow's configured auth manager (the simple one), as the api-server creates it."""
    from airflow.api_fastapi.app import create_auth_manager

    return create_auth_manager()


def mint_token(auth_manager: Any, role: str | None = "ADMIN", username: str = "admin") -> str:
    """A JWT signed by the auth manager, as POST /auth/token would hand out."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role))


@pytest.fixture
def client(auth_manager: Any) -> Iterator[Any]:
    """A TestClient on the plugin's FastAPI app alone (mounted nowhere)."""
    from fastapi.testclient import TestClient

    from nichiro_ui import create_app

    with TestClient(create_app(), follow_redirects=False) as c:
        yield c


class ApiServer:
    """A running `airflow api-server` on 127.0.0.1 (see the `api_server` fixture)."""

    def __init__(self, base_url: str, home: str, log: Any) -> None:
        self.base_url = base_url
        self.home = home
        self.log = log

    def password(self, username: str = "admin") -> str:
        """The simple auth manager's generated password for `username`."""
        import json
        import os

        path = os.path.join(self.home, "simple_auth_manager_passwords.json.generated")
        with open(path, encoding="utf-8") as f:
            return str(json.load(f)[username])

    def login(self, username: str = "admin") -> str:
        """A token from POST /auth/token, as the UI's login form gets it."""
        import httpx

        r = httpx.post(f"{self.base_url}/auth/token",
                       json={"username": username, "password": self.password(username)})
        r.raise_for_status()
        return str(r.json()["access_token"])

    def log_tail(self, n: int = 60) -> str:
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])




@pytest.fixture(scope="session")
def api_server(airflow_db: None, news_db_url: str, tmp_path_factory: Any) -> Iterator[ApiServer]:
    """`airflow api-server` (uvicorn, one worker) with the plugins folder, on a free
    127.0.0.1 port, against this session's metadata and news databases; login required."""
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import REPO

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW_CONN_NICHIRO_DB": news_db_url,
        "PYTHONPATH": str(REPO),  # `scrapers` for the plugin, as an installed venv would have
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    log = open(tmp_path_factory.mktemp("api-server") / "api-server.log", "w+", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port",
         str(port), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = ApiServer(base_url, os.environ["AIRFLOW_HOME"], log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"api-server exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if httpx.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"api-server not healthy after 90 s:\n{server.log_tail()}")
            time.sleep(0.5)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
