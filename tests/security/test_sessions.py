"""Sessions end for real (logout, password, role and state changes, age), logins are
throttled, and an API token never travels in a cookie: against a live server."""

from __future__ import annotations

import base64
import logging
import time
import zlib

import pytest
from sqlalchemy import Engine, select

from monitor.settings import Settings, WebSettings
from monitor.users import set_role
from store.engine import session_factory
from store.users import User
from tests.conftest import postwarden
from tests.dashboard_data import PASSWORD
from tests.security.live import Browser, LiveServer, csrf_of, serving

WRONG = "not the password at all"


def copy_of(browser: Browser, server: LiveServer) -> Browser:
    """Another client holding a copy of ``browser``'s session cookie (a stolen one)."""
    thief = server.browser()
    thief.client.cookies.set("session", browser.session_cookie())
    return thief


def test_a_copied_cookie_stops_working_at_logout(server: LiveServer) -> None:
    admin = server.browser()
    assert admin.log_in("admin").status_code == 302
    thief = copy_of(admin, server)
    assert thief.get("/settings/").status_code == 200
    assert admin.submit("/", "/logout", {}).status_code == 302
    refused = thief.get("/settings/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]


def test_a_password_change_ends_every_other_session(server: LiveServer) -> None:
    admin = server.browser()
    admin.log_in("admin")
    thief = copy_of(admin, server)
    changed = admin.submit(
        "/account", "/account", {"current": PASSWORD, "new": "another long secret"}
    )
    assert changed.status_code == 302
    assert admin.get("/settings/").status_code == 200  # the one who changed it stays in
    assert thief.get("/settings/").status_code == 302


def test_a_role_change_on_the_command_line_ends_the_sessions(
    server: LiveServer, world: tuple[Engine, dict[str, str]]
) -> None:
    admin = server.browser()
    admin.log_in("admin")
    assert admin.get("/settings/").status_code == 200
    changed = postwarden("users", "role", "admin", "compliance", "--db", str(world[0].url))
    assert changed.code == 0, changed.stderr
    assert "sessions have ended" in changed.stdout
    assert admin.get("/settings/").status_code == 302  # signed out, not an admin any longer


def user_id(engine: Engine, username: str) -> int:
    with session_factory(engine)() as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def test_disabling_a_user_ends_their_sessions(
    server: LiveServer, world: tuple[Engine, dict[str, str]]
) -> None:
    postmaster = server.browser()
    postmaster.log_in("postmaster")
    admin = server.browser()
    admin.log_in("admin")
    toggle = f"/settings/users/{user_id(world[0], 'postmaster')}/active"
    assert admin.submit("/settings/", toggle, {}).status_code == 302
    assert postmaster.get("/").status_code == 302
    assert admin.submit("/settings/", toggle, {}).status_code == 302
    assert postmaster.get("/").status_code == 302  # enabled again: still signed out
    assert postmaster.log_in("postmaster").status_code == 302


def test_the_session_role_change_function_bumps_the_generation(
    world: tuple[Engine, dict[str, str]],
) -> None:
    with session_factory(world[0])() as session:
        before = session.scalar(select(User.session_generation).where(User.username == "admin"))
        set_role(session, "admin", "postmaster")
        session.commit()
        after = session.scalar(select(User.session_generation).where(User.username == "admin"))
    assert after == (before or 0) + 1


def test_a_session_ends_after_its_lifetime(world: tuple[Engine, dict[str, str]]) -> None:
    web = WebSettings(secret_key="live", secure_cookies=False, session_hours=4 / 3600)
    with serving(world[0], Settings(database_url=str(world[0].url), web=web)) as live:
        admin = live.browser()
        admin.log_in("admin")
        assert admin.get("/settings/").status_code == 200
        time.sleep(4.5)
        assert admin.get("/settings/").status_code == 302


def test_the_default_session_lifetime_is_short() -> None:
    assert WebSettings().session_hours <= 24


def test_wrong_passwords_are_throttled_then_refused_with_retry_after(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    attacker = server.browser("127.0.0.2")
    codes = []
    with caplog.at_level(logging.WARNING, logger="monitor.login_throttle"):
        for _ in range(8):
            response = attacker.log_in("admin", WRONG)
            codes.append(response.status_code)
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}
    assert 0 < int(response.headers["Retry-After"]) <= 900
    assert "Too many failed logins" in response.text
    # Even the right password waits: guessing on while locked learns nothing.
    assert attacker.log_in("admin").status_code == 429
    assert "login locked for" in caplog.text and "'admin' from 127.0.0.2" in caplog.text
    # Another user from another address is not held up.
    assert server.browser("127.0.0.3").log_in("postmaster").status_code == 302


def test_one_client_cannot_lock_every_user_out(
    world: tuple[Engine, dict[str, str]],
) -> None:
    web = WebSettings(
        secret_key="live",
        secure_cookies=False,
        login_failures_per_user=3,
        login_failures_per_address=6,
    )
    with serving(world[0], Settings(database_url=str(world[0].url), web=web)) as live:
        attacker = live.browser("127.0.0.4")
        for name in ("admin", "postmaster", "compliance"):
            for _ in range(3):
                attacker.log_in(name, WRONG)
        # The attacker's own address is refused for any name once it reached its limit ...
        assert attacker.log_in("compliance", PASSWORD).status_code == 429
        # ... so it locked two users at most: the third signs in from elsewhere.
        assert live.browser("127.0.0.5").log_in("compliance").status_code == 302


def test_a_new_api_token_is_in_the_page_and_not_in_the_session_cookie(
    server: LiveServer,
) -> None:
    admin = server.browser()
    admin.log_in("admin")
    made = admin.submit(
        "/settings/", "/settings/tokens", {"username": "compliance", "name": "grafana"}
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = made.text.split("not shown again: <code>")[1].split("</code>")[0]
    assert token.startswith("pw_")
    cookie = admin.session_cookie()
    payload = cookie.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(data) if cookie.startswith(".") else data
    assert token.encode() not in decoded and token not in str(made.headers)
    assert token not in admin.get("/settings/").text  # shown once
    api = server.browser()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/alerts", headers=headers).status_code == 200


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_client_address_comes_from_a_trusted_proxy_only(
    world: tuple[Engine, dict[str, str]], proxies: int
) -> None:
    web = WebSettings(secret_key="live", secure_cookies=False, login_failures_per_user=100,
                      login_failures_per_address=3, trusted_proxies=proxies)  # fmt: skip
    with serving(world[0], Settings(database_url=str(world[0].url), web=web)) as live:
        proxy = live.browser()
        first = {"X-Forwarded-For": "198.51.100.7"}
        for name in ("admin", "postmaster", "compliance"):
            token = csrf_of(proxy.get("/login").text)
            proxy.post(
                "/login",
                headers=first,
                data={"username": name, "password": WRONG, "csrf_token": token},
            )
        attempt = {
            "username": "admin",
            "password": WRONG,
            "csrf_token": csrf_of(proxy.get("/login").text),
        }
        other = proxy.post("/login", headers={"X-Forwarded-For": "198.51.100.8"}, data=attempt)
    # Behind a proxy, clients are told apart by the address it forwards; without one,
    # the header is anyone's to write and is ignored: the connection's address counts.
    assert other.status_code == (200 if proxies else 429)
