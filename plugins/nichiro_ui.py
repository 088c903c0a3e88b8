"""The Nichiro page inside the Airflow UI: source health, a 30-day chart, latest articles, search.

An Airflow 3 plugin:

* ``fastapi_apps``: a FastAPI app served by the api-server under ``/nichiro``:
  ``/nichiro/`` (the HTML page, ``?q=&lang=`` searches), ``/nichiro/api/summary`` and
  ``/nichiro/api/search?q=&lang=`` (JSON);
* ``external_views``: a "Nichiro" entry under Browse in the UI's navigation, which shows
  ``/nichiro/`` in the UI's frame at ``/plugin/nichiro``.

Airflow does not put a plugin's FastAPI app behind its login, so every route here checks the
caller itself, the way the core API does (``airflow.api_fastapi.core_api.security.get_user``):
the JWT from ``Authorization: Bearer`` or else the UI's ``_token`` cookie, validated by the
auth manager, then ``is_authorized_custom_view(GET, "Nichiro")``. Anonymous: 401 from the
JSON API, a redirect to the login page from the HTML page. See docs/ui.md.

Plugin modules are imported by every Airflow component, so the top level imports nothing
heavy: FastAPI, Jinja2 and the API's security module are imported when the api-server asks
for the app.
"""

# No `from __future__ import annotations` here: FastAPI resolves a route's string annotations
# in the module's globals, and this module imports FastAPI's names inside create_app() only.
import html
import logging
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
#: Colours of the chart's series, by language; other keys take the fallback palette.
LANGUAGE_COLOURS = {"en": "#2563eb", "ja": "#dc2626", "ru": "#16a34a", "unknown": "#6b7280"}
_FALLBACK_COLOURS = ("#9333ea", "#ea580c", "#0891b2", "#ca8a04")
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


def svg_chart(daily: dict[str, Any], width: int = 960, height: int = 260) -> str:
    """Stacked bars of articles per day by language, as an inline SVG (escaped throughout).

    :param daily: ``{"days": [iso dates], "series": {language: [counts]}}`` from
        scrapers.db.dashboard.daily_counts
    """
    days: list[str] = daily["days"]
    series: dict[str, list[int]] = daily["series"]
    esc = html.escape
    left, right, top, bottom = 44, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max(totals, default=0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
           f'viewBox="0 0 {width} {height}" width="100%" '
           f'aria-label="Relevant articles per day by language, last {len(days)} days">']
    if peak == 0:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                   f'fill="#6b7280">No relevant articles in the last {len(days)} days</text>'
                   "</svg>")
        return "".join(out)
    step = max(1, -(-peak // 4))  # four grid lines, integer steps
    y_max = step * 4
    slot = plot_w / max(1, len(days))
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#e5e7eb"/><text x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end" font-size="11" fill="#6b7280">{step * k}</text>')
    colours = _colours(list(series))
    for i, day in enumerate(days):
        x = left + i * slot + slot * 0.1
        base = float(top + plot_h)
        for lang, values in series.items():
            n = values[i]
            if not n:
                continue
            h = plot_h * n / y_max
            base -= h
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.8:.1f}" '
                       f'height="{h:.1f}" fill="{colours[lang]}"><title>{esc(day)} '
                       f'{esc(lang)}: {n}</title></rect>')
        if i % 5 == 0 or i == len(days) - 1:
            out.append(f'<text x="{x + slot * 0.4:.1f}" y="{height - bottom + 16}" '
                       f'text-anchor="middle" font-size="11" fill="#374151">'
                       f'{esc(day[5:])}</text>')
    lx = float(left)
    for lang, colour in colours.items():
        out.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{lx + 16}" y="16" font-size="12" fill="#111827">{esc(lang)} '
                   f'({sum(series[lang])})</text>')
        lx += 30 + 9 * len(lang) + 8 * len(str(sum(series[lang])))
    out.append("</svg>")
    return "".join(out)


def _colours(keys: list[str]) -> dict[str, str]:
    spare = iter(_FALLBACK_COLOURS * (1 + len(keys) // len(_FALLBACK_COLOURS)))
    return {k: LANGUAGE_COLOURS.get(k) or next(spare) for k in keys}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nichiro — news monitor</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 20px; color: #111827; }
 h1 { font-size: 20px; margin: 0 0 2px; } h2 { font-size: 16px; margin: 22px 0 6px; }
 .meta { color: #6b7280; font-size: 12px; }
 table { border-collapse: collapse; width: 100%; font-size: 13px; }
 th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e5e7eb;
          vertical-align: top; }
 th { background: #f3f4f6; font-weight: 600; } td.num, th.num { text-align: right; }
 .status { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; }
 .st-ok { background: #dcfce7; color: #166534; }
 .st-failing { background: #fee2e2; color: #991b1b; }
 .st-disabled { background: #fde68a; color: #92400e; }
 .st-new { background: #dbeafe; color: #1e40af; } .st-off { background: #e5e7eb; color: #374151; }
 .err { color: #991b1b; font-size: 12px; max-width: 420px; overflow-wrap: anywhere; }
 .terms { color: #4b5563; font-size: 12px; } .error-box { background: #fee2e2; padding: 6px 10px; }
 form { margin: 6px 0; } input[type=search] { width: 320px; padding: 3px 6px; }
 a { color: #1d4ed8; } .chart { max-width: 960px; border: 1px solid #e5e7eb; }
</style></head>
<body>
<h1>Nichiro — Japan–Russia news monitor</h1>
<div class="meta">Generated {{ generated }} UTC for {{ user }} ·
 JSON: <a href="api/summary">api/summary</a>,
 <a href="api/search?q={{ query|urlencode }}&amp;lang={{ lang|urlencode }}">api/search</a></div>

<h2 id="search">Search</h2>
<form method="get" action="./" role="search">
 <input type="search" name="q" value="{{ query }}" aria-label="Search query"
        placeholder="e.g. peace treaty, Курилы, 北方領土">
 <select name="lang" aria-label="Language">
  <option value="">all languages</option>
  {% for code in languages -%}
  <option value="{{ code }}"{% if code == lang %} selected{% endif %}>{{ code }}</option>
  {%- endfor %}
 </select>
 <button type="submit">Search</button>
</form>
{% if search_error %}<div class="error-box">{{ search_error }}</div>{% endif %}
{% if query and not search_error %}
 <p class="meta">{{ results|length }} result{{ '' if results|length == 1 else 's' }}
  for “{{ query }}”{% if lang %} in {{ lang }}{% endif %}
  {%- if results|length == search_limit %} (first {{ search_limit }}){% endif %}</p>
 {% if results %}<table id="search-results"><thead><tr><th>Title</th><th>Outlet</th>
  <th>Lang</th><th>Time (UTC)</th><th class="num">Rank</th></tr></thead><tbody>
 {% for r in results %}<tr><td>
  {%- if r.href %}<a href="{{ r.href }}" target="_blank" rel="noopener noreferrer">
  {{- r.title }}</a>{% else %}{{ r.title }}{% endif %}</td>
  <td>{{ r.source }}</td><td>{{ r.language or '' }}</td><td>{{ r.time }}</td>
  <td class="num">{{ '%.3f'|format(r.rank or 0) }}</td></tr>{% endfor %}
 </tbody></table>{% endif %}
{% endif %}

<h2 id="sources">Source health</h2>
<table id="source-health"><thead><tr><th>Source</th><th>Lang</th><th>Status</th>
 <th>Last success (UTC)</th><th class="num">Consecutive failures</th><th>Next fetch (UTC)</th>
 <th class="num">Articles 24 h</th><th class="num">Articles 7 d</th><th>Last error</th>
</tr></thead><tbody>
{% for s in sources %}<tr><td>{{ s.name }}</td><td>{{ s.language }}</td>
 <td><span class="status st-{{ s.status_class }}">{{ s.status }}</span></td>
 <td>{{ s.last_success }}</td><td class="num">{{ s.consecutive_failures }}</td>
 <td>{{ s.next_fetch }}</td><td class="num">{{ s.articles_24h }}</td>
 <td class="num">{{ s.articles_7d }}</td>
 <td class="err" title="{{ s.problem }}">{{ s.problem_short }}</td></tr>
{% else %}<tr><td colspan="9">No sources yet: the ingest DAG has not run.</td></tr>{% endfor %}
</tbody></table>

<h2 id="chart">Relevant articles per day by language (last {{ days }} days, UTC)</h2>
{{ chart }}

<h2 id="latest">Latest relevant articles</h2>
<table id="latest-articles"><thead><tr><th>Title</th><th>Outlet</th><th>Lang</th>
 <th>Time (UTC)</th><th>Matched terms</th>
 {%- if has_clusters %}<th class="num">Cluster size</th>{% endif %}</tr></thead><tbody>
{% for a in latest %}<tr><td>
 {%- if a.href %}<a href="{{ a.href }}" target="_blank" rel="noopener noreferrer">
 {{- a.title }}</a>{% else %}{{ a.title }}{% endif %}</td>
 <td>{{ a.source }}</td><td>{{ a.language or '' }}</td><td>{{ a.time }}</td>
 <td class="terms">{{ a.terms }}</td>
 {%- if has_clusters %}<td class="num">{{ a.cluster_size or '' }}</td>{% endif %}</tr>
{% else %}<tr><td colspan="6">No relevant articles stored yet.</td></tr>{% endfor %}
</tbody></table>
</body></html>
"""


@cache
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(PAGE)


def render_page(data: dict[str, Any], *, user: str, query: str = "", lang: str = "",
                results: list[dict[str, Any]] | None = None, search_error: str | None = None,
                search_limit: int = 50) -> str:
    """The page's HTML from scrapers.db.dashboard.summary() output (every feed text escaped)."""
    from markupsafe import Markup

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
               "time": fmt_time(a["dated_at"]), "terms": ", ".join(a["matched_terms"])}
              for a in data["latest"]]
    found = [{**r, "href": safe_href(r["url"]),
              "time": fmt_time(r["published_at"] or r["first_seen_at"])}
             for r in results or []]
    return str(_template().render(
        generated=fmt_time(data["generated_at"]), user=user, query=query, lang=lang,
        languages=SEARCH_LANGUAGES, results=found, search_error=search_error,
        search_limit=search_limit, sources=sources, days=len(data["daily"]["days"]),
        chart=Markup(svg_chart(data["daily"])), has_clusters=data["has_clusters"],
        latest=latest,
    ))


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
            with news_db() as conn:
                return fn(conn)
        except psycopg2.OperationalError as exc:
            LOGGER.error("news database unavailable: %s", exc)
            raise HTTPException(503, f"news database unavailable: {exc}".strip()) from exc

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
