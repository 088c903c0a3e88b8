"""`write_run_note` against a real api-server: off without its Connection, and a refused
login or an unknown run is a RunNoteError that names the cause (the note is written for a
real run in tests/e2e/test_stack.py). What it sends is read from a stand-in api-server: a
note whose addresses the UI's Markdown would turn into links goes out with none left."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import free_port

pytestmark = pytest.mark.integration


def api_connection(monkeypatch: pytest.MonkeyPatch, port: int, password: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NICHIRO_AIRFLOW_API", json.dumps({
        "conn_type": "http", "host": "127.0.0.1", "port": port, "login": "admin",
        "password": password}))


def test_without_the_connection_no_note_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from nichiro_runnote import write_run_note

    monkeypatch.delenv("AIRFLOW_CONN_NICHIRO_AIRFLOW_API", raising=False)
    assert write_run_note("nichiro_ingest", "manual__x", "note") is False


def test_wrong_password_unknown_run_and_dead_server_are_named(
        api_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nichiro_runnote import RunNoteError, write_run_note

    port = int(api_server.base_url.rsplit(":", 1)[1])
    api_connection(monkeypatch, port, "not-the-password")
    with pytest.raises(RunNoteError, match=r"login as 'admin' at http://127\.0\.0\.1:\d+ "
                                           r"failed: HTTP 401"):
        write_run_note("nichiro_ingest", "manual__2026-11-27T00:00:00+00:00", "note")

    api_connection(monkeypatch, port, api_server.password("admin"))
    with pytest.raises(RunNoteError, match=r"PATCH of run 'manual__none' .* HTTP 404"):
        write_run_note("nichiro_ingest", "manual__none", "note")

    api_connection(monkeypatch, free_port(), "x")
    with pytest.raises(RunNoteError, match="unreachable"):
        write_run_note("nichiro_ingest", "manual__none", "note")


@pytest.fixture
def note_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A stand-in api-server on 127.0.0.1 that hands out a token and records each PATCH;
    `nichiro_airflow_api` points at it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    patches: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            return dict(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        def do_POST(self) -> None:  # noqa: N802
            self._body()
            self._reply(201, {"access_token": "t"})

        def do_PATCH(self) -> None:  # noqa: N802
            patches.append({"path": self.path, **self._body()})
            self._reply(200, {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api_connection(monkeypatch, server.server_address[1], "x")
    yield patches
    server.shutdown()
    server.server_close()


# What the UI's GitHub-flavoured Markdown (remark-gfm) turns into a link when it finds it in
# a text node, escapes and entities already resolved: a scheme or www. address, or an e-mail
# address. Looser than GFM on purpose (no check of the character before, or of the domain).
GFM_AUTOLINK = re.compile(r"(?i)(?:https?://|www\.)\S|[-.\w+]+@[-\w]+\.[-\w]")


def rendered(note: str) -> tuple[list[str], list[str], str]:
    """The note as CommonMark parses it: its text nodes (adjacent text joined, as remark
    holds them), the kinds of link it makes, and what a reader sees."""
    from markdown_it import MarkdownIt

    texts: list[str] = []
    links: list[str] = []
    seen: list[str] = []
    for block in MarkdownIt("commonmark").parse(note):
        run = ""
        for token in block.children or []:
            if token.type in ("text", "text_special", "softbreak"):
                run += token.content or "\n"
                continue
            texts.append(run)
            run = ""
            if token.type in ("link_open", "image", "html_inline"):
                links.append(token.type)
            if token.type == "code_inline":
                seen.append(token.content)
        texts.append(run)
        seen.extend(texts[-1:])
    return texts, links, " ".join(seen)


ADDRESSES = ["https://feeds.example/broken_feed.xml?x=1&y=2", "http://evil.example/(a)",
             "www.pacific-wire.example", "ops-team+alerts@news.example",
             "HTTPS://UPPER.example/path"]


def test_addresses_in_the_note_are_sent_as_text_not_links(
        note_receiver: list[dict[str, Any]]) -> None:
    from nichiro_runnote import write_run_note

    from scrapers.report import run_note

    def row(source: str, error: str | None = None, new: int = 0) -> dict[str, Any]:
        counts = dict.fromkeys(("entries", "relevant", "fetched", "updated", "duplicates",
                                "rejected"), 0)
        return {"source": source, "new": new, "errors": int(bool(error)), "error": error,
                **counts}

    note = run_note([
        row("Broken Feed", f"HTTP 500 from {ADDRESSES[0]} (see {ADDRESSES[1]})."),
        row("Pacific Wire", f"moved to {ADDRESSES[2]}, write to {ADDRESSES[3]}"),
        row("Shouting Feed", f"redirect to {ADDRESSES[4]}"),
        row("`Tricky` [x](https://link.example) &#104;ttps://entity.example", new=2),
    ])
    # what the report hands over is plain Markdown, with the bare addresses in it
    assert GFM_AUTOLINK.search(" ".join(rendered(note)[0]))

    assert write_run_note("nichiro_ingest", "manual__2026-11-27T00:00:00+00:00", note)
    [patch] = note_receiver
    assert patch["path"].startswith("/api/v2/dags/nichiro_ingest/dagRuns/manual__2026-11-27")
    assert patch["path"].endswith("?update_mask=note")
    sent = patch["note"]
    texts, links, seen = rendered(sent)
    assert links == []
    assert [t for t in texts if GFM_AUTOLINK.search(t)] == []
    # each address is still there, whole, for a reader to copy
    for address in ADDRESSES:
        assert address in seen, (address, sent)
    # the note's own Markdown is untouched
    assert sent.startswith("**4 sources, 3 failed**")
    assert "\n**Failed:**\n- Broken Feed: HTTP 500 from `" + ADDRESSES[0] + "`" in sent


def test_a_full_note_still_fits_once_its_addresses_are_wrapped(
        note_receiver: list[dict[str, Any]]) -> None:
    from nichiro_runnote import write_run_note

    from scrapers.report import NOTE_LIMIT

    note = ("https://a.example/x " * 60)[:NOTE_LIMIT]
    assert write_run_note("nichiro_ingest", "manual__x", note)
    sent = note_receiver[0]["note"]
    assert len(sent) <= NOTE_LIMIT and sent.rstrip("`").endswith("…")
    texts, links, _ = rendered(sent)
    assert links == [] and [t for t in texts if GFM_AUTOLINK.search(t)] == []


#: Pieces a hostile or unlucky note is made of: addresses, Markdown's own punctuation, escapes,
#: entities and block starts that end a paragraph mid-line.
PIECES = ["https://", "http://", "HTTPS://", "www.", "mailto:", "a", "b.example", ".", "@", " ",
          "\n", "\\", "\\_", "\\:", "`", "``", "[", "]", "(", ")", "<", ">", "&", "#104;",
          "&amp;", ":", "/", "_", "-", "*", "**", "\n- ", "\n> ", "    ", "\n\n"]


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_no_markdown_gets_a_link_through(note: str) -> None:
    from nichiro_runnote import unlinked_note

    sent = unlinked_note(note, 200)
    assert len(sent) <= 200
    texts, links, _ = rendered(sent)
    assert links == [] and [t for t in texts if GFM_AUTOLINK.search(t)] == [], (note, sent)
