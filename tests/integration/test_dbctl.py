"""`scripts/dbctl.py`: with nothing answering at the URL, a private cluster is started."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest

from tests.support import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]




def test_private_cluster_started_when_nothing_answers() -> None:
    # Not pytest's tmp_path: the cluster runs as `postgres`, which must reach the folder.
    home = Path(tempfile.mkdtemp(prefix="nichiro-pg-"))
    home.chmod(0o755)
    port = free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/nichiro_private"
    env = {**os.environ, "NICHIRO_PGDATA": str(home / "pgdata")}
    dbctl = [sys.executable, str(REPO / "scripts" / "dbctl.py")]
    try:
        out = subprocess.run([*dbctl, "ensure", "--db", url], env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr + out.stdout
        assert "creating a private PostgreSQL cluster" in out.stdout
        assert "created database nichiro_private" in out.stdout
        conn = psycopg2.connect(url)
        with conn.cursor() as cur:
            cur.execute("SHOW data_directory")
            assert cur.fetchone()[0] == str(home / "pgdata")
        conn.close()
        again = subprocess.run([*dbctl, "ensure", "--db", url], env=env, capture_output=True,
                               text=True, timeout=60, check=True)
        assert "creating" not in again.stdout and "created" not in again.stdout
    finally:
        subprocess.run([*dbctl, "stop"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=2)
