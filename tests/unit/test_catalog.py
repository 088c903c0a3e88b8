"""The source catalog: the repo's sources.toml, path resolution, and error reporting.

Fixture catalogs live in ``tests/fixtures/catalogs/``; ``broken.toml`` carries one of each
problem, and a single CatalogError must list them all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scrapers.catalog import (
    DEFAULT_CATALOG,
    KINDS,
    SOURCES_ENV,
    CatalogError,
    catalog_path,
    load_catalog,
    parse_catalog,
    source_zone,
)
from scrapers.models import LANGUAGES, Source

CATALOGS = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs"
REPO_CATALOG = Path(__file__).resolve().parents[2] / "sources.toml"


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SOURCES_ENV, raising=False)


def test_repo_catalog_loads_and_covers_three_languages() -> None:
    assert DEFAULT_CATALOG == REPO_CATALOG
    sources = load_catalog()

    assert len(sources) >= 15
    assert all(isinstance(s, Source) for s in sources)
    enabled = [s for s in sources if s.enabled]
    assert len(enabled) >= 15
    for language in LANGUAGES:
        assert sum(s.language == language for s in enabled) >= 5, language
        assert any(s.language == language and s.kind == "search" for s in enabled), language
    assert {s.kind for s in sources} <= set(KINDS)
    assert len({s.name for s in sources}) == len(sources)
    assert len({s.url for s in sources}) == len(sources)
    assert all(urlsplit(s.url).scheme == "https" for s in sources)


def test_repo_catalog_documents_every_source() -> None:
    """Each [[source]] is preceded by a comment saying what it is."""
    lines = REPO_CATALOG.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#")
    for number, line in enumerate(lines):
        if line == "[[source]]":
            assert lines[number - 1].startswith("# "), f"line {number + 1}: no comment above"


def test_defaults_and_file_order() -> None:
    sources = load_catalog(CATALOGS / "minimal.toml")
    assert sources == [
        Source(name="Minimal Wire", url="https://example.org/wire.rss", language="en"),
        Source(
            name="最小新聞",
            url="https://example.jp/news.rdf",
            language="ja",
            kind="search",
            outlet="最小",
            enabled=False,
            timezone="Asia/Tokyo",  # a Japanese source's default
        ),
    ]
    assert sources[0].kind == "rss" and sources[0].enabled and sources[0].outlet is None
    assert sources[0].outlet_name == "Minimal Wire"


def test_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOURCES_ENV, str(CATALOGS / "minimal.toml"))
    assert catalog_path() == CATALOGS / "minimal.toml"
    assert [s.name for s in load_catalog()] == ["Minimal Wire", "最小新聞"]


def test_explicit_path_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOURCES_ENV, str(CATALOGS / "broken.toml"))
    assert len(load_catalog(str(CATALOGS / "minimal.toml"))) == 2


def test_broken_catalog_lists_every_problem() -> None:
    path = CATALOGS / "broken.toml"
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)

    message = str(caught.value)
    expected = [
        "unknown top-level key 'version'",
        "source #2 ('No URL'): missing required key 'url'",
        "source #2 ('No URL'): unknown language 'de'",
        "source #3 ('Wrong Types'): 'language' must be a string, got int 7",
        "source #3 ('Wrong Types'): 'enabled' must be a boolean, got str 'yes'",
        "source #4 ('FTP Feed'): unknown key 'langauge' (did you mean 'language'?)",
        "source #4 ('FTP Feed'): unknown kind 'atom'",
        "source #4 ('FTP Feed'): url 'ftp://example.org/feed.xml' must start with http",
        "source #5 ('Good Feed'): duplicate name, already used by source #1 ('Good Feed')",
        "source #6: missing required key 'name'",
        "source #6: duplicate url https://example.org/feed.xml, already used by source #1",
        "source #7 ('Hostless'): 'outlet' must not be empty",
        "source #7 ('Hostless'): url 'https:///feed.xml' has no host",
    ]
    assert message.startswith(f"{path}: {len(expected)} problem(s) in the source catalog:")
    for problem in expected:
        assert problem in message, problem
    assert isinstance(caught.value, ValueError)


def test_toml_syntax_error_names_file_and_line() -> None:
    path = CATALOGS / "syntax_error.toml"
    with pytest.raises(CatalogError, match=r"syntax_error\.toml: TOML syntax error: .*line 6"):
        load_catalog(path)


def test_empty_catalog_is_an_error() -> None:
    with pytest.raises(CatalogError, match="no sources"):
        load_catalog(CATALOGS / "empty.toml")


def test_missing_catalog_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"nowhere\.toml: source catalog not found"):
        load_catalog(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('source = { name = "x" }', "'source' must be an array of tables"),
        ('[[source]]\nname = "x"\nurl = "http://[::1"\nlanguage = "en"', "is malformed"),
        (
            '[[source]]\nname = "x"\nurl = "https://a.example/ b"\nlanguage = "en"',
            "contains whitespace",
        ),
        (
            '[[source]]\nname = ""\nurl = "https://a.example/"\nlanguage = "en"',
            "source #1: 'name' must not be empty",
        ),
        (
            '[[source]]\nname = "x"\nurl = "https://a.example/"\nlanguage = "EN"',
            "unknown language 'EN'",
        ),
        (
            '[[source]]\nname = "x"\nurl = "https://a.example/"\nlanguage = "en"\n'
            'timezone = "Tokyo"',
            "unknown timezone 'Tokyo' (an IANA name",
        ),
        (
            '[[source]]\nname = "x"\nurl = "https://a.example/"\nlanguage = "en"\n'
            'site = "ftp://a.example/"',
            "source #1 ('x'): site: url 'ftp://a.example/' must start with http",
        ),
    ],
)
def test_parse_catalog_problems(entry: str, problem: str) -> None:
    with pytest.raises(CatalogError, match="<catalog>") as caught:
        parse_catalog(entry)
    assert problem in str(caught.value)


def test_duplicate_urls_ignore_host_case_but_not_path_case() -> None:
    entry = '[[source]]\nname = "{}"\nurl = "{}"\nlanguage = "en"\n'
    same_host = entry.format("a", "https://Example.org/feed") + entry.format(
        "b", "HTTPS://example.org/feed"
    )
    with pytest.raises(CatalogError, match=r"source #2 \('b'\): duplicate url"):
        parse_catalog(same_host)
    other_path = entry.format("a", "https://example.org/Feed") + entry.format(
        "b", "https://example.org/feed"
    )
    assert [s.name for s in parse_catalog(other_path)] == ["a", "b"]


def test_timezone_defaults_by_language_and_can_be_named() -> None:
    """Times without an offset are read in the source's zone: Japan time for Japanese
    outlets, Moscow time for Russian ones, UTC for English ones unless the catalog names
    another (an English service in Tokyo or Moscow)."""
    sources = parse_catalog("""
[[source]]
name = "ja"
url = "https://a.example/ja"
language = "ja"
[[source]]
name = "ru"
url = "https://a.example/ru"
language = "ru"
[[source]]
name = "en"
url = "https://a.example/en"
language = "en"
[[source]]
name = "en in Moscow"
url = "https://a.example/en-msk"
language = "en"
timezone = "Europe/Moscow"
""")
    assert [(s.name, s.timezone) for s in sources] == [
        ("ja", "Asia/Tokyo"), ("ru", "Europe/Moscow"), ("en", "UTC"),
        ("en in Moscow", "Europe/Moscow")]
    noon = datetime(2026, 7, 1, 12)
    assert noon.replace(tzinfo=source_zone({"timezone": "Asia/Tokyo"})).utcoffset() == \
        timedelta(hours=9)
    assert noon.replace(tzinfo=source_zone({"timezone": None})).utcoffset() == timedelta(0)


def test_a_site_defaults_to_the_feeds_host_and_can_name_a_section() -> None:
    """The site a backfill walks the sitemaps of: the feed's host unless named."""
    plain, section = parse_catalog("""
[[source]]
name = "plain"
url = "https://feeds.example/rss/news?x=1"
language = "en"
[[source]]
name = "section"
url = "https://www.example.jp/rss/ja.xml"
language = "ja"
site = "https://www.example.jp/news/"
""")
    assert (plain.site, plain.site_url) == (None, "https://feeds.example/")
    assert section.site_url == "https://www.example.jp/news/"
