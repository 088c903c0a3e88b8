"""Relevance benchmark: precision, recall and F1 per language on the labelled sets.

Usage::

    .venv/bin/python bench/relevance.py [--set dev|heldout|all]
    .venv/bin/python bench/relevance.py --set relevance-dev [--part tune|test|all]

``dev`` is ``tests/fixtures/relevance/labelled.jsonl``, ``heldout`` is ``heldout.jsonl``,
``all`` both: the project's own items, written for it, which the rules were tuned on (the
held-out one too, by now). Each item has id, language, title, lead, relevant, reason,
hard_case and optionally the expected analyst ``tags``.

``relevance-dev`` is ../shared/datasets/relevance-dev/items.jsonl, real published items
read in place (never copied into the repository), split by source (`split_part`) into a
tuning part and a test part. The test part says how the rules do on text nobody tuned
on: it is scored once per rule change (docs/relevance.md keeps each score).

What is measured:

- stage 2 (the decision stored with an article): ``score_relevance(title, lead, lang)``,
  the lead standing in for the body;
- stage 1 (whether the pipeline fetches the page): ``score_relevance(title, "", lang,
  summary=lead)``, what a feed gives. Reported both as its own ``relevant`` decision and as
  ``is_fetch_candidate`` (the looser ``candidate_threshold``): the recall it keeps, and the
  share of items it does not fetch ("fetches saved"). A harsher row scores the title alone,
  for feeds whose entries carry no summary;
- two-stage recall: relevant items that are fetched *and* then confirmed;
- tags, on items that list them: exact-set accuracy and micro precision/recall.

It then lists every miss with its evidence, and every tag difference. Always exits 0: it
is a report, not a test (tests/unit/relevance/ holds the assertions).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from metrics import Counts  # noqa: E402

from scrapers.models import Relevance  # noqa: E402
from scrapers.relevance.rules import rules_dir  # noqa: E402
from scrapers.relevance.scoring import is_fetch_candidate, score_relevance  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "relevance"
RELEVANCE_DEV = ROOT.parent / "shared" / "datasets" / "relevance-dev" / "items.jsonl"
#: Fixed, so the test part is the same on every machine.
SPLIT_SALT = "nichiro-relevance-dev-2026-12-06"
SETS: dict[str, tuple[str, ...]] = {
    "dev": ("labelled.jsonl",),
    "heldout": ("heldout.jsonl",),
    "all": ("labelled.jsonl", "heldout.jsonl"),
}
LANGUAGES = ("en", "ja", "ru")


@dataclass
class Scored:
    item: dict[str, Any]
    stage2: Relevance
    stage1: Relevance
    title_only: Relevance
    candidate: bool
    title_candidate: bool


@dataclass
class TagCounts:
    items: int = 0
    exact: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    diffs: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    def add(self, item_id: str, expected: Iterable[str], got: Iterable[str]) -> None:
        want, have = set(expected), set(got)
        self.items += 1
        self.exact += want == have
        self.tp += len(want & have)
        self.fp += len(have - want)
        self.fn += len(want - have)
        if want != have:
            self.diffs.append((item_id, sorted(want - have), sorted(have - want)))


def load_items(names: Sequence[str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for name in names:
        path = FIXTURES / name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                item = json.loads(line)
                item["_source"] = f"{name}:{number}"
                items.append(item)
    return items


def split_part(items: Sequence[dict[str, Any]]) -> dict[str, str]:
    """source -> "tune" or "test": within each language, the sources in the order of a
    salted hash of their name, dealt alternately, the first to the tuning part. A source's
    items stay together, so the test part holds outlets the rules were not tuned on."""
    parts: dict[str, str] = {}
    for language in sorted({item["lang"] for item in items}):
        sources = sorted({item["source"] for item in items if item["lang"] == language}
                         - parts.keys(),
                         key=lambda s: hashlib.sha256(f"{SPLIT_SALT}:{s}".encode()).hexdigest())
        parts.update((source, ("tune", "test")[n % 2]) for n, source in enumerate(sources))
    return parts


def load_relevance_dev(part: str, path: Path = RELEVANCE_DEV) -> list[dict[str, Any]]:
    """The items of one part ("tune", "test" or "all") in this benchmark's item shape."""
    raw = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    parts = split_part(raw)
    return [{"id": r["id"], "language": r["lang"], "title": r["title"], "lead": r["text"],
             "relevant": bool(r["label"]), "reason": r.get("note") or "",
             "outlet": r["source"], "_source": f"relevance-dev:{r['id']}"}
            for r in raw if part == "all" or parts[r["source"]] == part]


def score(item: dict[str, Any]) -> Scored:
    language = item["language"]
    stage1 = score_relevance(item["title"], "", language, summary=item["lead"])
    title_only = score_relevance(item["title"], "", language)
    return Scored(
        item=item,
        stage2=score_relevance(item["title"], item["lead"], language),
        stage1=stage1,
        title_only=title_only,
        candidate=is_fetch_candidate(stage1, language),
        title_candidate=is_fetch_candidate(title_only, language),
    )


def _ratio(value: float) -> str:
    return f"{value:.3f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(header), *map(list, rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(results: list[Scored], set_name: str) -> str:
    groups: dict[str, list[Scored]] = {lang: [] for lang in LANGUAGES}
    for result in results:
        groups.setdefault(result.item["language"], []).append(result)
    groups["all"] = results

    out: list[str] = []
    out.append(f"Relevance benchmark: set={set_name}, rules={rules_dir()}")
    out.append("")
    out.append("Stage 2 (title + lead as body): the stored decision")
    rows = []
    for name, group in groups.items():
        counts = Counts()
        for r in group:
            counts.add(r.stage2.relevant, r.item["relevant"])
        rows.append(
            [
                name,
                str(counts.n),
                str(counts.tp + counts.fn),
                str(counts.fp),
                str(counts.fn),
                _ratio(counts.precision),
                _ratio(counts.recall),
                _ratio(counts.f1),
            ]
        )
    out.append(_table(["lang", "n", "relevant", "FP", "FN", "precision", "recall", "F1"], rows))

    out.append("")
    out.append(
        "Stage 1 (title + lead as feed summary): fetch decision. 'relevant' = the final"
        " threshold;\n'candidate' = is_fetch_candidate (candidate_threshold); saved = share"
        " of items not fetched;\ntwo-stage recall = relevant items fetched and then confirmed"
        " by stage 2."
    )
    rows = []
    for name, group in groups.items():
        as_relevant, as_candidate, title_candidate, two_stage = (
            Counts(),
            Counts(),
            Counts(),
            Counts(),
        )
        for r in group:
            actual = r.item["relevant"]
            as_relevant.add(r.stage1.relevant, actual)
            as_candidate.add(r.candidate, actual)
            title_candidate.add(r.title_candidate, actual)
            two_stage.add(r.candidate and r.stage2.relevant, actual)
        rows.append(
            [
                name,
                _ratio(as_relevant.precision),
                _ratio(as_relevant.recall),
                _ratio(1 - as_relevant.positive_share),
                _ratio(as_candidate.precision),
                _ratio(as_candidate.recall),
                _ratio(1 - as_candidate.positive_share),
                _ratio(two_stage.recall),
                _ratio(title_candidate.recall),
                _ratio(1 - title_candidate.positive_share),
            ]
        )
    out.append(
        _table(
            [
                "lang",
                "rel P",
                "rel R",
                "rel saved",
                "cand P",
                "cand R",
                "cand saved",
                "2-stage R",
                "title-only cand R",
                "title-only saved",
            ],
            rows,
        )
    )

    out.append("")
    out.append("Tags (items with expected tags; stage 2): exact = expected set == emitted set")
    rows = []
    all_diffs: list[tuple[str, list[str], list[str]]] = []
    for name, group in groups.items():
        tags = TagCounts()
        for r in group:
            if "tags" in r.item:
                tags.add(r.item["id"], r.item["tags"], r.stage2.tags)
        precision = tags.tp / (tags.tp + tags.fp) if tags.tp + tags.fp else 1.0
        recall = tags.tp / (tags.tp + tags.fn) if tags.tp + tags.fn else 1.0
        exact = tags.exact / tags.items if tags.items else 1.0
        rows.append([name, str(tags.items), _ratio(exact), _ratio(precision), _ratio(recall)])
        if name == "all":
            all_diffs = tags.diffs
    out.append(_table(["lang", "items", "exact", "tag P", "tag R"], rows))

    misses = [r for r in results if r.stage2.relevant is not r.item["relevant"]]
    out.append("")
    out.append(f"Misses (stage 2): {len(misses)}")
    for r in misses:
        item = r.item
        evidence = (
            ", ".join(f"{e.term}@{e.field}:{e.group}:{e.weight:g}" for e in r.stage2.evidence)
            or "-"
        )
        kind = item.get("hard_case") or item.get("outlet", "-")
        out.append(
            f"- {item['id']} [{item['language']}, {kind}] expected"
            f" {'relevant' if item['relevant'] else 'not relevant'}, got"
            f" {'relevant' if r.stage2.relevant else 'not relevant'} (score"
            f" {r.stage2.score:.3f})\n    label reason: {item['reason']}\n"
            f"    rules: {r.stage2.reason}\n    evidence: {evidence}"
        )
    lost = [r for r in results if r.item["relevant"] and not r.candidate]
    out.append("")
    out.append(f"Relevant items stage 1 would not fetch: {len(lost)}")
    for r in lost:
        out.append(f"- {r.item['id']} (stage-1 score {r.stage1.score:.3f}): {r.stage1.reason}")
    out.append("")
    out.append(f"Tag differences: {len(all_diffs)}")
    for item_id, missing, extra in all_diffs:
        out.append(
            f"- {item_id}: missing {', '.join(missing) or '-'}; extra {', '.join(extra) or '-'}"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=[*sorted(SETS), "relevance-dev"], default="all",
                        dest="set_name")
    parser.add_argument("--part", choices=["tune", "test", "all"], default="tune",
                        help="relevance-dev: which part (the test part once per rule change)")
    args = parser.parse_args(argv)
    try:
        if args.set_name == "relevance-dev":
            items = load_relevance_dev(args.part)
        else:
            items = load_items(SETS[args.set_name])
    except (OSError, json.JSONDecodeError) as exc:
        print(f"cannot read the labelled set: {exc}", file=sys.stderr)
        return 0
    name = f"{args.set_name}/{args.part}" if args.set_name == "relevance-dev" else args.set_name
    text = report([score(item) for item in items], name)
    try:
        print(text)
    except BrokenPipeError:  # `bench/relevance.py | head`: the reader left, nothing to do
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
