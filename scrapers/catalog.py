"""The source catalog: which feeds the monitor reads, kept in one TOML file.

Why a file and not the database: adding or disabling a feed is a reviewed one-line change;
the ``load_sources`` task syncs the ``sources`` table from it on every run.

Format (``sources.toml`` at the repo root; its header repeats this)::

    [[source]]
    name = "The Moscow Times"     # required, unique: the source's identity in the database
    url = "https://www.themoscowtimes.com/rss/news"   # required, http(s), unique
    language = "en"               # required: en | ja | ru (selects the relevance rules)
    kind = "rss"                  # optional: "rss" (default, an outlet's own feed),
                                  # "search" (a search-engine feed naming each publisher) or
                                  # "gdelt" (GDELT's DOC API in this language: read by
                                  # backfills only, url = its endpoint)
    outlet = "The Moscow Times"   # optional display name (default: name)
    enabled = true                # optional (default: true)
    timezone = "Asia/Tokyo"       # optional IANA zone its times without an offset are in
                                  # (default by language: ja Asia/Tokyo, ru Europe/Moscow,
                                  # en UTC; an English outlet in Tokyo or Moscow says so)
    site = "https://www.themoscowtimes.com/"  # optional: the publisher's site, whose
                                  # sitemaps a backfill walks (default: the feed's host; a
                                  # path limits it to that section)

Path: the explicit argument, else ``$NICHIRO_SOURCES``, else the repo's ``sources.toml``.
Validation collects every problem (TOML syntax with its line, missing/unknown keys, wrong
types, unknown language or kind, non-http(s) URLs, duplicate names or URLs, an empty
catalog) and raises one :class:`CatalogError` listing them all, so a broken catalog is
fixed in one edit. :func:`load_catalog` returns disabled sources too, with
``enabled=False``: callers filter (the database sync needs them to disable rows).
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrapers.models import LANGUAGES, Source

LOGGER = logging.getLogger(__name__)

SOURCES_ENV = "NICHIRO_SOURCES"
DEFAULT_CATALOG = Path(__file__).resolve().parents[1] / "sources.toml"
KINDS: tuple[str, ...] = ("rss", "search", "gdelt")
#: Where a source names no `timezone`: Japanese outlets publish in Japan time and Russian
#: ones mostly in Moscow time; English ones are everywhere, so UTC.
DEFAULT_TIMEZONES: Mapping[str, str] = {"ja": "Asia/Tokyo", "ru": "Europe/Moscow"}

_TYPES: dict[str, type] = {
    "name": str,
    "url": str,
    "language": str,
    "kind": str,
    "outlet": str,
    "enabled": bool,
    "timezone": str,
    "site": str,
}
_REQUIRED: tuple[str, ...] = ("name", "url", "language")


class CatalogError(ValueError):
    """The source catalog is missing or invalid; the message lists every problem."""


def catalog_path(path: str | Path | None = None) -> Path:
    """The catalog in effect: `path`, else ``$NICHIRO_SOURCES``, else the repo's file."""
    if path is not None:
        return Path(path)
    override = os.environ.get(SOURCES_ENV)
    return Path(override) if override else DEFAULT_CATALOG


def load_catalog(path: str | Path | None = None) -> list[Source]:
    """Read and validate the source catalog; all sources, in file order.

    :param path: a catalog file; default :func:`catalog_path`.
    :raises CatalogError: the file is missing, is not TOML, or breaks the format; the
        message names the file and lists every problem.
    """
    resolved = catalog_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(
            f"{resolved}: source catalog not found (set {SOURCES_ENV} or pass a path)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{resolved}: cannot read the source catalog: {exc}") from exc
    sources = parse_catalog(text, origin=str(resolved))
    LOGGER.info(
        "source catalog %s: %d sources (%d enabled)",
        resolved,
        len(sources),
        sum(s.enabled for s in sources),
    )
    return sources


def parse_catalog(text: str, origin: str = "<catalog>") -> list[Source]:
    """Validate catalog TOML `text`; `origin` names it in errors. No I/O.

    :raises CatalogError: listing every problem, each prefixed by the source it concerns.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{origin}: TOML syntax error: {exc}") from exc

    problems: list[str] = []
    for key in sorted(set(data) - {"source"}):
        problems.append(f"unknown top-level key {key!r} (each feed is a [[source]] table)")
    tables = data.get("source", [])
    if not isinstance(tables, list):
        problems.append("'source' must be an array of tables: write [[source]], not [source]")
        tables = []
    if not tables:
        problems.append("the catalog has no sources: add at least one [[source]] table")

    sources: list[Source] = []
    first_by_name: dict[str, str] = {}
    first_by_url: dict[str, str] = {}
    for number, table in enumerate(tables, start=1):
        label = f"source #{number}"
        if not isinstance(table, dict):
            problems.append(f"{label}: must be a table ([[source]])")
            continue
        name, url = table.get("name"), table.get("url")
        if isinstance(name, str) and name.strip():
            label = f"source #{number} ({name.strip()!r})"
        source = _source(table, label, problems)
        # Duplicates are checked on the raw values, so a source with other problems is
        # still reported as a duplicate too.
        if isinstance(name, str) and name.strip():
            if name.strip() in first_by_name:
                problems.append(
                    f"{label}: duplicate name, already used by {first_by_name[name.strip()]}"
                )
            else:
                first_by_name[name.strip()] = label
        if isinstance(url, str) and url.strip():
            url_key = _url_key(url.strip())
            if url_key in first_by_url:
                problems.append(
                    f"{label}: duplicate url {url.strip()}, already used by {first_by_url[url_key]}"
                )
            else:
                first_by_url[url_key] = label
        if source is not None:
            sources.append(source)

    if problems:
        listing = "\n  - ".join(problems)
        raise CatalogError(
            f"{origin}: {len(problems)} problem(s) in the source catalog:\n  - {listing}"
        )
    return sources


def _source(table: dict[str, Any], label: str, problems: list[str]) -> Source | None:
    """One validated Source, or None after appending its problems."""
    before = len(problems)
    for key in sorted(set(table) - set(_TYPES)):
        hint = difflib.get_close_matches(key, _TYPES, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        problems.append(f"{label}: unknown key {key!r}{suggestion}")
    for key in _REQUIRED:
        if key not in table:
            problems.append(f"{label}: missing required key {key!r}")
    for key, expected in _TYPES.items():
        if key not in table:
            continue
        value = table[key]
        if not isinstance(value, expected):
            problems.append(
                f"{label}: {key!r} must be a {'boolean' if expected is bool else 'string'},"
                f" got {type(value).__name__} {value!r}"
            )
        elif isinstance(value, str) and not value.strip():
            problems.append(f"{label}: {key!r} must not be empty")

    language, kind, url = table.get("language"), table.get("kind", "rss"), table.get("url")
    if isinstance(language, str) and language.strip() and language not in LANGUAGES:
        problems.append(
            f"{label}: unknown language {language!r} (expected one of {', '.join(LANGUAGES)})"
        )
    if isinstance(kind, str) and kind.strip() and kind not in KINDS:
        problems.append(f"{label}: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    if isinstance(url, str) and url.strip():
        problem = _url_problem(url)
        if problem:
            problems.append(f"{label}: {problem}")
    site = table.get("site")
    if isinstance(site, str) and site.strip():
        problem = _url_problem(site)
        if problem:
            problems.append(f"{label}: site: {problem}")
    zone = table.get("timezone")
    if isinstance(zone, str) and zone.strip() and not _known_zone(zone.strip()):
        problems.append(f"{label}: unknown timezone {zone!r} (an IANA name such as "
                        "'Asia/Tokyo')")

    if len(problems) > before:
        return None
    outlet = table.get("outlet")
    return Source(
        name=table["name"].strip(),
        url=table["url"].strip(),
        language=table["language"],
        kind=kind,
        outlet=outlet.strip() if outlet is not None else None,
        enabled=table.get("enabled", True),
        timezone=(table.get("timezone") or DEFAULT_TIMEZONES.get(table["language"], "UTC")
                  ).strip(),
        site=site.strip() if isinstance(site, str) else None,
    )


def source_zone(row: Mapping[str, Any]) -> tzinfo:
    """The zone a stored source's times without an offset are read in (`sources.timezone`;
    UTC for a row without one)."""
    return ZoneInfo(row.get("timezone") or "UTC")


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _url_key(url: str) -> str:
    """`url` with scheme and host lower-cased (they are case-insensitive; paths are not)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _url_problem(url: str) -> str | None:
    """Why `url` cannot be fetched as a feed, or None."""
    if url != url.strip() or any(ch.isspace() for ch in url):
        return f"url {url!r} contains whitespace"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        return f"url {url!r} is malformed: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"url {url!r} must start with http:// or https://"
    if not parts.hostname:
        return f"url {url!r} has no host"
    return None
