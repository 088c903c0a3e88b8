"""The DAG files parse cleanly, fast, and keep heavy imports out of parse time."""

from __future__ import annotations

import subprocess
import sys
import time
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
        "migrate", "load_sources", "source.fetch_feed", "source.fetch_articles", "load",
        "announce", "summary",
    }
    assert [a.name for a in dag.get_task("announce").outlets] == ["nichiro_articles"]
    digest = bag.dags["nichiro_digest"]
    assert digest.doc_md and {t.task_id for t in digest.tasks} == {"refresh",
                                                                    "search_catch_up"}
    for task_id in ("source.fetch_feed", "source.fetch_articles"):
        task = dag.get_task(task_id)
        assert task.map_index_template == "{{ source_name }}"
    assert dag.get_task("load").trigger_rule == "all_done"
    assert dag.get_task("migrate").downstream_task_ids == {"load_sources"}


def test_dag_file_parse_is_light() -> None:
    """Importing the DAG module must not import the scraping stack or touch a database."""
    code = (
        "import sys, time, runpy; import airflow.sdk; before = set(sys.modules);"
        "t = time.perf_counter();"
        f"runpy.run_path({str(REPO / 'dags' / 'nichiro_ingest.py')!r});"
        "print(round(time.perf_counter() - t, 3));"
        "new = set(sys.modules) - before;"
        "heavy = sorted(m for m in new if m.split('.')[0] in ('scrapers', 'feedparser',"
        " 'trafilatura', 'psycopg2', 'bs4', 'lxml', 'httpx', 'nichiro_db')); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.splitlines()
    print(f"[dagbag] nichiro_ingest.py executes in {out[-2]} s (airflow.sdk already imported)")
    assert out[-1] == "[]", f"heavy modules imported at parse time: {out[-1]}"


def test_failure_event_names_the_source() -> None:
    from types import SimpleNamespace

    from nichiro_callbacks import failure_event

    ti = SimpleNamespace(dag_id="nichiro_ingest", task_id="source.fetch_feed", map_index=3,
                         rendered_map_index="TASS English", try_number=2)
    event = failure_event({"ti": ti, "run_id": "r1", "exception": ValueError("HTTP 500")})
    assert event == {"event": "task_failed", "dag_id": "nichiro_ingest",
                     "task_id": "source.fetch_feed", "map_index": 3, "source": "TASS English",
                     "run_id": "r1", "try_number": 2, "error": "ValueError: HTTP 500"}
