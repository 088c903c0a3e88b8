"""Write a DAG run's note through Airflow's REST API.

The Task SDK gives a task no call to set its run's note, so the summary task does what an
operator's script would: log in to the api-server as a service user and PATCH the run. The
Connection `nichiro_airflow_api` names the api-server and the user, e.g.

    AIRFLOW_CONN_NICHIRO_AIRFLOW_API='{"conn_type": "http", "host": "127.0.0.1",
        "port": 8080, "login": "nichiro", "password": "..."}'

(`make run` defines it for its own service user). Without it, the note is skipped with a log
line; the per-source table is in the summary task's log either way.

The UI renders the note as GitHub-flavoured Markdown, which turns any bare URL, `www.` address
or e-mail address into a link, and the addresses in a note come from feeds and their errors.
So the note goes out with each of them in a code span (shown as the text it is, never a
link), and with `[`, `]`, `<`, `&` and stray backticks escaped so that no link, autolink,
entity or other code span can form around them.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

LOGGER = logging.getLogger("nichiro.runnote")
API_CONN_ID = "nichiro_airflow_api"

# An ASCII punctuation character after a backslash: Markdown's escape, shown as the character.
_ESCAPE = r"\\[!-/:-@\[-`{-~]"
# The spellings GFM autolinks (scheme://, www., local@domain.tld), each punctuation character
# possibly escaped: an escape is resolved before the UI looks for links.
_NOTE_TOKENS = re.compile(
    # an address first: an e-mail address may start with an escape (`\_x@y.example`)
    rf"(?P<url>(?:[A-Za-z][A-Za-z0-9]*(?:\\?[+.\-][A-Za-z0-9]*)*\\?:\\?/\\?/|[Ww]{{3}}\\?\.)"
    rf"(?:{_ESCAPE}|[^\s\\`])*)"
    rf"|(?P<email>(?:\\?[-.+_]|[^\W_])+\\?@(?:\\?[-_]|[^\W_])+"
    rf"(?:\\?\.(?:\\?[-_]|[^\W_])+)+)"
    rf"|(?P<escaped>{_ESCAPE})"
    # an existing code span: a whole run of backticks closed by a run of the same length on
    # the same line (a span across lines may meet the end of a list item or a quote first)
    r"|(?P<code>(?<!`)(?P<fence>`+)(?!`)[^\n]+?(?<!`)(?P=fence)(?!`))"
    # a backtick that closes nothing could pair with the fence of a span made here
    r"|(?P<special>[\[\]<&`])"
    # a backslash that escapes nothing would escape the fence of a span made after it (one
    # before a line break is a hard break, kept)
    r"|(?P<backslash>\\(?![!-/:-@\[-`{-~\n]))"
)
# One character of an address as written: an escape, or a character standing for itself.
_UNIT = re.compile(rf"{_ESCAPE}|.", re.DOTALL)
# What GFM leaves out of an autolink at its end (and a `)` it cannot pair): punctuation of
# the sentence around the address, kept outside the code span as written.
_TRAILING = frozenset(".,:;!?'\"*_~>]")


class RunNoteError(RuntimeError):
    """The api-server refused or could not be reached; the run itself is unaffected."""


def _code_span(text: str) -> str:
    """`text` as an inline code span, whatever backticks it holds."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _neutralise(match: re.Match[str]) -> str:
    kind = match.lastgroup
    token = match.group()
    if kind in ("special", "backslash"):
        return "\\" + token
    if kind in ("url", "email"):
        units = _UNIT.findall(token)
        shown = [unit[-1] for unit in units]  # an escape shows as its character
        end = len(units)
        while end and (shown[end - 1] in _TRAILING or (
                shown[end - 1] == ")" and shown[:end].count(")") > shown[:end].count("("))):
            end -= 1
        if not end:
            return token
        # a code span right before or after would run into this one's fence
        before = " " if match.string[match.start() - 1:match.start()] == "`" else ""
        after = " " if end == len(units) and match.string[match.end():].startswith("`") else ""
        return before + _code_span("".join(shown[:end])) + after + "".join(units[end:])
    return token  # an escape or a code span: already shown as written


def unlinked_note(note: str, limit: int | None = None) -> str:
    """The Markdown `note` with no bare address left for the UI to turn into a link.

    :param note: the note as Markdown (its own emphasis and lists are kept)
    :param limit: at most this many characters; the note is shortened (ending in "…") before
        its addresses are wrapped, so that no code span is cut open
    """
    safe = _NOTE_TOKENS.sub(_neutralise, note)
    if limit is None or len(safe) <= limit:
        return safe
    # the longest start of the note that fits once wrapped (wrapping adds backticks)
    low, high = 0, len(note) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if len(_NOTE_TOKENS.sub(_neutralise, note[:mid] + "…")) <= limit:
            low = mid
        else:
            high = mid - 1
    safe = _NOTE_TOKENS.sub(_neutralise, note[:low] + "…")
    return safe if len(safe) <= limit else "…"[:limit]


def write_run_note(dag_id: str, run_id: str, note: str, conn_id: str = API_CONN_ID) -> bool:
    """Set the run's note, its addresses shown as text (`unlinked_note`); False when no
    Connection is configured. Raises RunNoteError."""
    import httpx
    from nichiro_connections import connection_url, get_connection

    from scrapers.report import NOTE_LIMIT

    conn = get_connection(conn_id)
    base = connection_url(conn) if conn is not None else None
    if conn is None or base is None:
        LOGGER.info("run note not written: Connection %r is not defined", conn_id)
        return False
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            login = client.post("/auth/token",
                                json={"username": conn.login, "password": conn.password})
            if login.status_code not in (200, 201):
                raise RunNoteError(f"login as {conn.login!r} at {base} failed: "
                                   f"HTTP {login.status_code} {login.text[:200]}")
            token = login.json()["access_token"]
            reply = client.patch(
                f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
                params={"update_mask": "note"},
                json={"note": unlinked_note(note, NOTE_LIMIT)},
                headers={"Authorization": f"Bearer {token}"})
            if reply.status_code != 200:
                raise RunNoteError(f"PATCH of run {run_id!r} at {base} failed: "
                                   f"HTTP {reply.status_code} {reply.text[:200]}")
    except httpx.HTTPError as exc:
        raise RunNoteError(f"api-server {base} unreachable: {exc}") from exc
    return True
