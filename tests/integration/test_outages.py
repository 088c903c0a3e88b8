"""Outages (issue 6): PostgreSQL stopped during a load, a task SIGKILLed mid-run, a full disk.

Each test runs the sample site twice: once undisturbed (the baseline) and once with the
fault, each run in its own database of a PRIVATE PostgreSQL cluster this module creates,
stops and starts (never the shared server). After the fault the run is retried the way
Airflow retries a failed task, and the rows it leaves must equal the baseline's: the
same articles (url, title, content_hash), aliases, tags, raw pages, entry links and
staging outcomes, no duplicate, nothing of a rolled-back batch.

How the fault lands where it should, without timed assertions:
- mid-load: the test row-locks one staged row that load_run reaches after writing
  several articles in its (single) transaction; load_run blocks on that lock, the test
  sees it waiting in pg_stat_activity, then stops the cluster (or kills the worker).
- mid-fetch_articles: the worker (tests/integration/outage_worker.py) stalls at its first
  HTTP request after two staged pages (inside the first source's fetch_articles); the
  test polls staged_articles and SIGKILLs it once two pages are staged, while it waits.
Every wait is bounded and fails with a message saying what did not happen.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from scrapers.db import staging
from scrapers.db.loader import load_run
from scrapers.db.migrate import migrate
from tests.integration.outage_worker import Progress, fetcher, stage_run
from tests.support import free_port

# clock: the retention the load runs compares staging times with the load's clock (a run a
# year ahead of the database once pruned its own rows)
pytestmark = [pytest.mark.integration, pytest.mark.clock]

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "scheduled__outage"
WAIT_S = 30.0  # upper bound of every wait; a healthy run needs well under a second
LOADER_APP = "nichiro-outage-load"
# The worker stalls (until killed) at its first HTTP request after 2 staged pages: the
# first source (Pacific Wire) has 3 candidate pages, so that is inside its fetch_articles.
STALL_AFTER_PAGES = "2"


# --- the private cluster ---------------------------------------------------------------



def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    path = found[-1] if found else shutil.which(name)
    if not path:
        pytest.fail(f"no PostgreSQL server binary {name!r}: the outage tests need "
                    "initdb and pg_ctl (Debian: postgresql-15)")
    return path


def as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root (as in scripts/dbctl.py)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def real_clock() -> dict[str, str]:
    """This environment without libfaketime: the server runs on the real clock, as the
    shared one does when the date-sensitive tests run a year ahead (faketime's timers also
    kept the server's client-connection check from firing)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("LD_PRELOAD", "FAKETIME", "DYLD_INSERT_LIBRARIES")
            and not k.startswith("FAKETIME_")}


class PrivateCluster:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<port>, trust auth."""

    TEMPLATE = "nichiro_outage_template"

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.data, self.log = home / "data", home / "postgres.log"

    def _ctl(self, *args: str) -> None:
        cmd = as_postgres_user([pg_bin("pg_ctl"), "-D", str(self.data), *args])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=real_clock())
        if done.returncode != 0:
            log = self.log.read_text("utf-8", "replace")[-3000:] if self.log.exists() else ""
            pytest.fail(f"pg_ctl {' '.join(args)} failed: {done.stderr}{done.stdout}\n{log}")

    def init(self) -> None:
        subprocess.run(as_postgres_user([
            pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        ]), check=True, capture_output=True, timeout=120, env=real_clock())

    def start(self) -> None:
        # fsync=off only skips flushing the OS cache: a stopped (even -m immediate) server
        # loses nothing. synchronous_commit stays on, or a commit could be lost.
        self._ctl("-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} "
                  "-c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-t", "60", "-m", mode, "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A new, migrated news database (a copy of the migrated template)."""
        admin = connect(self.url())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self.TEMPLATE)))
        admin.close()
        return self.url(name)


def connect(url: str, **kwargs: Any) -> Any:
    """Every connection has a connect timeout: a test never hangs on a stopped server."""
    return psycopg2.connect(url, connect_timeout=5, **kwargs)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    # Not pytest's tmp_path: the server runs as `postgres`, which must reach the folder.
    home = Path(tempfile.mkdtemp(prefix="nichiro-outage-pg-"))
    home.chmod(0o755)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(home, pw.pw_uid, pw.pw_gid)
    pg = PrivateCluster(home, free_port())
    try:
        pg.init()
        pg.start()
        admin = connect(pg.url())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(pg.TEMPLATE)))
        admin.close()
        conn = connect(pg.url(pg.TEMPLATE))
        try:
            migrate(conn)
        finally:
            conn.close()
        yield pg
    finally:
        if pg.running():
            subprocess.run(as_postgres_user([pg_bin("pg_ctl"), "-D", str(pg.data), "-m",
                                             "immediate", "stop"]),
                           capture_output=True, timeout=60, env=real_clock())
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def feed_kinds() -> tuple[str, ...]:
    """Which kinds of the sample site's sources are in the catalog (parametrize to narrow)."""
    return ("rss", "search")


@pytest.fixture
def databases(
    cluster: PrivateCluster, site: Any, feed_kinds: tuple[str, ...],
) -> tuple[str, str]:
    """(baseline URL, outage URL): the baseline holds an undisturbed run of the site.

    The cluster is up (a test that failed half-way may have left it stopped).
    """
    header, *blocks = site.catalog.read_text("utf-8").split("[[source]]")
    kept = [b for b in blocks if any(f'kind = "{k}"' in b for k in feed_kinds)]
    site.catalog.write_text("[[source]]".join([header, *kept]), "utf-8")
    if not cluster.running():
        cluster.start()
    baseline = cluster.create_database("baseline")
    conn = connect(baseline)
    try:
        with fetcher() as http:
            stage_run(conn, RUN_ID, http)
        counts = load_run(conn, RUN_ID)
    finally:
        conn.close()
    assert counts["new"] > 3, f"the sample site should give several new articles: {counts}"
    return baseline, cluster.create_database("outage")


# --- what a run leaves behind ----------------------------------------------------------

SNAPSHOT = {
    "articles": "SELECT url, title, content_hash, source, relevant FROM articles",
    "article_urls": "SELECT u.url, u.kind, a.url FROM article_urls u "
                    "JOIN articles a ON a.id = u.article_id",
    "article_tags": "SELECT a.url, t.tag FROM article_tags t JOIN articles a "
                    "ON a.id = t.article_id",
    "raw_pages": "SELECT a.url, r.url, r.size_bytes FROM raw_pages r JOIN articles a "
                 "ON a.id = r.article_id",
    "article_revisions": "SELECT article_id, revision FROM article_revisions",
    "feed_entries": "SELECT s.name, e.guid, e.url, e.candidate, a.url FROM feed_entries e "
                    "JOIN sources s ON s.id = e.source_id "
                    "LEFT JOIN articles a ON a.id = e.article_id",
    "staged": "SELECT s.name, st.url, st.status, st.outcome, st.loaded_at IS NOT NULL, "
              "a.url FROM staged_articles st JOIN sources s ON s.id = st.source_id "
              "LEFT JOIN articles a ON a.id = st.article_id",
}


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Whole rows, sorted lists (not sets), so a duplicate row shows as a difference."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            out = {}
            for name, query in SNAPSHOT.items():
                cur.execute(query)
                out[name] = sorted(cur.fetchall(), key=repr)
        return out
    finally:
        conn.close()


def assert_same_rows(outage: str, baseline: str) -> None:
    got, want = snapshot(outage), snapshot(baseline)
    got_urls, want_urls = {r[0] for r in got["articles"]}, {r[0] for r in want["articles"]}
    assert len(got["articles"]) == len(want["articles"]) > 0, (
        f"articles missing: {sorted(want_urls - got_urls)}, extra: {sorted(got_urls - want_urls)}")
    assert len(got_urls) == len(got["articles"]), "duplicate URL"
    assert len({row[2] for row in got["articles"]}) == len(got["articles"]), (
        "the same text stored twice")
    for table in SNAPSHOT:
        assert got[table] == want[table], f"{table} differs from the undisturbed run"


def scalar(url: str, query: str, *args: Any) -> Any:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchone()[0]
    finally:
        conn.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Poll `check` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for: {what}")
        time.sleep(0.02)


def staged(url: str) -> Any:
    """A connection to `url` after the run's fetch steps staged the sample site in it."""
    conn = connect(url)
    with fetcher() as http:
        stage_run(conn, RUN_ID, http)
    return conn


def retried_load_matches(baseline: str, url: str) -> None:
    """Airflow's retry of the load task: the same counts and rows as the undisturbed run."""
    retry = connect(url)
    try:
        counts = load_run(retry, RUN_ID)
    finally:
        retry.close()
    assert counts == baseline_counts(baseline)
    assert_same_rows(url, baseline)


def nothing_loaded(url: str) -> None:
    """No trace of a batch that did not commit."""
    assert scalar(url, "SELECT count(*) FROM articles") == 0, "a partial batch was committed"
    assert scalar(url, "SELECT count(*) FROM article_urls") == 0
    assert scalar(url, "SELECT count(*) FROM staged_articles WHERE loaded_at IS NOT NULL "
                       "OR outcome IS NOT NULL") == 0
    assert scalar(url, "SELECT count(*) FROM feed_entries WHERE article_id IS NOT NULL") == 0


def lock_feed_entry(url: str, position: int) -> Any:
    """Row-lock the feed entry of the staged row load_run reaches `position`-th; returns the
    open connection.

    load_run links feed entries to their articles last, after writing every article, all
    in one transaction: with this lock held it stops there, everything written, uncommitted.
    """
    holder = connect(url)
    pending = staging.pending_staged(holder, RUN_ID)
    assert len(pending) > position, f"only {len(pending)} staged rows to load"
    entry_id = pending[position]["entry_id"]
    assert entry_id is not None
    holder.rollback()  # pending_staged locked the staged rows: let them go
    with holder.cursor() as cur:
        cur.execute("SELECT id FROM feed_entries WHERE id = %s FOR UPDATE", (entry_id,))
    return holder  # the transaction stays open


def load_waiting_on_lock(cluster: PrivateCluster, app_name: str) -> Callable[[], bool]:
    """Whether the loader's session waits for our row lock, inside a transaction that wrote."""
    def check() -> bool:
        conn = connect(cluster.url("outage"))
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT wait_event_type, backend_xid IS NOT NULL, query "
                    "FROM pg_stat_activity WHERE application_name = %s", (app_name,))
                row = cur.fetchone()
        finally:
            conn.close()
        return bool(row and row[0] == "Lock" and row[1]
                    and "UPDATE feed_entries" in row[2])
    return check


def db_error_in_chain(exc: BaseException | None) -> psycopg2.OperationalError | None:
    """The OperationalError that `exc` is, or was raised while handling."""
    while exc is not None:
        if isinstance(exc, psycopg2.OperationalError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def baseline_counts(url: str) -> dict[str, int]:
    """The baseline load's counts, from its staged outcomes."""
    counts = {"new": 0, "updated": 0, "unchanged": 0, "duplicate": 0}
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT outcome, count(*) FROM staged_articles "
                        "WHERE run_id = %s AND outcome IS NOT NULL GROUP BY outcome", (RUN_ID,))
            counts.update(dict(cur.fetchall()))
    finally:
        conn.close()
    return counts


# --- PostgreSQL stopped -----------------------------------------------------------------

def test_pg_stopped_before_load_fails_cleanly_and_retry_completes(
    cluster: PrivateCluster, databases: tuple[str, str],
) -> None:
    baseline, outage = databases
    conn = staged(outage)
    cluster.stop("fast")  # an administrator restarts PostgreSQL just before the load task

    with pytest.raises(psycopg2.Error) as failure:
        load_run(conn, RUN_ID)
    conn.close()
    assert db_error_in_chain(failure.value) is not None, failure.value
    # A retry while the server is still down fails at once too (connect_timeout bounds it).
    with pytest.raises(psycopg2.OperationalError):
        connect(outage)

    cluster.start()
    nothing_loaded(outage)
    retried_load_matches(baseline, outage)


def test_pg_crash_mid_load_rolls_back_the_batch_and_retry_completes(
    cluster: PrivateCluster, databases: tuple[str, str],
) -> None:
    baseline, outage = databases
    conn = staged(outage)
    conn.close()
    holder = lock_feed_entry(outage, position=4)

    outcome: dict[str, Any] = {}

    def load() -> None:
        # lock_timeout: should the server not go away, the loader gives up instead of hanging
        loader = connect(outage, application_name=LOADER_APP,
                         options=f"-c lock_timeout={int(WAIT_S * 1000)}")
        try:
            outcome["counts"] = load_run(loader, RUN_ID)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc
        finally:
            loader.close()

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    wait_for("load_run to write every article and block on a feed entry",
             load_waiting_on_lock(cluster, LOADER_APP))
    cluster.stop("immediate")  # a crash: no clean shutdown, the open transaction dies
    thread.join(WAIT_S)
    assert not thread.is_alive(), "load_run hung after PostgreSQL went away"
    holder.close()
    assert "counts" not in outcome, f"load_run returned {outcome.get('counts')} without a server"
    assert db_error_in_chain(outcome["error"]) is not None, repr(outcome["error"])

    cluster.start()  # crash recovery
    nothing_loaded(outage)
    retried_load_matches(baseline, outage)


def test_lost_server_surfaces_as_operational_error(
    cluster: PrivateCluster, databases: tuple[str, str],
) -> None:
    _, outage = databases
    conn = connect(outage)
    cluster.stop("fast")
    try:
        with pytest.raises(psycopg2.OperationalError):
            load_run(conn, RUN_ID)
    finally:
        conn.close()
        cluster.start()


# --- a connection that drops silently ---------------------------------------------------

@contextlib.contextmanager
def silently_dropped(server_port: int, client_port: int) -> Iterator[None]:
    """Every packet of one TCP connection on 127.0.0.1 discarded, both ways: no FIN, no RST,
    as when a network partitions or a host vanishes. Other connections are untouched."""
    iptables = shutil.which("iptables")
    if iptables is None or os.geteuid() != 0:
        pytest.fail("dropping a connection silently needs root and iptables "
                    "(Debian: iptables; `make test` installs it)")
    rules = [["-p", "tcp", "-s", "127.0.0.1", "--sport", str(a), "--dport", str(b), "-j", "DROP",
              "-m", "comment", "--comment", f"nichiro-test-{os.getpid()}"]
             for a, b in ((client_port, server_port), (server_port, client_port))]
    added = []
    try:
        for rule in rules:
            subprocess.run([iptables, "-I", "INPUT", *rule], check=True, capture_output=True)
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run([iptables, "-D", "INPUT", *rule], check=True, capture_output=True)


def test_a_connection_dropped_silently_mid_load_is_given_up_on_both_ends_and_retry_completes(
    cluster: PrivateCluster, databases: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The load's session as a task opens it (plugins/nichiro_db.py), with short TCP limits:
    its keepalives end the load with an error instead of a wait for ever, and the server's
    keepalives and connection check end its backend, whose load lock and row locks would
    otherwise block the retry until some timeout minutes later."""
    from nichiro_db import connection_kwargs

    baseline, outage = databases
    conn = staged(outage)
    conn.close()
    holder = lock_feed_entry(outage, position=4)
    limits = {"IDLE_S": 1, "INTERVAL_S": 1, "COUNT": 2}
    for name, value in limits.items():
        monkeypatch.setenv(f"NICHIRO_DB_KEEPALIVE_{name}", str(value))
    monkeypatch.setenv("NICHIRO_DB_TCP_USER_TIMEOUT_MS", "3000")
    monkeypatch.setenv("NICHIRO_DB_CLIENT_CHECK_INTERVAL_MS", "500")
    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_DB", outage)
    # noticed within idle + interval x count, plus a margin for polling and a busy machine
    bound = limits["IDLE_S"] + limits["INTERVAL_S"] * limits["COUNT"] + 3

    outcome: dict[str, Any] = {}

    def load() -> None:
        loader = psycopg2.connect(**{**connection_kwargs(), "application_name": LOADER_APP})
        try:
            outcome["counts"] = load_run(loader, RUN_ID)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc
        finally:
            outcome["ended"] = time.monotonic()
            loader.close()

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    wait_for("load_run to write every article and block on a feed entry",
             load_waiting_on_lock(cluster, LOADER_APP))
    backend = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{LOADER_APP}'"
    client_port = scalar(outage, "SELECT client_port FROM pg_stat_activity "
                                 "WHERE application_name = %s", LOADER_APP)
    with silently_dropped(cluster.port, client_port):
        dropped_at = time.monotonic()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "load_run hung on a dropped connection"
        assert "counts" not in outcome, f"load_run returned {outcome.get('counts')}"
        assert db_error_in_chain(outcome["error"]) is not None, repr(outcome["error"])
        assert outcome["ended"] - dropped_at < bound, (
            f"the client noticed after {outcome['ended'] - dropped_at:.1f} s")
        # the server ends the backend while the lock it waits for is still held
        wait_for("the server to end the dropped session's backend",
                 lambda: scalar(outage, backend) == 0, timeout=bound)
        server_done = time.monotonic() - dropped_at
    holder.close()
    print(f"[outages] dropped connection: client gave up in "
          f"{outcome['ended'] - dropped_at:.1f} s, server in {server_done:.1f} s (bound {bound} s)")
    nothing_loaded(outage)
    retried_load_matches(baseline, outage)


# --- a task SIGKILLed -------------------------------------------------------------------

def worker(db: str, state: Path, *args: str) -> subprocess.Popen[str]:
    """outage_worker in a fresh process (its environment names the site's catalog)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.outage_worker", "--db", db,
         "--run-id", RUN_ID, "--state", str(state), *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    try:
        out, err = proc.communicate(timeout=WAIT_S * 2)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the worker did not finish in {WAIT_S * 2:.0f} s:\n{err[-3000:]}")
    assert proc.returncode == 0, f"worker exited {proc.returncode}:\n{err[-3000:]}"
    return out


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=WAIT_S)
    assert proc.returncode == -signal.SIGKILL


def staged_count(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM staged_articles WHERE run_id = %s", RUN_ID))


def pages_staged(proc: subprocess.Popen[str], url: str, n: int) -> Callable[[], bool]:
    """Whether the live worker has staged `n` pages (failing at once if it ended)."""
    def check() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the worker ended (exit {proc.returncode}) before it was killed:\n"
                        f"{proc.communicate()[1][-3000:]}")
        return staged_count(url) >= n
    return check


def loaded_counts(out: str) -> dict[str, int]:
    """The load_run counts the worker printed last."""
    counts: dict[str, int] = json.loads(out.strip().splitlines()[-1])["load"]
    return counts


def test_sigkill_mid_fetch_articles_then_retry_gives_the_undisturbed_rows(
    databases: tuple[str, str], tmp_path: Path,
) -> None:
    baseline, outage = databases
    state = tmp_path / "progress.jsonl"
    proc = worker(outage, state, "--stall-after-pages", STALL_AFTER_PAGES)
    wait_for("the worker to stage 2 pages", pages_staged(proc, outage, 2))
    kill(proc)

    killed = Progress.read(state)
    assert killed.sources and killed.feeds, "killed before any feed was fetched"
    assert not killed.articles and killed.load is None, (
        f"killed too late: fetch_articles finished for sources {killed.articles}")
    assert staged_count(outage) == 2 < staged_count(baseline)
    nothing_loaded(outage)

    # Airflow retries the killed fetch_articles (its fetch_feed's XCom kept) and runs
    # the tasks that had not started; a fresh process, the same run_id.
    finish(worker(outage, state, "--resume"))
    assert_same_rows(outage, baseline)
    assert scalar(outage, "SELECT count(*) FROM feed_fetches WHERE finished_at IS NULL") == 0


@pytest.mark.parametrize("feed_kinds", [("rss",)])  # no search feed to bring them in anyway
def test_sigkill_mid_fetch_articles_then_whole_run_cleared(
    databases: tuple[str, str], tmp_path: Path,
) -> None:
    baseline, outage = databases
    state = tmp_path / "progress.jsonl"
    proc = worker(outage, state, "--stall-after-pages", STALL_AFTER_PAGES)
    wait_for("the worker to stage 2 pages", pages_staged(proc, outage, 2))
    kill(proc)
    assert not Progress.read(state).articles, "killed after fetch_articles finished"
    # "Clear" the DAG run in the UI: every task runs again, same run_id, fresh process.
    finish(worker(outage, tmp_path / "second.jsonl"))
    assert_same_rows(outage, baseline)


def test_sigkill_mid_load_then_retry_gives_the_undisturbed_rows(
    cluster: PrivateCluster, databases: tuple[str, str], tmp_path: Path,
) -> None:
    baseline, outage = databases
    state = tmp_path / "progress.jsonl"
    conn = connect(outage)
    with fetcher() as http:
        stage_run(conn, RUN_ID, http, Progress(state))  # staging done; load still to run
    conn.close()
    holder = lock_feed_entry(outage, position=4)
    proc = worker(outage, state, "--resume", "--app-name", LOADER_APP)
    blocked = load_waiting_on_lock(cluster, LOADER_APP)

    def worker_blocked() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the worker ended (exit {proc.returncode}) before it was killed:\n"
                        f"{proc.communicate()[1][-3000:]}")
        return blocked()

    try:
        wait_for("the worker's load_run to write every article and block on a feed entry",
                 worker_blocked)
    finally:
        if proc.poll() is None:
            kill(proc)
    holder.rollback()  # the dead client's backend proceeds, finds its client gone, aborts
    holder.close()
    wait_for("the killed worker's session to end",
             lambda: scalar(outage, "SELECT count(*) = 0 FROM pg_stat_activity "
                                    "WHERE application_name = %s", LOADER_APP))
    nothing_loaded(outage)

    assert loaded_counts(finish(worker(outage, state, "--resume"))) == baseline_counts(baseline)
    assert_same_rows(outage, baseline)


# --- a full disk ------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(cluster: PrivateCluster) -> Iterator[Path]:
    """A 24 MB tmpfs, owned by `postgres`, for a tablespace that can really fill up.

    Needs root (mount); elsewhere the test is skipped and says why.
    """
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk is simulated with a tmpfs mount, which needs root")
    mountpoint = Path(tempfile.mkdtemp(prefix="nichiro-tiny-disk-"))
    pw = pwd.getpwnam("postgres")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size=24m,mode=0700,uid={pw.pw_uid},gid={pw.pw_gid}",
         "nichiro-tiny-disk", str(mountpoint)], capture_output=True, text=True)
    if done.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    try:
        yield mountpoint
    finally:
        if not cluster.running():
            cluster.start()
        admin = connect(cluster.url())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS full_disk WITH (FORCE)")
            cur.execute("DROP TABLESPACE IF EXISTS tiny_disk")
        admin.close()
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        mountpoint.rmdir()


def fill(disk: Path, most: int = 64 << 20) -> Path:
    """Write a file until the disk is full (what another process's log might do).

    Only on the test's own mount, and never more than `most` bytes: a mistake here must
    not fill the machine's real disk.
    """
    assert os.path.ismount(disk), f"{disk} is not the test's tmpfs"
    filler = disk / "filler"
    written = 0
    with open(filler, "wb") as f:
        try:
            while written < most:
                f.write(b"\0" * 65536)
                f.flush()
                written += 65536
        except OSError:
            return filler
    pytest.fail(f"{disk} did not fill up after {most} bytes")


def test_full_disk_during_load_is_a_clear_error_and_loses_nothing(
    cluster: PrivateCluster, databases: tuple[str, str], tiny_disk: Path,
) -> None:
    """The news database's disk fills up between staging and the load: the load fails with
    PostgreSQL's "No space left on device", commits nothing, and once space is freed the
    retried load gives the undisturbed run's rows."""
    baseline, _ = databases
    admin = connect(cluster.url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE TABLESPACE tiny_disk LOCATION {}").format(
            sql.Literal(str(tiny_disk))))
        cur.execute(sql.SQL("CREATE DATABASE full_disk TEMPLATE {} TABLESPACE tiny_disk")
                    .format(sql.Identifier(cluster.TEMPLATE)))
    admin.close()
    url = cluster.url("full_disk")
    conn = staged(url)
    filler = fill(tiny_disk)

    with pytest.raises(psycopg2.errors.DiskFull, match="No space left on device"):
        load_run(conn, RUN_ID)
    assert not conn.closed  # the server is fine; only the transaction failed
    conn.close()
    nothing_loaded(url)
    assert scalar(url, "SELECT count(*) FROM staged_articles WHERE status = 'extracted'") > 3

    filler.unlink()  # the operator frees space; Airflow retries the task
    retried_load_matches(baseline, url)
