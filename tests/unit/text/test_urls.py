"""URL normalisation: one spelling per page to show, one dedup key per article, and never
a wrong merge."""

from __future__ import annotations

import pytest

from scrapers.text.urls import (
    TRACKING_PARAMS,
    canonicalize_url,
    host_of,
    is_search_stub,
    normalize_url,
    same_site,
)

CASES: list[tuple[str, str]] = [
    # scheme and host case; http and https collapse; empty path
    ("HTTP://Example.COM", "https://example.com/"),
    ("http://example.com/a", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com?b=1", "https://example.com/?b=1"),
    # default ports, other ports kept
    ("http://example.com:80/a", "https://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:8080/a", "https://example.com:8080/a"),
    # fragments
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com/a?x=1#!/hash", "https://example.com/a?x=1"),
    # whitespace
    ("  https://example.com/a \n", "https://example.com/a"),
    ("https://example.com/a\n/b\t", "https://example.com/a/b"),
    # tracking parameters, any case, utm_* of any name
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?UTM_Campaign=x&id=5", "https://example.com/a?id=5"),
    ("https://example.com/a?utm_whatever=1&utm_=2", "https://example.com/a"),
    (
        "https://example.com/a?fbclid=IwAR0&gclid=x&yclid=1&dclid=2&msclkid=3",
        "https://example.com/a",
    ),
    (
        "https://example.com/a?mc_cid=1&mc_eid=2&_ga=3&igshid=4&ref_src=twsrc",
        "https://example.com/a",
    ),
    (
        "https://example.com/a?cmpid=1&ocid=2&spm=3&at_medium=4&at_campaign=5",
        "https://example.com/a",
    ),
    ("https://example.com/a?utm%5Fsource=x", "https://example.com/a"),
    # meaningful parameters kept; sorted; repeats and blanks kept
    ("https://example.com/a?id=42&fbclid=z", "https://example.com/a?id=42"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?tag=z&tag=a&id=1", "https://example.com/a?id=1&tag=z&tag=a"),
    ("https://example.com/a?b=&a", "https://example.com/a?a&b="),
    ("https://example.com/a?&&a=1&&", "https://example.com/a?a=1"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?ref=front&at_custom=1", "https://example.com/a?at_custom=1&ref=front"),
    ("https://example.com/search?q=a%26b&q=c", "https://example.com/search?q=a%26b&q=c"),
    ("https://example.com/s?q=a+b&r=a%20b", "https://example.com/s?q=a+b&r=a%20b"),
    ("https://example.com/s?x=a=b", "https://example.com/s?x=a=b"),
    # percent-encoding: upper-case escapes, decode unreserved, encode the unsafe
    ("https://example.com/%7euser/%e3%81%82", "https://example.com/~user/%E3%81%82"),
    ("https://example.com/%41%62%2D%2e%5F", "https://example.com/Ab-._"),
    ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
    ("https://example.com/a b/<c>", "https://example.com/a%20b/%3Cc%3E"),
    ("https://example.com/100%", "https://example.com/100%25"),
    ("https://example.com/%zz", "https://example.com/%25zz"),
    ("https://example.jp/記事/日ロ", "https://example.jp/%E8%A8%98%E4%BA%8B/%E6%97%A5%E3%83%AD"),
    ("https://example.jp/?q=日ロ", "https://example.jp/?q=%E6%97%A5%E3%83%AD"),
    ("https://example.com/?q=%e6%97%a5", "https://example.com/?q=%E6%97%A5"),
    ("https://example.com/a:b@c;d=e,f", "https://example.com/a:b@c;d=e,f"),
    # dot segments
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/a/%2E%2E/c", "https://example.com/c"),
    ("https://example.com/../../a", "https://example.com/a"),
    ("https://example.com/a/..", "https://example.com/"),
    ("https://example.com/a/b/.", "https://example.com/a/b/"),
    ("https://example.com/v1.2/a.html", "https://example.com/v1.2/a.html"),
    # trailing slash and case of path are meaningful: kept
    ("https://example.com/a/", "https://example.com/a/"),
    ("https://example.com/News/A", "https://example.com/News/A"),
    ("https://example.com//a", "https://example.com//a"),
    # hosts: trailing dot, IDN to punycode, www./m. kept, credentials dropped, IPv6
    ("https://example.com./a", "https://example.com/a"),
    ("http://кремль.рф/events", "https://xn--e1ajeds9e.xn--p1ai/events"),
    ("https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/"),
    ("https://XN--P1AI.example/", "https://xn--p1ai.example/"),
    # IDNA 2008 (UTS 46), as browsers resolve it: ß stays ß (IDNA 2003 made it "fass.de",
    # another domain); upper case maps to lower case first
    ("https://faß.de/a", "https://xn--fa-hia.de/a"),
    ("https://FAß.DE/a", "https://xn--fa-hia.de/a"),
    ("https://www.example.com/a", "https://www.example.com/a"),
    ("https://m.example.com/a", "https://m.example.com/a"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    ("http://[2001:DB8::1]:8080/x", "https://[2001:db8::1]:8080/x"),
    ("http://127.0.0.1:80/x", "https://127.0.0.1/x"),
    # a search-engine link: kept whole except for its order
    (
        "https://news.google.com/rss/articles/CBMiQWh0?oc=5&hl=en-US&gl=US&ceid=US:en",
        "https://news.google.com/rss/articles/CBMiQWh0?ceid=US:en&gl=US&hl=en-US&oc=5",
    ),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonicalize(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonicalize_is_idempotent(url: str, expected: str) -> None:
    once = canonicalize_url(url)
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_normalize_is_the_key_with_the_scheme_as_served(url: str, expected: str) -> None:
    """The same spelling as the dedup key but for the scheme (no case here has a port that
    is only the other scheme's default)."""
    scheme = url.strip().split(":", 1)[0].lower()
    assert normalize_url(url) == scheme + expected.removeprefix("https")


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_normalize_is_idempotent_and_keys_to_the_same_article(url: str, expected: str) -> None:
    shown = normalize_url(url)
    assert normalize_url(shown) == shown
    assert canonicalize_url(shown) == expected


@pytest.mark.parametrize(
    ("url", "shown", "key"),
    [
        # a site that answers only on http keeps a link that opens; the key folds it
        ("http://news.example/a?utm_source=rss#top", "http://news.example/a",
         "https://news.example/a"),
        ("HTTP://News.Example:80/a", "http://news.example/a", "https://news.example/a"),
        # a port is dropped only where it is the default of the scheme shown
        ("http://news.example:443/a", "http://news.example:443/a", "https://news.example/a"),
        ("https://news.example:80/a", "https://news.example:80/a", "https://news.example:80/a"),
        ("https://news.example:443/a", "https://news.example/a", "https://news.example/a"),
    ],
)
def test_shown_url_and_dedup_key(url: str, shown: str, key: str) -> None:
    assert (normalize_url(url), canonicalize_url(url)) == (shown, key)


def test_scheme_variants_show_apart_and_key_together() -> None:
    variants = ["http://news.example/a", "https://news.example/a"]
    assert len({normalize_url(v) for v in variants}) == 2
    assert len({canonicalize_url(v) for v in variants}) == 1


@pytest.mark.parametrize(
    "variants",
    [
        [
            "http://www.example.com/world/2025/03/03/talks?utm_source=rss",
            "https://WWW.example.com:443/world/2025/03/03/talks#top",
            "https://www.example.com/world/2025/03/03/./talks?fbclid=abc",
            " https://www.example.com/world/2025/03/03/talks ",
        ],
        [
            "https://www.example.jp/articles/日ロ?id=1&utm_medium=x",
            "https://www.example.jp/articles/%e6%97%a5%e3%83%ad?id=1",
            "http://WWW.EXAMPLE.JP./articles/%E6%97%A5%E3%83%AD?id=1#c",
        ],
    ],
)
def test_variants_of_one_article_collapse(variants: list[str]) -> None:
    assert len({canonicalize_url(v) for v in variants}) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.com/a?id=1", "https://example.com/a?id=2"),
        ("https://example.com/a", "https://example.com/a/"),
        ("https://example.com/a", "https://example.com/A"),
        ("https://example.com/a", "https://www.example.com/a"),
        ("https://example.com/a?x", "https://example.com/a?x="),
        ("https://example.com/a%2Fb", "https://example.com/a/b"),
        ("https://example.com/s?q=a%26b", "https://example.com/s?q=a&b"),
        ("https://example.com:8080/a", "https://example.com/a"),
    ],
)
def test_distinct_pages_stay_distinct(one: str, other: str) -> None:
    assert canonicalize_url(one) != canonicalize_url(other)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/file",
        "mailto:desk@example.com",
        "javascript:alert(1)",
        "feed://example.com/rss",
        "/relative/path",
        "//example.com/protocol-relative",
        "example.com/no-scheme",
        "http://",
        "https:///path-only",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https://example.com:port/",
        "http://a..b.рф/",
        "http://[::1/",
    ],
)
def test_non_http_or_broken_urls_raise(url: str) -> None:
    with pytest.raises(ValueError):
        canonicalize_url(url)
    with pytest.raises(ValueError):
        normalize_url(url)


def test_tracking_list_is_lower_case() -> None:
    assert all(name == name.lower() for name in TRACKING_PARAMS)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://WWW.Example.com:8443/x", "www.example.com"),
        ("http://кремль.рф/", "xn--e1ajeds9e.xn--p1ai"),
        ("https://example.com./", "example.com"),
        ("https://user@news.example.jp/a", "news.example.jp"),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize(
    ("url", "other", "same"),
    [
        ("http://news.example/a", "https://news.example/b", True),
        ("http://news.example/a", "https://www.news.example/a", True),
        ("https://m.news.example/a", "https://www.News.Example./a", True),
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:9090/a", True),
        # another site, another subdomain, or only a lookalike: not the same site
        ("https://aggregator.example/a", "https://news.example/a", False),
        ("https://world.news.example/a", "https://news.example/a", False),
        ("https://news.example.evil/a", "https://news.example/a", False),
        ("https://www.example/a", "https://example/a", False),  # "www." is the name itself
        ("mailto:desk@news.example", "https://news.example/a", False),
    ],
)
def test_same_site(url: str, other: str, same: bool) -> None:
    assert same_site(url, other) is same
    assert same_site(other, url) is same


def test_host_of_refuses_non_http() -> None:
    with pytest.raises(ValueError):
        host_of("mailto:desk@example.com")


def _stub(url: str) -> str:
    import base64

    raw = url.encode()
    payload = b"\x08\x13\x22" + bytes([len(raw)]) + raw + b"\xd2\x01\x00"
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"https://news.google.com/rss/articles/{token}?oc=5"


def test_search_stub_target_decodes_publisher_url() -> None:
    from scrapers.text.urls import search_stub_target

    target = "https://www.japantimes.co.jp/news/2026/11/20/japan/politics/lavrov-visit/"
    assert search_stub_target(_stub(target)) == target
    assert search_stub_target(_stub(target).replace("/rss/articles/", "/articles/")) == target


@pytest.mark.parametrize("url", [
    "https://news.google.com/rss/articles/AU_yqLOpaqueTokenWithoutAnyUrlInside12345?oc=5",
    "https://news.google.com/rss/search?q=Japan+Russia",
    "https://www.example.com/rss/articles/CBMiXWh0dHBz",
    "https://news.google.com/rss/articles/!!!notbase64",
])
def test_search_stub_target_gives_none_when_unreadable(url: str) -> None:
    from scrapers.text.urls import search_stub_target

    assert search_stub_target(url) is None


@pytest.mark.parametrize(("url", "stub"), [
    ("https://news.google.com/rss/articles/AU_yqLOpaqueTokenWithoutAnyUrl?oc=5", True),
    ("https://news.google.com/articles/CBMiXWh0dHBzOi8v", True),
    ("https://news.google.com/rss/search?q=Japan+Russia", False),
    ("https://www.example.com/rss/articles/CBMiXWh0dHBz", False),
])
def test_is_search_stub(url: str, stub: bool) -> None:
    assert is_search_stub(url) is stub
