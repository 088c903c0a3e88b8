"""Story clusters on the test part of ../shared/datasets/wire-takes (real wire copies, read
in place): a floor under today's figures (docs/clusters.md, "Containment (issue 19)"), so a
change that loses real copies or joins real hard negatives fails here."""

from __future__ import annotations

import pytest

from scrapers.clusters import cluster_texts
from tests.conftest import REPO

#: Measured 1.000 and 0.324 (2026-12-06); the floor leaves room for one pair either way.
PRECISION_FLOOR, RECALL_FLOOR = 0.97, 0.29


def test_the_test_part_keeps_its_precision_and_recall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from clusters import load_wire_takes, pairwise  # bench/clusters.py

    articles = load_wire_takes("test")
    got = cluster_texts([{"title": a["title"], "text": a["body"], "language": a["language"],
                          "published_at": a["seen"]} for a in articles])
    scores, wrong = pairwise(articles, {a["id"]: g for a, g in zip(articles, got, strict=True)})
    total = scores["all"]
    assert total.tp + total.fn == 37  # every positive pair of the part is counted
    assert total.precision >= PRECISION_FLOOR, wrong
    assert total.recall >= RECALL_FLOOR, wrong
