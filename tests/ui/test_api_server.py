"""The plugin inside a real `airflow api-server`: mounted, listed, and behind Airflow's login."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_page_requires_login_and_shows_data(api_server: Any, dashboard_db: Any) -> None:
    url = f"{api_server.base_url}/nichiro/"
    anonymous = httpx.get(url, follow_redirects=False)
    assert anonymous.status_code == 303, api_server.log_tail()
    assert anonymous.headers["location"] == "/auth/login?next=%2Fnichiro%2F"
    assert httpx.get(f"{api_server.base_url}/nichiro/api/summary").status_code == 401

    token = api_server.login()
    page = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200, api_server.log_tail()
    assert "Kyodo EN" in page.text and "Japan and Russia resume peace treaty talks" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
    # the UI's cookie works as well as the header
    cookie = httpx.get(url, cookies={"_token": token})
    assert cookie.status_code == 200 and "TASS RU" in cookie.text
    summary = httpx.get(f"{api_server.base_url}/nichiro/api/summary",
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert {s["name"] for s in summary["sources"]} == {"Kyodo EN", "TASS RU", "NHK JA"}


def test_plugin_is_listed_with_its_nav_entry(api_server: Any) -> None:
    token = api_server.login()
    r = httpx.get(f"{api_server.base_url}/api/v2/plugins",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    [plugin] = [p for p in r.json()["plugins"] if p["name"] == "nichiro_ui"]
    assert plugin["fastapi_apps"] == [{"app": "fastapi.applications.FastAPI",
                                       "url_prefix": "/nichiro", "name": "Nichiro"}]
    [view] = plugin["external_views"]
    assert view["href"] == "/nichiro/" and view["destination"] == "nav"
    assert view["url_route"] == "nichiro" and view["category"] == "browse"
    assert httpx.get(f"{api_server.base_url}/api/v2/plugins/importErrors",
                     headers={"Authorization": f"Bearer {token}"}).json()["total_entries"] == 0
