"""What a browser or client may send the live server: paging numbers, paths to go back to,
forms without their CSRF token; and what every response carries (headers, cookie flags)."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import pytest
from sqlalchemy import Engine

from monitor.settings import Settings, WebSettings
from tests.dashboard_data import PASSWORD
from tests.security.live import LiveServer, serving

BIG = "9" * 20


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/?page={BIG}", "?page= must be at most"),
        ("/?page=0", "?page= must be at least 1"),
        ("/?page=-1", "?page= must be at least 1"),
        ("/?page=two", "?page= must be a whole number"),
        (f"/fragments/overview?page={BIG}", "?page= must be at most"),
        (f"/alerts?page={BIG}", "?page= must be at most"),
        (f"/fragments/alerts?state=open&page={BIG}", "?page= must be at most"),
        (f"/compliance/offenders/consent_missing?after={BIG}", "?after= must be at most"),
        (f"/compliance/offenders/consent_missing?before={BIG}", "?before= must be at most"),
        ("/compliance/offenders/consent_missing?after=-5", "?after= must be at least 0"),
        ("/rates?days=many", "?days= must be a whole number"),
        ("/rates?days=-3", "?days= must be at least 1"),
    ],
)
def test_paging_parameters_out_of_range_are_a_bad_request(
    server: LiveServer, path: str, message: str
) -> None:
    admin = server.browser()
    admin.log_in("admin")
    response = admin.get(path)
    assert response.status_code == 400, (path, response.status_code)
    assert message in unescape(response.text)


def test_sizes_past_their_maximum_are_clamped(server: LiveServer) -> None:
    admin = server.browser()
    admin.log_in("admin")
    assert admin.get(f"/rates?days={BIG}").status_code == 200
    assert admin.get("/?page=1000000").status_code == 200  # past the last page: empty


@pytest.mark.parametrize(
    ("query", "status"),
    [(f"limit={BIG}", 200), ("limit=1000", 200), ("limit=-1", 400), ("limit=0", 400),
     ("limit=x", 400)],
)  # fmt: skip
def test_the_api_validates_and_clamps_its_limits(
    server: LiveServer, world: tuple[Engine, dict[str, str]], query: str, status: int
) -> None:
    headers = {"Authorization": f"Bearer {world[1]['admin']}"}
    api = server.browser()
    response = api.get(f"/api/v1/targets/broken.example/history?{query}", headers=headers)
    assert response.status_code == status
    if status == 400:
        assert "?limit= must be" in response.json()["error"]
    for days in (BIG, "x", "-1"):
        rates = api.get(f"/api/v1/rates?days={days}", headers=headers)
        assert rates.status_code == (200 if days == BIG else 400)


@pytest.mark.parametrize(
    "back", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example",
             "javascript:alert(1)"],
)  # fmt: skip
def test_acknowledging_an_alert_never_redirects_off_site(server: LiveServer, back: str) -> None:
    postmaster = server.browser()
    postmaster.log_in("postmaster")
    page = postmaster.get("/domains/broken.example").text
    action = re.search(r'action="(/alerts/\d+/acknowledge)"', page)
    assert action is not None
    response = postmaster.submit("/domains/broken.example", action.group(1), {"back": back})
    assert response.status_code == 302 and response.headers["Location"] == "/alerts"
    same_site = postmaster.submit(
        "/domains/broken.example", action.group(1), {"back": "/domains/broken.example"}
    )
    assert same_site.headers["Location"] == "/domains/broken.example"


@pytest.mark.parametrize("target", ["https://evil.example/", "/\\evil.example/", "//evil.example"])
def test_the_login_never_redirects_off_site(server: LiveServer, target: str) -> None:
    browser = server.browser()
    credentials = {"username": "admin", "password": PASSWORD}
    response = browser.submit("/login", f"/login?next={target}", credentials)
    assert response.status_code == 302 and response.headers["Location"] == "/"


# Every page with a form, for the admin (who sees every form).
FORM_PAGES = ["/", "/domains/broken.example", "/alerts?state=open", "/settings/",
              "/settings/targets", "/compliance/", "/reports/", "/account"]  # fmt: skip


def test_every_form_needs_its_csrf_token(server: LiveServer) -> None:
    admin = server.browser()
    admin.log_in("admin")
    forms: set[str] = set()
    for page in FORM_PAGES:
        html = admin.get(page).text
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S):
            if 'method="post"' not in form:
                continue
            assert 'name="csrf_token"' in form, (page, form[:120])
            found = re.search(r'action="([^"]*)"', form)
            forms.add(unescape(found.group(1)) if found else page)
    assert len(forms) >= 10, forms  # the crawl found the forms
    for path in sorted(forms):
        refused = admin.post(path, data={"username": "x", "name": "x"})
        assert refused.status_code == 400, path
        assert "did not come from this site" in refused.text
    anonymous = server.browser()
    credentials = {"username": "admin", "password": PASSWORD}
    assert anonymous.post("/login", data=credentials).status_code == 400


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def test_every_response_carries_the_security_headers(
    server: LiveServer, world: tuple[Engine, dict[str, str]]
) -> None:
    admin = server.browser()
    admin.log_in("admin")
    outsider = server.browser()
    token = {"Authorization": f"Bearer {world[1]['admin']}"}
    responses = [admin.get(page) for page in FORM_PAGES]
    responses += [
        admin.get("/rates"), admin.get("/messages"), admin.get("/no/such/page"),
        admin.get("/compliance/offenders/consent_missing.csv"), admin.get("/static/live.js"),
        outsider.get("/login"), outsider.get("/settings/"), outsider.get("/healthz"),
        outsider.get("/api/v1/targets"), outsider.get("/api/v1/targets", headers=token),
        outsider.get("/metrics", headers=token), outsider.post("/hooks/postmark", json=[]),
        outsider.get("/hooks/postmark"), outsider.post("/hooks/nothing"),
        admin.get(f"/?page={BIG}"), admin.post("/logout"),
    ]  # fmt: skip
    for response in responses:
        where = f"{response.request.method} {response.request.url.path} {response.status_code}"
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (where, name)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], where
        assert "script-src 'self'" in response.headers["content-security-policy"], where


def test_the_session_cookie_is_secure_http_only_and_same_site(
    world: tuple[Engine, dict[str, str]],
) -> None:
    settings = Settings(
        database_url=str(world[0].url), web=WebSettings(secret_key="live", secure_cookies=True)
    )
    with serving(world[0], replace(settings)) as live:
        cookie = live.browser().get("/login").headers["set-cookie"]
    assert cookie.startswith("session=")
    flags = {flag.strip().split("=")[0].lower(): flag for flag in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= set(flags)
    assert flags["samesite"].strip() == "SameSite=Lax"
