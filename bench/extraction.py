"""Benchmark article extraction: main-text precision/recall/F1, speed and metadata accuracy.

Usage::

    python bench/extraction.py [--set readability|newspaper4k|ours|all] [--limit N]

Three extractors run on every page, in the same process, interleaved page by page so that
machine load affects them alike:

- ``extract_article`` (this project);
- trafilatura alone, ``trafilatura.extract(page_bytes, url=url)`` with its defaults;
- a plain BeautifulSoup baseline: ``get_text()`` of the whole page after dropping ``<script>``,
  ``<style>``, ``<noscript>`` and ``<template>`` (code is not text in any reading).

Evaluation sets (kept apart in the report, then pooled as "all"):

- ``readability``: ../shared/datasets/readability-test-pages, 130 pages; the reference body is
  the text of ``expected.html`` (Mozilla Readability's output, reviewed by that project);
  metadata from ``expected-metadata.json`` (title, byline, lang, siteName, publishedTime).
- ``newspaper4k``: ../shared/datasets/newspaper4k-pages, 23 pages; reference body
  ``expected.txt``; metadata from ``expected-metadata.json`` where present (title, authors,
  publish_date, language, canonical_link, meta_site_name, and meta_keywords as the tags the
  page states). These are newspaper4k's own
  outputs, kept in its test suite, so some "expected" authors are wrong (e.g. a Facebook URL):
  read metadata figures on this set as agreement with newspaper4k.
- ``ours``: tests/fixtures/pages, each ``<name>.html`` with ``<name>.expected.json``; the
  reference body is the ``paragraphs`` list, metadata the ``fields`` it states.

Tokens (bag-of-tokens scores, as in the ScrapingHub/trafilatura benchmarks): text is
NFKC-normalised and case-folded; every character of a script written without spaces (Han,
kana, Hangul, Thai, Lao, Myanmar, Khmer) is one token; everything else is split on
whitespace, with punctuation stripped from both ends of each word; tokens that are only
punctuation are dropped. Precision = |pred ∩ ref| / |pred|, recall = |pred ∩ ref| / |ref|
(multiset intersection). A page where the extractor returns nothing scores P = R = F1 = 0
(1 if the reference is empty too). "mean" averages the per-page scores; "micro" pools the
token counts of all pages of a set.

Timing: wall time of each call (``time.perf_counter``), bytes in → text out, after one warm-up
call per extractor; each call is repeated ``--repeat`` times (default 3) and the fastest kept,
so that other load on the machine does not decide the ratio. Reported: pages per second
(pages / summed time), median ms per page, and the ratio of medians extract_article /
trafilatura.

Metadata: per-field accuracy of ``extract_article`` (and of trafilatura's own metadata, from a
separate, untimed ``bare_extraction(with_metadata=True)`` call, for comparison), counted only
on pages whose reference states the field. Titles and names compare after NFKC, case folding
and whitespace collapsing; authors as sets (the reference byline split on commas, "and", "&";
a leading "By" dropped); dates as instants when the reference states a time with an offset,
else as calendar days; languages as their primary subtag; URLs exactly (trailing slash aside);
tags as "every reference tag found" (a page may state more: section, article:tag, JSON-LD).

Results are printed and written to bench/results/extraction-<YYYY-MM-DD>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import lxml.html  # noqa: E402
import trafilatura  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from scrapers.extract.body import extract_article  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
FIXTURES = REPO / "tests" / "fixtures" / "pages"
OUTLETS = REPO / "tests" / "fixtures" / "outlets"
RESULTS = REPO / "bench" / "results"
SETS = ("readability", "newspaper4k", "ours", "outlets")
#: Real pages from many sites, with references reviewed by other projects: the target set.
REAL_WORLD_SETS = ("readability", "newspaper4k")
EXTRACTORS = ("extract_article", "trafilatura", "bs4_get_text")
#: Scored on the outlets set only: the generic path alone, to show each site adapter's gain.
GENERIC = "generic_path"
META_FIELDS = ("title", "authors", "published", "language", "canonical_url", "site_name",
               "tags")
#: Readability's tests resolve relative links against this address.
READABILITY_URL = "http://fakehost/test/page.html"

NO_SPACE_SCRIPTS = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"  # Hangul
)
TOKEN = re.compile(rf"[{NO_SPACE_SCRIPTS}]|[^\s{NO_SPACE_SCRIPTS}]+")
PUNCT_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
BYLINE_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\bи\b|・|、)\s*", re.IGNORECASE)
BY_PREFIX = re.compile(r"^\s*(?:by|written by|posted by)\s+", re.IGNORECASE)


# -- data ---------------------------------------------------------------------------------------
@dataclass
class Page:
    set_name: str
    name: str
    data: bytes
    url: str
    content_type: str | None
    reference: str
    meta: dict[str, Any] = field(default_factory=dict)


def html_fragment_text(fragment: str) -> str:
    """Text of an HTML fragment with block elements on lines of their own."""
    if not fragment.strip():
        return ""
    root = lxml.html.fromstring(fragment)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            element.text = "\n" + (element.text or "")
    return root.text_content()


def load_readability(root: Path) -> Iterator[Page]:
    for folder in sorted(p for p in root.iterdir() if (p / "source.html").exists()):
        meta_file = folder / "expected-metadata.json"
        raw = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        meta = {
            "title": raw.get("title"),
            "authors": _split_byline(raw.get("byline")),
            "published": raw.get("publishedTime"),
            "language": raw.get("lang"),
            "site_name": raw.get("siteName"),
        }
        yield Page(
            "readability",
            folder.name,
            (folder / "source.html").read_bytes(),
            READABILITY_URL,
            None,
            html_fragment_text((folder / "expected.html").read_text(encoding="utf-8")),
            meta,
        )


def load_newspaper4k(root: Path) -> Iterator[Page]:
    for folder in sorted(p for p in root.iterdir() if (p / "source.html").exists()):
        meta_file = folder / "expected-metadata.json"
        raw = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        url = raw.get("url") or f"https://{folder.name}.example/article.html"
        canonical = raw.get("canonical_link") or None
        if canonical and not canonical.startswith("http"):
            canonical = None  # a bare id, not a URL
        meta = {
            "title": raw.get("title"),
            "authors": raw.get("authors") or None,
            "published": raw.get("publish_date"),
            "language": raw.get("language") or raw.get("meta_lang") or None,
            "canonical_url": canonical,
            "site_name": raw.get("meta_site_name") or None,
            # the page's own <meta name=keywords>, as newspaper4k read it
            "tags": [k for k in raw.get("meta_keywords") or [] if k.strip()] or None,
        }
        yield Page(
            "newspaper4k",
            folder.name,
            (folder / "source.html").read_bytes(),
            url,
            None,
            (folder / "expected.txt").read_text(encoding="utf-8"),
            meta,
        )


def load_ours(root: Path, set_name: str = "ours") -> Iterator[Page]:
    for html_path in sorted(root.glob("*.html")):
        case = json.loads(
            html_path.with_name(html_path.stem + ".expected.json").read_text(encoding="utf-8")
        )
        fields = case.get("fields", {})
        if "paragraphs" not in fields:
            continue  # a page without a stated body (e.g. a listing) has nothing to score
        meta = {
            "title": fields.get("title"),
            "authors": fields.get("authors"),
            "published": fields.get("published_at"),
            "language": fields.get("language"),
            "canonical_url": fields.get("canonical_url"),
            "site_name": fields.get("site_name"),
            "tags": fields.get("tags") or None,
        }
        yield Page(
            set_name,
            html_path.stem,
            html_path.read_bytes(),
            case["url"],
            case.get("content_type"),
            "\n\n".join(fields["paragraphs"]),
            meta,
        )


LOADERS: dict[str, Callable[[], Iterator[Page]]] = {
    "readability": lambda: load_readability(DATASETS / "readability-test-pages"),
    "newspaper4k": lambda: load_newspaper4k(DATASETS / "newspaper4k-pages"),
    "ours": lambda: load_ours(FIXTURES),
    "outlets": lambda: load_ours(OUTLETS, "outlets"),
}


# -- extractors ---------------------------------------------------------------------------------
def run_extract_article(page: Page) -> str:
    return extract_article(page.data, page.url, page.content_type).text


def run_trafilatura(page: Page) -> str:
    return trafilatura.extract(page.data, url=page.url) or ""


def run_bs4(page: Page) -> str:
    soup = BeautifulSoup(page.data, "lxml")
    for element in soup(["script", "style", "noscript", "template"]):
        element.decompose()
    return soup.get_text("\n")


def run_generic_path(page: Page) -> str:
    return extract_article(page.data, page.url, page.content_type, use_adapters=False).text


RUNNERS: dict[str, Callable[[Page], str]] = {
    "extract_article": run_extract_article,
    "trafilatura": run_trafilatura,
    "bs4_get_text": run_bs4,
}


def runners_for(set_name: str) -> dict[str, Callable[[Page], str]]:
    return {**RUNNERS, GENERIC: run_generic_path} if set_name == "outlets" else RUNNERS


# -- scoring ------------------------------------------------------------------------------------
def tokens(text: str) -> Counter[str]:
    """Bag of tokens: one per character of unspaced scripts, else one per word."""
    text = unicodedata.normalize("NFKC", text).casefold()
    bag: Counter[str] = Counter()
    for token in TOKEN.findall(text):
        if len(token) > 1:
            token = PUNCT_EDGES.sub("", token)
        elif not token.isalnum():
            continue
        if token:
            bag[token] += 1
    return bag


def prf(overlap: int, predicted: int, reference: int) -> tuple[float, float, float]:
    if predicted == 0 or reference == 0:
        same = float(predicted == reference)
        return same, same, same
    precision, recall = overlap / predicted, overlap / reference
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1


def _norm(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _split_byline(byline: str | None) -> list[str] | None:
    if not byline:
        return None
    names = [BY_PREFIX.sub("", n) for n in BYLINE_SPLIT.split(byline)]
    return [n for n in (_norm(n) for n in names) if n] or None


def _parse_reference_date(value: str) -> tuple[datetime | date, bool]:
    """The reference date and whether it is an instant (time with offset)."""
    value = value.strip().replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", value) else value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.date(), False
    return parsed.astimezone(UTC), True


def meta_match(name: str, expected: Any, got: Any) -> bool:
    if got in (None, "", []):
        return False
    if name in ("title", "site_name"):
        return _norm(str(expected)) == _norm(str(got))
    if name == "authors":
        return {_norm(a) for a in expected} == {_norm(BY_PREFIX.sub("", a)) for a in got}
    if name == "tags":  # every tag the reference names is found (the page may state more)
        return {_norm(t) for t in expected} <= {_norm(t) for t in got}
    if name == "language":
        return str(expected).lower()[:2] == str(got).lower()[:2]
    if name == "canonical_url":
        return str(expected).rstrip("/") == str(got).rstrip("/")
    if name == "published":
        try:
            ref, instant = _parse_reference_date(str(expected))
        except ValueError:
            return False
        if isinstance(got, str):
            try:
                got = datetime.fromisoformat(got)
            except ValueError:
                return False
        if not isinstance(got, datetime):
            return False
        if got.tzinfo is None:
            got = got.replace(tzinfo=UTC)
        return got.astimezone(UTC) == ref if instant else got.date() == ref
    raise ValueError(name)


def article_meta(page: Page) -> dict[str, Any]:
    article = extract_article(page.data, page.url, page.content_type)
    return {
        "title": article.title,
        "authors": article.authors,
        "published": article.published_at,
        "language": article.language,
        "canonical_url": article.canonical_url,
        "site_name": article.site_name,
        "tags": article.tags,
    }


def trafilatura_meta(page: Page) -> dict[str, Any]:
    document = trafilatura.bare_extraction(
        page.data, url=page.url, with_metadata=True, as_dict=True
    )
    if not isinstance(document, dict):
        return {}
    author = document.get("author")
    return {
        "title": document.get("title"),
        "authors": [a.strip() for a in author.split(";")] if author else [],
        "published": document.get("date"),
        "language": document.get("language"),
        # trafilatura's "url" is the canonical link when the page has one, else the given URL
        "canonical_url": document.get("url"),
        "site_name": document.get("sitename"),
        # trafilatura gives each keywords tag as one comma-joined string
        "tags": [t.strip() for value in [*(document.get("tags") or []),
                                         *(document.get("categories") or [])]
                 for t in value.split(",") if t.strip()],
    }


# -- run ----------------------------------------------------------------------------------------
def evaluate(pages: list[Page], repeat: int = 3) -> dict[str, Any]:
    per_page: list[dict[str, Any]] = []
    runners = runners_for(pages[0].set_name)
    for runner in runners.values():  # warm-up (imports, caches)
        runner(pages[0])
    for page in pages:
        reference = tokens(page.reference)
        row: dict[str, Any] = {"set": page.set_name, "page": page.name}
        for name, runner in runners.items():
            elapsed = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                text = runner(page)
                elapsed = min(elapsed, time.perf_counter() - start)
            predicted = tokens(text)
            overlap = sum((predicted & reference).values())
            p, r, f = prf(overlap, sum(predicted.values()), sum(reference.values()))
            row[name] = {
                "precision": p,
                "recall": r,
                "f1": f,
                "overlap": overlap,
                "predicted": sum(predicted.values()),
                "reference": sum(reference.values()),
                "seconds": elapsed,
            }
        ours, theirs = article_meta(page), trafilatura_meta(page)
        row["meta"] = {}
        for key in META_FIELDS:
            expected = page.meta.get(key)
            if expected in (None, "", []):
                continue
            got = ours.get(key)
            row["meta"][key] = {
                "extract_article": meta_match(key, expected, got),
                "trafilatura": meta_match(key, expected, theirs.get(key)),
                "expected": expected,
                "got": got.isoformat() if isinstance(got, datetime) else got,
            }
        per_page.append(row)
    return {"pages": per_page}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"pages": len(rows)}
    names = [n for n in (*EXTRACTORS, GENERIC) if all(n in r for r in rows)]
    for name in names:
        scores = [r[name] for r in rows]
        seconds = [s["seconds"] for s in scores]
        overlap = sum(s["overlap"] for s in scores)
        mp, mr, mf = prf(
            overlap, sum(s["predicted"] for s in scores), sum(s["reference"] for s in scores)
        )
        summary[name] = {
            "precision_mean": statistics.fmean(s["precision"] for s in scores),
            "recall_mean": statistics.fmean(s["recall"] for s in scores),
            "f1_mean": statistics.fmean(s["f1"] for s in scores),
            "precision_micro": mp,
            "recall_micro": mr,
            "f1_micro": mf,
            "pages_per_second": len(rows) / sum(seconds) if sum(seconds) else 0.0,
            "median_ms": statistics.median(seconds) * 1000,
        }
    summary["median_ratio_extract_article_vs_trafilatura"] = (
        summary["extract_article"]["median_ms"] / summary["trafilatura"]["median_ms"]
    )
    meta: dict[str, Any] = {}
    for key in META_FIELDS:
        judged = [r["meta"][key] for r in rows if key in r["meta"]]
        if judged:
            meta[key] = {
                "n": len(judged),
                "extract_article": sum(j["extract_article"] for j in judged) / len(judged),
                "trafilatura": sum(j["trafilatura"] for j in judged) / len(judged),
            }
    summary["metadata"] = meta
    return summary


def print_summary(label: str, summary: dict[str, Any]) -> None:
    print(f"\n== {label}: {summary['pages']} pages")
    print(
        f"{'extractor':<16} {'P mean':>7} {'R mean':>7} {'F1 mean':>8} {'P micro':>8}"
        f" {'R micro':>8} {'F1 micro':>9} {'pages/s':>8} {'median ms':>10}"
    )
    for name in (n for n in (*EXTRACTORS, GENERIC) if n in summary):
        s = summary[name]
        print(
            f"{name:<16} {s['precision_mean']:>7.3f} {s['recall_mean']:>7.3f}"
            f" {s['f1_mean']:>8.3f} {s['precision_micro']:>8.3f} {s['recall_micro']:>8.3f}"
            f" {s['f1_micro']:>9.3f} {s['pages_per_second']:>8.1f} {s['median_ms']:>10.1f}"
        )
    ratio = summary["median_ratio_extract_article_vs_trafilatura"]
    print(f"median time ratio extract_article / trafilatura: {ratio:.2f}")
    if summary["metadata"]:
        print(f"{'metadata field':<16} {'n':>4} {'extract_article':>16} {'trafilatura':>12}")
        for key, m in summary["metadata"].items():
            print(f"{key:<16} {m['n']:>4} {m['extract_article']:>16.3f} {m['trafilatura']:>12.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="all")
    parser.add_argument("--limit", type=int, default=None, help="at most N pages per set")
    parser.add_argument(
        "--repeat", type=int, default=3, help="time each call N times, keep the fastest"
    )
    parser.add_argument(
        "--worst", type=int, default=0, help="also list the N pages with the lowest F1"
    )
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    chosen = SETS if args.set == "all" else (args.set,)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python bench/extraction.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "trafilatura_version": trafilatura.__version__,
        "sets": {},
    }
    all_rows: list[dict[str, Any]] = []
    for set_name in chosen:
        pages = list(LOADERS[set_name]())[: args.limit]
        if not pages:
            print(f"{set_name}: no pages found", file=sys.stderr)
            continue
        rows = evaluate(pages, args.repeat)["pages"]
        all_rows.extend(rows)
        summary = summarise(rows)
        report["sets"][set_name] = {"summary": summary, "pages": rows}
        print_summary(set_name, summary)
    real = [r for r in all_rows if r["set"] in REAL_WORLD_SETS]
    if len({r["set"] for r in real}) > 1:
        report["real_world"] = summarise(real)
        print_summary("real-world pages pooled (readability + newspaper4k)", report["real_world"])
    if len(report["sets"]) > 1:
        report["all"] = summarise(all_rows)
        print_summary("all sets pooled (with our own fixtures)", report["all"])
    if args.worst:
        print(f"\nlowest extract_article F1 (of {len(all_rows)}):")
        for row in sorted(all_rows, key=lambda r: r["extract_article"]["f1"])[: args.worst]:
            s, t = row["extract_article"], row["trafilatura"]
            print(
                f"  {row['set']:<12} {row['page']:<40} F1 {s['f1']:.3f} P {s['precision']:.3f}"
                f" R {s['recall']:.3f} | trafilatura F1 {t['f1']:.3f}"
            )

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"extraction-{datetime.now(UTC).date().isoformat()}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"\nwritten: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
