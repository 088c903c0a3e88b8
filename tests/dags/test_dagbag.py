"""The DAG files parse cleanly, fast, and keep heavy imports out of parse time."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_dagbag_has_no_import_errors(capsys: pytest.CaptureFixture[str]) -> None:
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[dagbag] parsed {len(bag.dags)} DAG(s) from dags/ in {elapsed:.3f} s "
              f"(incl. Airflow's own start-up)")
    assert bag.import_errors == {}
    dag = bag.dags["nichiro_ingest"]
    assert dag.doc_md and "nichiro_ingest" in dag.doc_md
    assert not dag.catchup and dag.max_active_runs == 1
    assert {t.task_id for t in dag.tasks} == {
        "migrate", "load_sources", "shard.fetch_feed", "shard.fetch_articles", "load",
        "announce", "summary", "run_ok", "sources_ok",
    }
    assert [a.name for a in dag.get_task("announce").outlets] == ["nichiro_articles"]
    digest = bag.dags["nichiro_digest"]
    assert digest.doc_md and {t.task_id for t in digest.tasks} == {
        "refresh", "editions", "deliver", "search_catch_up"}
    assert digest.get_task("deliver").upstream_task_ids == {"editions"}
    for task_id in ("shard.fetch_feed", "shard.fetch_articles"):
        task = dag.get_task(task_id)
        assert task.map_index_template == "{{ shard_label }}"
    assert dag.get_task("load").trigger_rule == "all_done"
    assert dag.get_task("migrate").downstream_task_ids == {"load_sources", "run_ok"}
    assert dag.get_task("run_ok").upstream_task_ids == {"migrate", "load_sources", "load"}
    assert dag.get_task("run_ok").trigger_rule == "all_success"
    alerts = bag.dags["nichiro_alerts"]
    assert alerts.doc_md and {t.task_id for t in alerts.tasks} == {"check"}
    backfill = bag.dags["nichiro_backfill"]
    assert backfill.schedule is None and backfill.max_active_tasks == 1
    assert {t.task_id for t in backfill.tasks} == {"plan", "fetch", "load", "progress"}
    fetch = backfill.get_task("fetch")
    # below the ingest whenever both wait, and in the fetch tasks' pool
    assert (fetch.pool, fetch.priority_weight, fetch.weight_rule) == (
        "nichiro_http", 1, "absolute")


@pytest.mark.parametrize("dag_file", ["nichiro_ingest.py", "nichiro_backfill.py",
                                      "nichiro_alerts.py"])
def test_dag_file_parse_is_light(dag_file: str) -> None:
    """Importing the DAG module must not import the scraping stack or touch a database."""
    code = (
        "import sys, time, runpy; import airflow.sdk; before = set(sys.modules);"
        "t = time.perf_counter();"
        f"runpy.run_path({str(REPO / 'dags' / dag_file)!r});"
        "print(round(time.perf_counter() - t, 3));"
        "new = set(sys.modules) - before;"
        "heavy = sorted(m for m in new if m.split('.')[0] in ('scrapers', 'feedparser',"
        " 'trafilatura', 'psycopg2', 'bs4', 'lxml', 'httpx', 'nichiro_db')); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.splitlines()
    print(f"[dagbag] {dag_file} executes in {out[-2]} s (airflow.sdk already imported)")
    assert out[-1] == "[]", f"heavy modules imported at parse time: {out[-1]}"


def test_failure_event_names_the_shard() -> None:
    from types import SimpleNamespace

    from nichiro_callbacks import failure_event

    ti = SimpleNamespace(dag_id="nichiro_ingest", task_id="shard.fetch_feed", map_index=3,
                         rendered_map_index="shard 3/16: TASS English, NHK, +10", try_number=2)
    event = failure_event({"ti": ti, "run_id": "r1", "exception": ValueError("HTTP 500")})
    assert event == {"event": "task_failed", "dag_id": "nichiro_ingest",
                     "task_id": "shard.fetch_feed", "map_index": 3,
                     "shard": "shard 3/16: TASS English, NHK, +10",
                     "run_id": "r1", "try_number": 2, "error": "ValueError: HTTP 500"}


@pytest.fixture
def failing_webhook() -> Iterator[int]:
    """A webhook on 127.0.0.1 that answers 500, as a misconfigured or down Slack would."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def airflow_logging() -> None:
    """Airflow replaces the root log handlers the first time it resolves a Connection; done
    here, before the test, so that pytest's log capture stays in place during it."""
    from nichiro_connections import get_connection

    get_connection("nichiro_no_such_connection")


#: The part of a webhook URL that is its credential (Slack's: /services/T…/B…/<token>).
SECRET_PATH = "services/T0NICHIRO/B0ALERTS/s3cr3t-webhook-token"


@pytest.mark.parametrize("answer", ["HTTP 500", "refused"])
def test_a_failed_alert_logs_the_webhook_host_never_its_url(
        answer: str, failing_webhook: int, airflow_logging: None,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    import logging
    from types import SimpleNamespace

    from nichiro_callbacks import on_task_failure
    from tests.support import free_port

    port = failing_webhook if answer == "HTTP 500" else free_port()
    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_ALERTS",
                       f"http://alerts:p4ssw0rd@127.0.0.1:{port}/{SECRET_PATH}?token=q-s3cr3t")
    ti = SimpleNamespace(dag_id="nichiro_ingest", task_id="load", map_index=-1,
                         rendered_map_index=None, try_number=1)
    with caplog.at_level(logging.INFO):
        on_task_failure({"ti": ti, "run_id": "r1", "exception": ValueError("boom")})
    [warning] = [r for r in caplog.records if r.name == "nichiro.alerts"
                 and r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert f"alert to 127.0.0.1:{port} failed" in message
    if answer == "HTTP 500":
        assert "HTTP 500" in message
    out, err = capfd.readouterr()
    logged = "\n".join([*(r.getMessage() for r in caplog.records), caplog.text, out, err])
    for secret in ("s3cr3t", "T0NICHIRO", "p4ssw0rd", "services/"):
        assert secret not in logged, (secret, logged)
