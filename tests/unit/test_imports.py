"""What each kind of task imports: a task runs in a process of its own, so a module its
step does not use is pure start-up cost there (docs/benchmarks.md, "Imports per task").

Each check runs in a fresh interpreter and looks at `sys.modules`; no timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("trafilatura", "numpy", "lxml", "httpx", "feedparser", "bs4")
_PROBE = """
import json, sys
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy})))
"""


def _imported(code: str) -> set[str]:
    """The packages among HEAVY that running `code` leaves imported."""
    out = subprocess.run(
        [sys.executable, "-c", code + "\n" + _PROBE.format(heavy=set(HEAVY))],
        cwd=REPO, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(("task", "code", "expected"), [
    ("migrate", "from scrapers.db.migrate import migrate", set()),
    ("summary", "from scrapers.report import format_summary, run_note, summary_lines\n"
                "from scrapers.db.store import run_summary", set()),
    ("digest", "from scrapers.db.digest import refresh_digest\n"
               "from scrapers.db.search import index_all", set()),
    ("fetch_feed", "from scrapers.pipeline import fetch_feed, sync_catalog", {"httpx"}),
])
def test_a_task_imports_only_what_its_step_uses(task: str, code: str,
                                                expected: set[str]) -> None:
    assert _imported(code) == expected, task


def test_feed_parsing_imports_its_parser_when_it_runs() -> None:
    assert {"feedparser", "bs4"} <= _imported("from scrapers.feeds import parse_feed_detailed")


def test_extraction_imports_what_it_needs_when_it_runs() -> None:
    assert {"trafilatura", "lxml", "numpy"} <= _imported(
        "from scrapers.extract.body import extract_article\n"
        "from scrapers.db.loader import minhash_field")


def test_the_package_names_still_resolve() -> None:
    """The package's re-exports are lazy (PEP 562) but whole."""
    import scrapers
    from scrapers.extract.body import extract_article
    from scrapers.text.urls import canonicalize_url

    assert scrapers.extract_article is extract_article
    assert scrapers.canonicalize_url is canonicalize_url
    assert set(scrapers.__all__) <= set(dir(scrapers))
    for name in scrapers.__all__:
        assert getattr(scrapers, name) is not None, name
    with pytest.raises(AttributeError):
        _ = scrapers.no_such_name  # type: ignore[attr-defined]
