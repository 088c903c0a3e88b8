"""The HTTP seam's pure parts: which codings are accepted, the bounded decoder, the redirect
policy, the deadline arithmetic. No sockets (tests/integration/test_hostile_http.py has those)."""

from __future__ import annotations

import gzip
import random
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import httpcore
import pytest

from scrapers.config import LOOPBACK_ONLY, PrivateAllowance
from scrapers.fetch.http import (
    DECODE_STEP,
    BlockedURLError,
    check_redirect,
    content_coding,
    decoded,
)
from scrapers.fetch.transport import Deadline, GuardedBackend, bounded_call, deadline_scope

MB = 1024 * 1024


# -- Content-Encoding ----------------------------------------------------------------------------
@pytest.mark.parametrize(("values", "expected"), [
    ([], "identity"),
    ([""], "identity"),
    (["identity"], "identity"),
    (["gzip"], "gzip"),
    ([" GZIP "], "gzip"),
    (["x-gzip"], "gzip"),
    (["deflate"], "deflate"),
    (["gzip, gzip"], None),
    (["gzip", "gzip"], None),  # two header lines are one stacked list (RFC 9110 5.3)
    (["deflate, gzip"], None),
    (["gzip, identity"], None),
    (["br"], None),
    (["zstd"], None),
    (["compress"], None),
    (["gzip;q=1"], None),
])
def test_content_coding(values: list[str], expected: str | None) -> None:
    assert content_coding(values) == expected


# -- the decoder -----------------------------------------------------------------------------------
def _mixed(size: int, seed: int = 7) -> bytes:
    """Text, a long run of one byte (long back-references), and incompressible bytes."""
    rng = random.Random(seed)
    text = " ".join(f"word{rng.randrange(500)}" for _ in range(size // 16)).encode()
    return (text[: size // 3] + b"\0" * (size // 3) + rng.randbytes(size // 3))[:size]


def _split(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i:i + size] for i in range(0, len(data), size))


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(("coding", "pack"), [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", _raw_deflate),
    ("identity", lambda b: b),
])
@pytest.mark.parametrize("chunk", [1, 7, 4096, 10 * MB])
def test_decoded_is_exact_in_bounded_pieces(
    coding: str, pack: Callable[[bytes], bytes], chunk: int
) -> None:
    original = _mixed(3 * MB // 2 if chunk > 1 else 200_000)
    packed = pack(original)
    pieces = list(decoded(_split(packed, chunk), coding))
    assert b"".join(pieces) == original
    if coding != "identity":
        assert max(map(len, pieces)) <= DECODE_STEP


def test_data_after_the_end_of_the_stream_is_ignored() -> None:
    assert b"".join(decoded([gzip.compress(b"body") + b"trailing junk"], "gzip")) == b"body"


def test_corrupt_stream_raises_zlib_error() -> None:
    with pytest.raises(zlib.error):
        list(decoded([b"\x1f\x8b\x08\x00" + b"garbage" * 10], "gzip"))
    with pytest.raises(zlib.error):
        list(decoded([b"\x78\x9c", b"\xff" * 20], "deflate"))  # reserved block type


def test_decoded_unpacks_only_what_is_read() -> None:
    """One 200 KB chunk of a 200 MiB gzip bomb: taking the first pieces holds memory to a
    few pieces, where one unbounded zlib call on that chunk would hold 200 MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * MB
    bomb = b"".join([*(packer.compress(zeros) for _ in range(200)), packer.flush()])
    tracemalloc.start()
    try:
        taken = 0
        for piece in decoded([bomb], "gzip"):
            taken += len(piece)
            if taken > MB:
                break
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert taken <= MB + DECODE_STEP
    assert peak < 2 * MB, f"peak {peak / MB:.1f} MiB"


# -- redirects -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("source", "target"), [
    ("https://a.example/x", "http://a.example/x"),
    ("HTTPS://a.example/x", "HTTP://b.example/y"),
    ("https://a.example:8443/x", "http://a.example:8080/x"),
])
def test_https_to_http_refused(source: str, target: str) -> None:
    with pytest.raises(BlockedURLError, match="redirect from https to http refused") as info:
        check_redirect(source, target)
    assert info.value.url == target and info.value.retryable is False


@pytest.mark.parametrize(("source", "target"), [
    ("https://a.example/x", "https://b.example/y"),
    ("http://a.example/x", "https://a.example/x"),
    ("http://a.example/x", "http://b.example/y"),
])
def test_other_redirects_pass(source: str, target: str) -> None:
    check_redirect(source, target)


# -- the deadline ----------------------------------------------------------------------------------
def test_without_a_deadline_the_timeout_is_unchanged() -> None:
    assert bounded_call(lambda t: t, 20.0, httpcore.ReadTimeout) == 20.0
    assert bounded_call(lambda t: t, None, httpcore.ReadTimeout) is None


def test_timeout_cut_to_what_is_left() -> None:
    with deadline_scope(5.0) as deadline:
        assert bounded_call(lambda t: t, 1.0, httpcore.ReadTimeout) == 1.0
        given = bounded_call(lambda t: t, 20.0, httpcore.ReadTimeout)
        assert given is not None and 4.0 < given <= 5.0
        given = bounded_call(lambda t: t, None, httpcore.ReadTimeout)
        assert given is not None and given <= 5.0
        assert not deadline.passed


def test_timeout_on_the_cut_wait_marks_the_deadline_passed() -> None:
    def times_out(timeout: float | None) -> None:
        raise httpcore.ReadTimeout("timed out")
    with deadline_scope(5.0) as deadline:
        with pytest.raises(httpcore.ReadTimeout):
            bounded_call(times_out, 1.0, httpcore.ReadTimeout)  # its own timeout, not ours
        assert not deadline.passed
        with pytest.raises(httpcore.ReadTimeout):
            bounded_call(times_out, 20.0, httpcore.ReadTimeout)  # waited until the deadline
        assert deadline.passed


def test_past_the_deadline_nothing_starts() -> None:
    started: list[float | None] = []
    with deadline_scope(0.0) as deadline:
        with pytest.raises(httpcore.ConnectTimeout, match="total time limit"):
            bounded_call(started.append, 10.0, httpcore.ConnectTimeout)
    assert started == [] and deadline.passed


def test_one_deadline_per_fetch_and_pauses_not_counted() -> None:
    with deadline_scope(1.0) as outer:
        with deadline_scope(30.0) as inner:
            assert inner is outer  # a hop inside a fetch keeps the fetch's deadline
        before = outer.at
        with outer.paused():
            time.sleep(0.05)
        assert outer.at - before >= 0.05
    with deadline_scope(2.0) as fresh:
        assert fresh is not outer and isinstance(fresh, Deadline)


# -- where connections go, without resolving anything ------------------------------------------
@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", ["127.0.0.1"]), ("10.0.0.1", ["10.0.0.1"]), ("::1", ["::1"]),
    ("[::1]", ["::1"]),
])
def test_address_literals_connect_as_they_stand(host: str, expected: list[str]) -> None:
    """A literal is not resolved, so it is the address check_url_allowed already judged."""
    assert GuardedBackend(PrivateAllowance()).addresses(host, 80) == expected


def test_listed_host_names_connect_as_they_stand() -> None:
    allowance = PrivateAllowance.parse("feeds.internal")
    assert GuardedBackend(allowance).addresses("feeds.internal", 80) == ["feeds.internal"]
    assert GuardedBackend(allowance).addresses("FEEDS.internal.", 80) == ["FEEDS.internal."]
    assert LOOPBACK_ONLY.hosts == frozenset()
