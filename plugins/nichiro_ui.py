"""The Nichiro page inside the Airflow UI: source health, a 30-day chart, latest articles, search.

An Airflow 3 plugin:

* ``fastapi_apps``: a FastAPI app served by the api-server under ``/nichiro``:
  ``/nichiro/`` (the HTML page, ``?q=&lang=`` searches), ``/nichiro/events/<id>`` (one
  event's reports in every language), and as JSON ``/nichiro/api/summary``,
  ``/nichiro/api/search?q=&lang=`` and ``/nichiro/api/events/<id>``;
* ``external_views``: a "Nichiro" entry under Browse in the UI's navigation, which shows
  ``/nichiro/`` in the UI's frame at ``/plugin/nichiro``.

Airflow does not put a plugin's FastAPI app behind its login, so every route here checks the
caller itself, the way the core API does (``airflow.api_fastapi.core_api.security.get_user``):
the JWT from ``Authorization: Bearer`` or else the UI's ``_token`` cookie, validated by the
auth manager, then ``is_authorized_custom_view(GET, "Nichiro")``. Anonymous: 401 from the
JSON API, a redirect to the login page from the HTML page. See docs/ui.md.

The pages' HTML are the Jinja2 templates ``templates/nichiro_page.html`` and
``templates/nichiro_event.html`` (next to this module, autoescaped); the chart is drawn by
``nichiro_chart.py``.

Plugin modules are imported by every Airflow component, so the top level imports nothing
heavy: FastAPI, Jinja2 and the API's security module are imported when the api-server asks
for the app.
"""

# No `from __future__ import annotations` here: FastAPI resolves a route's string annotations
# in the module's globals, and this module imports FastAPI's names inside create_app() only.
import logging
import os
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from airflow.plugins_manager import AirflowPlugin

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

LOGGER = logging.getLogger(__name__)

URL_PREFIX = "/nichiro"
RESOURCE_NAME = "Nichiro"
#: The page's Jinja2 template (rendered by render_page), and the folder it is loaded from.
TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
PAGE_TEMPLATE = "nichiro_page.html"
EVENT_TEMPLATE = "nichiro_event.html"
ARTICLE_TEMPLATE = "nichiro_article.html"
_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'self'; base-uri 'none'")


def _api_root_path() -> str:
    """The api-server's path prefix from ``[api] base_url`` ("/" by default)."""
    from airflow.configuration import conf

    path = urlsplit(conf.get("api", "base_url", fallback="") or "").path or "/"
    return path if path.endswith("/") else path + "/"


# --------------------------------------------------------------------------- rendering

def fmt_time(value: datetime | None, empty: str = "—") -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM`` UTC (or `empty`)."""
    if value is None:
        return empty
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def safe_href(url: str | None) -> str | None:
    """`url` if it is http(s), else None: a feed must not smuggle a ``javascript:`` link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


@cache
def _template(name: str = PAGE_TEMPLATE) -> Any:
    """A template of templates/, next to this module (autoescape on, StrictUndefined)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template(name)


def fmt_lag(value: Any) -> str:
    """A timedelta as ``+5 h 20 min`` / ``−2 d 3 h`` (or an empty string)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    sign = "−" if seconds < 0 else "+"
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    return f"{sign}{hours} h {mins} min" if hours else f"{sign}{mins} min"


def _event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**e, "first_seen": fmt_time(e["first_seen_at"]), "lag": fmt_lag(e["ru_lag_behind_ja"]),
             "first_report": fmt_time(e["first_reported_at"])} for e in events]


def render_event(detail: dict[str, Any], *, user: str) -> str:
    """One event's page from scrapers.db.dashboard.event_detail() output."""
    [event] = _event_rows([detail["event"]])
    articles = [{**a, "href": safe_href(a["original_url"]) or safe_href(a["url"]),
                 "time": fmt_time(a["dated_at"]), "shared": ", ".join(a["shared"] or [])}
                for a in detail["articles"]]
    return str(_template(EVENT_TEMPLATE).render(
        generated=fmt_time(datetime.now(UTC)), user=user, event=event, articles=articles))


def unified_diff(before: str, after: str, name: str) -> list[dict[str, str]]:
    """The unified diff of two texts, line by line, each with its kind (for its colour):
    "add", "del", "hunk" or "same". Texts are compared by line (a body's paragraphs)."""
    import difflib

    lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                 f"{name} (before)", f"{name} (after)", lineterm="", n=1)
    out = []
    for line in lines:
        kind = ("hunk" if line.startswith(("@@", "---", "+++")) else
                "add" if line.startswith("+") else "del" if line.startswith("-") else "same")
        out.append({"kind": kind, "text": line})
    return out


def render_article(history: dict[str, Any], *, user: str) -> str:
    """An article's edits as unified diffs, each version against the next (the last
    against the current text), from scrapers.db.dashboard.article_history() output."""
    article = history["article"]
    versions = [*history["revisions"], {**article, "revision": None}]
    changes = []
    for before, after in zip(versions, versions[1:], strict=False):
        changes.append({
            "revision": before["revision"], "replaced_at": fmt_time(before.get("replaced_at")),
            "cause": before.get("cause", "edit"),
            "lines": unified_diff(before["title"], after["title"], "title")
            + unified_diff(before["body"], after["body"], "body")})
    return str(_template(ARTICLE_TEMPLATE).render(
        generated=fmt_time(datetime.now(UTC)), user=user, article=article,
        href=safe_href(article["url"]), changes=changes))


def render_page(data: dict[str, Any], *, user: str, query: str = "", lang: str = "",
                results: list[dict[str, Any]] | None = None, search_error: str | None = None,
                search_limit: int = 50) -> str:
    """The page's HTML from scrapers.db.dashboard.summary() output (every feed text escaped)."""
    from markupsafe import Markup
    from nichiro_chart import svg_chart

    from scrapers.db.dashboard import SEARCH_LANGUAGES

    sources = []
    for s in data["sources"]:
        error = s["last_error"]
        if error and s["last_error_class"]:
            error = f"{s['last_error_class']}: {error}"
        problem = s["disabled_reason"] or error or ""
        sources.append({
            **s,
            "status_class": (s["status"] or "").split(" ")[0],
            "last_success": fmt_time(s["last_success_at"], "never"),
            "next_fetch": ("not scheduled" if s["status"] in ("disabled", "off (catalog)")
                           else fmt_time(s["next_fetch_at"], "due now")),
            "problem": problem,
            "problem_short": problem if len(problem) <= 160 else problem[:157] + "…",
        })
    latest = [{**a, "href": safe_href(a["original_url"]) or safe_href(a["url"]),
               "time": fmt_time(a["dated_at"])}
              for a in data["latest"]]
    found = [{**r, "href": safe_href(r["url"]),
              "time": fmt_time(r["published_at"] or r["first_seen_at"])}
             for r in results or []]
    return str(_template().render(
        generated=fmt_time(data["generated_at"]), user=user, query=query, lang=lang,
        languages=SEARCH_LANGUAGES, results=found, search_error=search_error,
        search_limit=search_limit, sources=sources, days=len(data["daily"]["days"]),
        chart=Markup(svg_chart(data["daily"])), events=_event_rows(data["events"]),
        latest=latest, backfills=[_backfill_row(b) for b in data["backfills"]],
        edits=[{**e, "time": fmt_time(e["edited_at"])} for e in data["edits"]],
    ))


def _backfill_row(row: dict[str, Any]) -> dict[str, Any]:
    from scrapers.report import backfill_scope

    request = row["request"] or {}
    state = ("finished " + fmt_time(row["finished_at"]) if row["finished_at"]
             else "under way, last step " + fmt_time(row["updated_at"]))
    return {**row, "range": f"{request.get('from')} to {request.get('to')}",
            "scope": backfill_scope(request), "state": state}


# --------------------------------------------------------------------------- the app

async def authenticate(request: "Request") -> Any:
    """The caller's Airflow user, exactly as the core API finds it (Bearer, else cookie).

    :raises fastapi.HTTPException: 401 without a token or with an expired one, 403 for an
        invalid token (the core API's answers)
    """
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPBearer

    bearer = await HTTPBearer(auto_error=False)(request)
    return await get_user(request, None, bearer)


def authorize(user: Any) -> None:
    """403 unless the auth manager lets `user` see the "Nichiro" custom view."""
    from airflow.api_fastapi.app import get_auth_manager
    from fastapi import HTTPException

    if not get_auth_manager().is_authorized_custom_view(
            method="GET", resource_name=RESOURCE_NAME, user=user):
        raise HTTPException(status_code=403, detail="Forbidden: no access to the Nichiro view")


@cache
def create_app() -> "FastAPI":
    """The FastAPI app the api-server mounts at /nichiro (built once, on first use)."""
    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

    from scrapers.db import dashboard

    app = FastAPI(title="Nichiro", docs_url=None, redoc_url=None, openapi_url=None)

    async def api_user(request: Request) -> Any:
        try:
            user = await authenticate(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise HTTPException(401, exc.detail,
                                    headers={"WWW-Authenticate": "Bearer"}) from None
            raise
        authorize(user)
        return user

    async def page_user(request: Request) -> Any:
        """The user, or a RedirectResponse to the login page for anyone not logged in."""
        from airflow.api_fastapi.app import get_auth_manager

        try:
            user = await authenticate(request)
        except HTTPException as exc:
            if exc.status_code not in (401, 403):
                raise
            # not logged in, or a stale/invalid cookie: log in again, then come back here
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(get_auth_manager().get_url_login(next_url=here),
                                    status_code=303)
        authorize(user)
        return user

    def _with_db(fn: Any) -> Any:
        import psycopg2

        from nichiro_db import news_db

        try:
            with news_db(read_only=True) as conn:
                return fn(conn)
        except psycopg2.errors.QueryCanceled as exc:
            LOGGER.warning("page query stopped at its time limit: %s", exc)
            raise HTTPException(503, "the query took too long; narrow it down") from exc
        except psycopg2.OperationalError as exc:
            # The detail (host, user, libpq's words) goes to the log, not to the browser.
            LOGGER.error("news database unavailable: %s", exc)
            raise HTTPException(503, "news database unavailable") from exc

    def _headers() -> dict[str, str]:
        return {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, user: Annotated[Any, Depends(page_user)], q: str = "",
             lang: str = "") -> Response:
        if isinstance(user, Response):
            return user
        limit = 50

        def load(conn: Any) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
            data = dashboard.summary(conn, datetime.now(UTC))
            try:
                results = dashboard.search(conn, q, lang, limit)
                error = None
            except dashboard.SearchError as exc:
                results, error = [], str(exc)
            conn.rollback()
            return data, results, error

        data, results, error = _with_db(load)
        body = render_page(data, user=user.get_name(), query=q, lang=lang, results=results,
                           search_error=error, search_limit=limit)
        return HTMLResponse(body, status_code=400 if error else 200, headers=_headers())

    @app.get("/events/{event_id}", response_class=HTMLResponse)
    def event_page(event_id: int, user: Annotated[Any, Depends(page_user)]) -> Response:
        if isinstance(user, Response):
            return user
        detail = _with_db(lambda conn: dashboard.event_detail(conn, event_id))
        if detail is None:
            raise HTTPException(404, f"no event {event_id}")
        return HTMLResponse(render_event(detail, user=user.get_name()), headers=_headers())

    @app.get("/articles/{article_id}", response_class=HTMLResponse)
    def article_page(article_id: int, user: Annotated[Any, Depends(page_user)]) -> Response:
        if isinstance(user, Response):
            return user
        history = _with_db(lambda conn: dashboard.article_history(conn, article_id))
        if history is None:
            raise HTTPException(404, f"no article {article_id}")
        return HTMLResponse(render_article(history, user=user.get_name()), headers=_headers())

    @app.get("/api/events/{event_id}")
    def api_event(event_id: int, user: Annotated[Any, Depends(api_user)]) -> Response:
        detail = _with_db(lambda conn: dashboard.event_detail(conn, event_id))
        if detail is None:
            raise HTTPException(404, f"no event {event_id}")
        return JSONResponse(jsonable_encoder(detail), headers=_headers())

    @app.get("/api/summary")
    def api_summary(user: Annotated[Any, Depends(api_user)]) -> Response:
        data = _with_db(lambda conn: dashboard.summary(conn, datetime.now(UTC)))
        return JSONResponse(jsonable_encoder(data), headers=_headers())

    @app.get("/api/search")
    def api_search(user: Annotated[Any, Depends(api_user)], q: str = "", lang: str = "",
                   limit: int = 50) -> Response:
        if not 1 <= limit <= 500:
            raise HTTPException(400, "limit must be between 1 and 500")

        def run(conn: Any) -> list[dict[str, Any]]:
            try:
                return dashboard.search(conn, q, lang, limit)
            except dashboard.SearchError as exc:
                raise HTTPException(400, str(exc)) from exc
            finally:
                conn.rollback()

        results = _with_db(run)
        return JSONResponse(jsonable_encoder({"query": q, "lang": lang or None,
                                              "count": len(results), "results": results}),
                            headers=_headers())

    return app


class NichiroUIPlugin(AirflowPlugin):
    """The "Nichiro" page: a FastAPI app at /nichiro and its entry under Browse."""

    name = "nichiro_ui"
    external_views = [{
        "name": "Nichiro",
        "href": f"{_api_root_path()}nichiro/",
        "destination": "nav",
        "category": "browse",
        "url_route": "nichiro",
    }]

    @property  # built on first use, in the api-server only
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Nichiro"}]
