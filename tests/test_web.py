"""The dashboard, API and metrics through Flask's test client: every route per role,
CSRF, security headers, the OpenAPI document against the routes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitor.settings import Settings, WebSettings
from store.engine import open_database, session_factory
from tests.dashboard_data import PASSWORD, ROLES, open_alert, populate
from web.api import ROUTES
from web.app import create_app


def populated_app(
    directory: Path, seed: Callable[[Path, str], object] | None = None
) -> Iterator[Flask]:
    """An app over the dashboard's example data, plus what ``seed(directory, url)`` adds;
    its API tokens by role in ``config["POSTWARDEN_TOKENS"]``."""
    url = f"sqlite:///{directory / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    tokens = populate(sessions)
    if seed is not None:
        seed(directory, url)
    settings = Settings(database_url=url, web=WebSettings(secret_key="test-key"))
    flask_app = create_app(settings, sessions)
    flask_app.config["POSTWARDEN_TOKENS"] = tokens
    yield flask_app
    flask_app.extensions["postwarden_inbox"].close()
    engine.dispose()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield from populated_app(tmp_path)


@pytest.fixture(scope="module")
def pages_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One populated app for the tests that only sign in and read pages (the role matrix):
    built once, not once for each of its sixty cases."""
    yield from populated_app(tmp_path_factory.mktemp("pages"))


class HttpsClient(FlaskClient):
    """Session cookies are Secure: the test client speaks https like a real deployment."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", "https://localhost")
        # Over https, Flask-WTF also wants a same-site Referer, as browsers send.
        kwargs.setdefault("headers", {}).setdefault("Referer", "https://localhost/")
        return super().open(*args, **kwargs)


def client(app: Flask) -> FlaskClient:
    app.test_client_class = HttpsClient
    return app.test_client()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def logged_in(app: Flask, role: str) -> FlaskClient:
    browser = client(app)
    token = csrf_of(browser.get("/login").get_data(as_text=True))
    response = browser.post(
        "/login", data={"username": role, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return browser


PAGES = ["/", "/domains/broken.example", "/alerts", "/alerts?state=open", "/rates",
         "/compliance/", "/messages", "/settings/targets", "/settings/", "/account",
         "/compliance/offenders/consent_missing.csv", "/fragments/overview",
         "/fragments/alerts?state=open", "/compliance/offenders/consent_missing",
         "/compliance/offenders/consent_missing?addresses=full"]  # fmt: skip
# Which roles may open which page (admin: all).
ALLOWED = {
    "/settings/targets": {"admin", "postmaster"},
    "/settings/": {"admin"},
    "/compliance/offenders/consent_missing.csv": {"admin", "compliance"},
    "/compliance/offenders/consent_missing": {"admin", "compliance"},
    "/compliance/offenders/consent_missing?addresses=full": {"admin", "compliance"},
}


@pytest.mark.parametrize("page", PAGES)
def test_an_outsider_is_sent_to_the_login_page(pages_app: Flask, page: str) -> None:
    response = client(pages_app).get(page)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_each_role_sees_its_pages_and_only_those(pages_app: Flask, role: str, page: str) -> None:
    response = logged_in(pages_app, role).get(page)
    expected = 200 if role in ALLOWED.get(page, set(ROLES)) else 403
    assert response.status_code == expected


def test_the_overview_shows_the_failing_domain_and_its_alert(app: Flask) -> None:
    page = logged_in(app, "postmaster").get("/").get_data(as_text=True)
    assert "broken.example" in page and "fine.example" in page
    assert page.index("broken.example") < page.index("fine.example")  # worst first
    assert "Gmail bulk-sender requirements" in page
    assert "dmarc" in page and "Acknowledge" not in page  # acknowledging is on the alert pages
    detail = logged_in(app, "postmaster").get("/domains/broken.example").get_data(as_text=True)
    assert "DMARC_MISSING" in detail and "Fix:" in detail
    assert "first seen" in detail  # the timeline shows changes, not every run


def test_acknowledging_an_alert_needs_csrf_and_the_role(app: Flask) -> None:
    browser = logged_in(app, "postmaster")
    page = browser.get("/alerts?state=open").get_data(as_text=True)
    alert_id = re.search(r"/alerts/(\d+)/acknowledge", page).group(1)  # type: ignore[union-attr]
    refused = browser.post(f"/alerts/{alert_id}/acknowledge", data={})
    assert refused.status_code == 400  # no CSRF token
    done = browser.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 302
    assert "acknowledged by postmaster" in browser.get("/alerts").get_data(as_text=True)
    reader = logged_in(app, "compliance")
    token = csrf_of(reader.get("/alerts").get_data(as_text=True))
    assert (
        reader.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": token}).status_code
        == 403
    )


def test_erasure_is_for_admins_and_must_be_confirmed(app: Flask) -> None:
    compliance = logged_in(app, "compliance")
    token = csrf_of(compliance.get("/compliance/").get_data(as_text=True))
    data = {"address": "ann@example.org", "confirm": "ann@example.org", "csrf_token": token}
    assert compliance.post("/compliance/erase", data=data).status_code == 403
    admin = logged_in(app, "admin")
    token = csrf_of(admin.get("/compliance/").get_data(as_text=True))
    unconfirmed = admin.post(
        "/compliance/erase",
        follow_redirects=True,
        data={"address": "ann@example.org", "confirm": "bob@example.org", "csrf_token": token},
    )
    assert "Type the address twice" in unconfirmed.get_data(as_text=True)
    erased = admin.post(
        "/compliance/erase", data={**data, "csrf_token": token}, follow_redirects=True
    )
    assert "Erased ann@example.org: 1 contact record(s) removed" in erased.get_data(as_text=True)


def test_the_offenders_csv(app: Flask) -> None:
    response = logged_in(app, "compliance").get("/compliance/offenders/consent_missing.csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("list_name,address,status") and lines[1].startswith(
        "default,ann@example.org,subscribed"
    )


def test_wrong_passwords_and_foreign_redirects(app: Flask) -> None:
    browser = client(app)
    token = csrf_of(browser.get("/login").get_data(as_text=True))
    wrong = browser.post(
        "/login", data={"username": "admin", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 200 and "Wrong user name or password" in wrong.get_data(True)
    away = browser.post(
        "/login?next=https://evil.example/",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
    )
    assert away.headers["Location"] == "/"


def test_security_headers_and_cookie_flags(app: Flask) -> None:
    browser = client(app)
    response = browser.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    token = csrf_of(response.get_data(as_text=True))
    login = browser.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    cookie = login.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_api_needs_a_token_and_answers_json(app: Flask) -> None:
    api = client(app)
    assert api.get("/api/v1/targets").status_code == 401
    assert (
        api.get("/api/v1/targets", headers={"Authorization": "Bearer pw_wrong"}).status_code == 401
    )
    token = app.config["POSTWARDEN_TOKENS"]["compliance"]
    headers = {"Authorization": f"Bearer {token}"}
    targets = api.get("/api/v1/targets", headers=headers).get_json()
    assert [t["target"] for t in targets] == ["broken.example", "fine.example"]
    assert targets[0]["status"] == "fail" and targets[0]["checks"]["dmarc"] == "fail"
    detail = api.get("/api/v1/targets/broken.example", headers=headers).get_json()
    assert detail["checks"]["dmarc"]["findings"][0]["code"] == "DMARC_MISSING"
    assert api.get("/api/v1/targets/nowhere.example", headers=headers).status_code == 404
    alerts = api.get("/api/v1/alerts?state=open", headers=headers).get_json()
    assert [(a["target"], a["check"]) for a in alerts] == [("broken.example", "dmarc")]
    assert "profiles" in api.get("/api/v1/rates", headers=headers).get_json()
    assert api.get("/api/v1/audits", headers=headers).get_json() == []
    history = api.get("/api/v1/targets/broken.example/history", headers=headers).get_json()
    assert {(h["check"], h["status"]) for h in history} == {("dmarc", "fail"), ("spf", "pass")}


def test_the_openapi_document_matches_the_routes(app: Flask) -> None:
    document = client(app).get("/api/v1/openapi.json").get_json()
    registered = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
    }
    assert set(document["paths"]) == registered
    assert len(ROUTES) == len(registered)


def test_metrics_in_prometheus_text(app: Flask) -> None:
    assert client(app).get("/metrics").status_code == 401
    token = app.config["POSTWARDEN_TOKENS"]["postmaster"]
    text = client(app).get("/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(True)
    assert 'postwarden_check_status{check="dmarc",target="broken.example"} 3.0' in text
    assert 'postwarden_check_status{check="spf",target="fine.example"} 0.0' in text
    assert 'postwarden_inbox_waiting{unit="events"} 0.0' in text
    inbox = app.extensions["postwarden_inbox"]  # two webhook requests accepted, not imported
    for records in ([{"a": 1}, {"b": 2}], [{"c": 3}]):
        inbox.append("postmark", records, len(records), datetime.now(UTC))
    text = client(app).get("/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(True)
    assert 'postwarden_inbox_waiting{unit="requests"} 2.0' in text
    assert 'postwarden_inbox_waiting{unit="events"} 3.0' in text


def test_health_needs_no_login(app: Flask) -> None:
    assert client(app).get("/healthz").get_json()["status"] == "ok"


def test_users_are_added_on_the_command_line(tmp_path: Path) -> None:
    from tests.conftest import postwarden

    db = f"sqlite:///{tmp_path / 'u.db'}"
    short = postwarden("users", "add", "ada", "--role", "admin", "--password-stdin", "--db", db,
                       input_text="short\n")  # fmt: skip
    assert short.code == 3
    assert "at least 12 characters" in short.stderr
    added = postwarden("users", "add", "ada", "--role", "admin", "--password-stdin", "--db", db,
                       input_text=PASSWORD + "\n")  # fmt: skip
    assert added.code == 0 and added.stdout.strip() == "user ada added (admin)"
    assert postwarden("users", "list", "--db", db).stdout.split() == ["ada", "admin"]
    token = postwarden("users", "token", "ada", "--db", db).stdout.strip()
    assert token.startswith("pw_") and len(token) > 40


def test_settings_send_a_test_and_manage_users_and_tokens(tmp_path: Path) -> None:
    from dataclasses import replace

    from monitor.settings import AlertSettings
    from tests.servers import webhook_server

    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    populate(sessions)
    with webhook_server() as hook:
        settings = Settings(
            database_url=url,
            web=WebSettings(secret_key="k"),
            alerts=replace(AlertSettings(), webhook_urls=(hook.url,)),
        )
        app = create_app(settings, sessions)
        admin = logged_in(app, "admin")
        page = admin.get("/settings/").get_data(as_text=True)
        assert "webhook:0" in page
        token = csrf_of(page)
        sent = admin.post(
            "/settings/channels/webhook:0/test", data={"csrf_token": token}, follow_redirects=True
        )
        assert "webhook:0: test sent." in sent.get_data(as_text=True)
        assert hook.received[0].json()["event"] == "test"
    added = admin.post(
        "/settings/users",
        follow_redirects=True,
        data={"csrf_token": token, "username": "grace", "password": PASSWORD, "role": "compliance"},
    )
    assert "User grace added." in added.get_data(as_text=True)
    made = admin.post(
        "/settings/tokens",
        follow_redirects=True,
        data={"csrf_token": token, "username": "grace", "name": "grafana"},
    )
    value = re.search(r"not shown again: <code>(pw_[\w-]+)", made.get_data(as_text=True))
    assert value is not None
    api = client(app)
    headers = {"Authorization": f"Bearer {value.group(1)}"}
    assert api.get("/api/v1/alerts", headers=headers).status_code == 200
    with session_factory(engine)() as session:
        from sqlalchemy import select

        from store.users import ApiToken

        grafana = session.scalar(select(ApiToken).where(ApiToken.name == "grafana"))
        assert grafana is not None and grafana.last_used_at is not None
    admin.post(f"/settings/tokens/{grafana.id}/revoke", data={"csrf_token": token})
    assert api.get("/api/v1/alerts", headers=headers).status_code == 401
    engine.dispose()


def test_the_rates_page_draws_each_profile_on_its_own_traffic(app: Flask, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from compliance.events.importer import import_file
    from store.engine import session_factory as sessions_of

    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    rows = ["event_id,type,bounce_type,recipient,time,campaign,message_id"]
    for n in range(300):
        domain = "gmail.com" if n % 2 else "example.org"
        at = (today - timedelta(days=n % 5)).isoformat()
        rows.append(f"d{n},delivered,,u{n}@{domain},{at},autumn,m{n}")
        if domain == "gmail.com" and n % 10 == 1:
            rows.append(f"c{n},complaint,,u{n}@{domain},{at},autumn,m{n}")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    engine = app.config["POSTWARDEN_SESSIONS"].kw["bind"]
    with sessions_of(engine)() as session:
        import_file(session, path, source="csv", now=datetime.now(UTC))
        session.commit()
    page = logged_in(app, "compliance").get("/rates").get_data(as_text=True)
    assert page.count("<svg") >= 4 and "Gmail: complaint rate" in page
    # no bounces at all: a one-line note, not an empty panel
    assert "Baseline (all traffic): bounce rate: 0.00% on every day (5 days with mail)." in page
    campaigns = page[page.index("<h2>Campaigns</h2>") : page.index("<h2>Daily")]
    assert "<td>autumn</td><td>300</td><td>300</td><td>0.00%</td><td>10.00%</td>" in campaigns


def test_a_user_changes_their_password(app: Flask) -> None:
    browser = logged_in(app, "compliance")
    token = csrf_of(browser.get("/account").get_data(as_text=True))
    attempt = {"csrf_token": token, "current": "nope", "new": "x" * 12}
    wrong = browser.post("/account", follow_redirects=True, data=attempt)
    assert "the current password is wrong" in wrong.get_data(as_text=True)
    done = browser.post(
        "/account",
        follow_redirects=True,
        data={"csrf_token": token, "current": PASSWORD, "new": "a much longer secret"},
    )
    assert "Password changed." in done.get_data(as_text=True)
    fresh = client(app)
    token = csrf_of(fresh.get("/login").get_data(as_text=True))
    credentials = {"username": "compliance", "password": "a much longer secret"}
    login = fresh.post("/login", data={**credentials, "csrf_token": token})
    assert login.status_code == 302


def test_check_now_runs_the_real_checks_and_records_them(tmp_path: Path) -> None:
    from checks.dns import DnsSettings, parse_nameserver
    from checks.zoneserver import ZoneServer
    from tests.conftest import zone

    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    populate(sessions)
    records = zone(
        '@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\n@ MX 10 mx\nmx A 192.0.2.25\n'
    )
    with ZoneServer({"broken.example.": records}) as server:
        dns = DnsSettings((parse_nameserver(server.nameserver),), timeout=0.5, retries=0)
        app = create_app(
            Settings(database_url=url, dns=dns, web=WebSettings(secret_key="k")), sessions
        )
        browser = logged_in(app, "postmaster")
        page = browser.get("/domains/broken.example").get_data(as_text=True)
        done = browser.post(
            "/targets/domain/broken.example/check",
            data={"csrf_token": csrf_of(page)},
            follow_redirects=True,
        )
    text = done.get_data(as_text=True)
    assert "Checked broken.example." in text
    assert "fail → " in text and "PASS</span>" in text  # dmarc's change shows in the history
    engine.dispose()


def test_the_overview_fragment_is_the_live_part_of_the_page_and_shows_new_alerts(
    app: Flask,
) -> None:
    browser = logged_in(app, "compliance")
    page = browser.get("/").get_data(as_text=True)
    assert 'data-live-url="/fragments/overview?page=1"' in page
    assert '<script src="/static/live.js" defer></script>' in page
    before = browser.get("/fragments/overview?page=1")
    assert before.headers["X-Postwarden-Fragment"] and before.headers["Cache-Control"] == "no-store"
    fragment = before.get_data(as_text=True)
    assert "<nav>" not in fragment and "<html" not in fragment  # a part, not a page
    assert "broken.example" in fragment and "Gmail bulk-sender requirements" in fragment
    assert "DKIM key revoked" not in fragment
    open_alert(app.config["POSTWARDEN_SESSIONS"], "fine.example", "dkim", "DKIM key revoked")
    after = browser.get("/fragments/overview?page=1").get_data(as_text=True)
    assert "DKIM key revoked" in after  # alerts are live, not cached with the figures


def test_the_alerts_fragment_keeps_the_filters(app: Flask) -> None:
    browser = logged_in(app, "postmaster")
    page = browser.get("/alerts?state=resolved").get_data(as_text=True)
    assert 'data-live-url="/fragments/alerts?state=resolved&amp;page=1"' in page
    open_alert(app.config["POSTWARDEN_SESSIONS"], "fine.example", "dkim", "DKIM key revoked")
    resolved = browser.get("/fragments/alerts?state=resolved").get_data(as_text=True)
    assert "DKIM key revoked" not in resolved and "No alerts." in resolved
    opened = browser.get("/fragments/alerts?state=open").get_data(as_text=True)
    assert "DKIM key revoked" in opened and "Acknowledge" in opened  # postmaster may
    assert browser.get("/fragments/alerts?state=bogus").status_code == 400


def test_the_live_refresh_script_is_served_under_the_csp(app: Flask) -> None:
    with client(app).get("/static/live.js") as script:  # a file response: closed after
        assert script.status_code == 200 and "javascript" in str(script.mimetype)
        source = script.get_data(as_text=True)
        csp = script.headers["Content-Security-Policy"]
    assert "X-Postwarden-Fragment" in source and "visibilitychange" in source
    assert "script-src 'self'" in csp


def add_unconsented_contacts(app: Flask, count: int) -> None:
    """``count`` subscribed contacts without consent (consent_missing), after ann's."""
    from store.contacts import Contact
    from tests.dashboard_data import NOW

    with app.config["POSTWARDEN_SESSIONS"]() as session:
        for n in range(count):
            session.add(Contact(list_name="default", address=f"user{n:02}@example.net",
                                domain="example.net", status="subscribed", first_seen_at=NOW,
                                updated_at=NOW))  # fmt: skip
        session.commit()


def offender_addresses(page: str) -> list[str]:
    return re.findall(r"<tr><td>default</td><td>([^<]+)</td>", page)


def test_the_offenders_table_is_paged_in_sql_with_masked_addresses(app: Flask) -> None:
    add_unconsented_contacts(app, 60)  # 61 offenders with ann: two pages of 50
    officer = logged_in(app, "compliance")
    first = officer.get("/compliance/offenders/consent_missing").get_data(as_text=True)
    shown = offender_addresses(first)
    assert len(shown) == 50 and shown[0] == "a***@example.org" and shown[1] == "u***@example.net"
    assert "ann@example.org" not in first and "user00@example.net" not in first
    assert "61 contact(s)" in first and "offenders CSV" in first and "previous" not in first
    following = re.search(r'href="(/compliance/offenders/consent_missing\?after=\d+)"', first)
    assert following is not None
    second = officer.get(following.group(1)).get_data(as_text=True)
    assert len(offender_addresses(second)) == 11 and "next →" not in second
    back = re.search(r'href="(/compliance/offenders/consent_missing\?before=\d+)"', second)
    assert back is not None
    assert offender_addresses(officer.get(back.group(1)).get_data(as_text=True)) == shown
    full = officer.get("/compliance/offenders/consent_missing?addresses=full").get_data(True)
    assert offender_addresses(full)[:2] == ["ann@example.org", "user00@example.net"]
    assert "addresses=full" in re.search(r'href="([^"]*after=[^"]*)"', full).group(1)  # type: ignore[union-attr]
    assert officer.get("/compliance/offenders/no_such_rule").status_code == 404
    none = officer.get("/compliance/offenders/mailed_after_complaint").get_data(as_text=True)
    assert offender_addresses(none) == [] and "No offenders." in none


def test_a_postmaster_sees_rule_counts_but_no_offender_addresses(app: Flask) -> None:
    postmaster = logged_in(app, "postmaster")
    summary = postmaster.get("/compliance/").get_data(as_text=True)
    assert "consent_missing" in summary and "a***@example.org" in summary
    assert "ann@example.org" not in summary and "/compliance/offenders/" not in summary
    for url in (
        "/compliance/offenders/consent_missing?addresses=full",
        "/compliance/offenders/consent_missing?after=0",
    ):
        response = postmaster.get(url)
        assert response.status_code == 403 and "example.org" not in response.get_data(True)


def requirement_cards(page: str) -> dict[str, dict[str, str]]:
    """{provider: {requirement: status}} as the overview's cards show them."""
    cards: dict[str, dict[str, str]] = {}
    for name, body in re.findall(r'id="requirements-(\w+)">(.*?)</div>', page, re.S):
        items = re.findall(r'data-requirement="(\w+)"><span class="status (\w+)"', body)
        cards[name] = dict(items)
    return cards


@pytest.fixture
def compliant_sender(tmp_path: Path) -> Iterator[Flask]:
    """A sender whose authentication, messages, list and rates meet Microsoft's rules,
    but whose messages lack RFC 8058 one-click unsubscribe (Gmail and Yahoo require it)."""
    from datetime import UTC, datetime, timedelta

    from checks.results import (
        DkimResult,
        DkimSelectorResult,
        DmarcResult,
        PtrResult,
        SpfResult,
        TargetResult,
    )
    from compliance.audit.list_audit import run_audit, store_audit
    from compliance.events.importer import import_file
    from monitor.history import record_run
    from monitor.targets import add_domain, add_ip
    from monitor.users import add_user
    from store.messages import MessageAudit

    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    rows = ["event_id,type,bounce_type,recipient,time,campaign,message_id"]
    for n in range(300):
        domain = "outlook.com" if n % 2 else "gmail.com"
        rows.append(
            f"d{n},delivered,,u{n}@{domain},{(now - timedelta(hours=n)).isoformat()},winter,m{n}"
        )
    events = tmp_path / "events.csv"
    events.write_text("\n".join(rows) + "\n")
    with sessions() as session:
        add_user(session, "compliance", PASSWORD, "compliance", now)
        add_domain(session, "sender.example", now, selectors=["s1"])
        add_ip(session, "192.0.2.25", now)
        record_run(session, [
            TargetResult("sender.example", "domain", {
                "spf": SpfResult(record="v=spf1 ip4:192.0.2.25 -all"),
                "dmarc": DmarcResult(record="v=DMARC1; p=reject", policy="reject"),
                "dkim": DkimResult(selectors={"s1": DkimSelectorResult(key_type="rsa",
                                                                       key_bits=2048)}),
            }),
            TargetResult("192.0.2.25", "ip", {"ptr": PtrResult(hostnames=("mx.sender.example",),
                                                                fcrdns=True)}),
        ], started_at=now, finished_at=now)  # fmt: skip
        for n in range(3):
            session.add(MessageAudit(
                audited_at=now, source=f"winter-{n}.eml", status="fail", findings=[],
                checks={"list_unsubscribe": "pass", "one_click": "fail", "dkim": "pass",
                        "body_unsubscribe": "pass"},
            ))  # fmt: skip
        import_file(session, events, source="csv", now=now)
        store_audit(session, run_audit(session, now.date()), now)
        session.commit()
    yield create_app(Settings(database_url=url, web=WebSettings(secret_key="k")), sessions)
    engine.dispose()


def test_each_provider_card_judges_its_own_requirements(compliant_sender: Flask) -> None:
    page = logged_in(compliant_sender, "compliance").get("/").get_data(as_text=True)
    cards = requirement_cards(page)
    assert list(cards) == ["gmail", "yahoo", "microsoft"]
    # Microsoft names no one-click unsubscribe: everything it asks for holds.
    assert cards["microsoft"] == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "pass",
        "dmarc_alignment": "pass",
        "unsubscribe_link": "pass",
        "rates": "pass",
    }
    assert cards["gmail"]["one_click_unsubscribe"] == "fail"
    assert cards["yahoo"]["one_click_unsubscribe"] == "fail"
    assert cards["gmail"]["ptr"] == "pass" and cards["gmail"]["unsubscribe_within_2_days"] == "pass"
    assert cards["gmail"]["rates"] == "pass" and cards["gmail"]["unsubscribe_link"] == "pass"
    # Not something Postwarden can see: never a pass, and "no data" rather than ERROR
    assert cards["gmail"]["tls"] == "notjudged"
    assert re.search(r'data-requirement="tls"><span class="status notjudged">no data</span>', page)
    assert "0 of 3 messages audited since" in page and "no complaints of 150 delivered" in page


def test_requirements_without_evidence_are_unknown_never_passed(app: Flask) -> None:
    # The dashboard world: two domains (one never DKIM-checked), no IP, no audited
    # message, no events, no stored list audit.
    cards = requirement_cards(logged_in(app, "postmaster").get("/").get_data(as_text=True))
    for name in ("gmail", "yahoo"):
        assert cards[name]["spf"] == "pass" and cards[name]["dmarc"] == "fail"
        for requirement in ("dmarc_alignment", "ptr", "one_click_unsubscribe",
                            "unsubscribe_within_2_days"):  # fmt: skip
            assert cards[name][requirement] == "error", (name, requirement)
        # No domain's DKIM checked yet: pending, not ERROR; too little mail: not judged.
        assert cards[name]["dkim"] == "pending" and cards[name]["rates"] == "notjudged"
    assert cards["microsoft"]["unsubscribe_link"] == "error" and "ptr" not in cards["microsoft"]
