"""Gmail Postmaster Tools v2 against a loopback stand-in of the API and Google's token endpoint."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.gmail_api import parse_compliance
from monitor.targets import add_domain
from store.engine import make_engine, session_factory, upgrade_database
from store.receivers import GmailDay, ReceiverCredential
from tests.conftest import CliResult, postwarden
from tests.gmail_server import REFRESH_TOKEN, Postmaster, postmaster_server

TODAY = datetime.now(UTC).date()
DAYS = [TODAY - timedelta(days=n) for n in (5, 4, 3, 2, 1)]
COMPLIANCE = {
    "name": "domains/sender.example/complianceStatus",
    "complianceData": {
        "domainId": "sender.example",
        "rowData": [
            {"requirement": "SPF", "status": {"status": "COMPLIANT"}},
            {"requirement": "ENCRYPTION", "status": {"status": "COMPLIANT"}},
            {"requirement": "USER_REPORTED_SPAM_RATE", "status": {"status": "NEEDS_WORK"}},
        ],
        "honorUnsubscribeVerdict": {"status": {"status": "COMPLIANT"}},
        "oneClickUnsubscribeVerdict": {
            "status": {"status": "NEEDS_WORK"},
            "reason": "NO_UNSUB_PROMO_SPAM_REPORTS",
        },
    },
}


def test_compliance_rows_and_verdicts_become_requirements() -> None:
    assert parse_compliance(COMPLIANCE) == {
        "spf": {"status": "compliant", "reason": None},
        "encryption": {"status": "compliant", "reason": None},
        "user_reported_spam_rate": {"status": "needs_work", "reason": None},
        "honor_unsubscribe": {"status": "compliant", "reason": None},
        "one_click_unsubscribe": {"status": "needs_work", "reason": "NO_UNSUB_PROMO_SPAM_REPORTS"},
    }


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Postmaster]:
    with postmaster_server(tmp_path) as state:
        state.days["sender.example"] = {
            day: {
                "spam_rate": 0.0012 + n / 10000,
                "spf_success_rate": 0.99,
                "tls_inbound_rate": 0.97,
                "delivery_error_rate": 0.01,
            }
            for n, day in enumerate(DAYS)
        }
        state.compliance["sender.example"] = COMPLIANCE
        state.errors["unverified.example"] = (403, "PERMISSION_DENIED")
        state.errors["busy.example"] = (429, "RESOURCE_EXHAUSTED")
        yield state


def setup(tmp_path: Path, api: Postmaster, database_url: str) -> dict[str, str]:
    (tmp_path / "client.json").write_text(json.dumps({"installed": {
        "client_id": "123.apps.googleusercontent.com", "client_secret": "client-secret",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "redirect_uris": ["http://localhost"]}}))  # fmt: skip
    (tmp_path / "postwarden.toml").write_text(
        f'[database]\nurl = "{database_url}"\n'
        f'[gmail]\nclient_secrets_file = "client.json"\napi_url = "{api.url}"\n'
        f'token_url = "{api.url}/token"\nkey_file = "gmail.key"\n'
    )
    engine = make_engine(database_url)
    upgrade_database(engine)
    with session_factory(engine)() as session:
        for name in ("sender.example", "unverified.example", "busy.example"):
            add_domain(session, name, datetime.now(UTC))
        session.commit()
    engine.dispose()
    return {
        "POSTWARDEN_CONFIG": str(tmp_path / "postwarden.toml"),
        "REQUESTS_CA_BUNDLE": api.ca_file,
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> CliResult:
    return postwarden(*args, env=env, input_text=stdin)


def connect(env: dict[str, str]) -> CliResult:
    return run(env, "gmail", "connect", "--no-browser",
               stdin="http://localhost/?state=x&code=good-code&scope=postmaster\n")  # fmt: skip


def test_connect_keeps_the_refresh_token_encrypted_and_never_prints_it(
    tmp_path: Path, api: Postmaster, database_url: str
) -> None:
    env = setup(tmp_path, api, database_url)
    result = connect(env)
    assert result.code == 0, result.stderr
    assert REFRESH_TOKEN not in result.stdout + result.stderr
    assert "accounts.google.com" in result.stderr and "access_type=offline" in result.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "gmail.key").st_mode) == 0o600
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        row = session.get(ReceiverCredential, "gmail")
    engine.dispose()
    assert row is not None and REFRESH_TOKEN not in row.ciphertext
    status = run(env, "gmail", "status", "--format", "json")
    assert status.code == 0 and status.json()["connected"] is True
    assert REFRESH_TOKEN not in status.stdout


def test_a_wrong_code_is_one_line_and_stores_nothing(
    tmp_path: Path, api: Postmaster, database_url: str
) -> None:
    env = setup(tmp_path, api, database_url)
    result = run(env, "gmail", "connect", "--no-browser", stdin="bad-code\n")
    assert result.code == 3
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("postwarden: error: Google did not grant access: (invalid_grant)")
    )
    assert run(env, "gmail", "status", "--format", "json").json()["connected"] is False


def test_fetch_pages_through_the_days_marks_403_unverified_and_429_error(
    tmp_path: Path, api: Postmaster, database_url: str
) -> None:
    env = setup(tmp_path, api, database_url)
    assert connect(env).code == 0
    result = run(env, "gmail", "fetch")
    assert result.code == 3
    assert "1 of 3 domains fetched; error: busy.example, unverified.example" in result.stdout
    pages = [r for r in api.requests if r[1] == "/v2/domains/sender.example/domainStats:query"]
    assert len(pages) == 7  # 20 values, 3 a page
    report = run(env, "gmail", "status", "--format", "json").json()
    sender = report["domains"]["sender.example"]
    assert (sender["verified"], sender["status"], sender["last_day"]) == (
        True,
        "pass",
        DAYS[-1].isoformat(),
    )
    assert sender["spam_rate"] == pytest.approx(0.0016)
    assert sender["compliance"]["user_reported_spam_rate"]["status"] == "needs_work"
    unverified = report["domains"]["unverified.example"]
    assert (unverified["verified"], unverified["status"]) == (False, "error")
    assert unverified["error"].startswith("PERMISSION_DENIED")
    busy = report["domains"]["busy.example"]
    assert busy["status"] == "error" and busy["error"].startswith("RESOURCE_EXHAUSTED")
    assert busy["spam_rate"] is None and busy["compliance"] == {}
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        stored = {d.day: d.metrics for d in session.scalars(select(GmailDay))}
    engine.dispose()
    assert sorted(stored) == DAYS
    assert stored[DAYS[0]]["tls_inbound_rate"] == 0.97

    api.requests.clear()
    assert run(env, "gmail", "fetch").code == 3
    asked = [
        date(d["year"], d["month"], d["day"])
        for method, path, body in api.requests
        if path == "/v2/domains/sender.example/domainStats:query"
        for d in body["timeQuery"]["dateList"]["dates"]
    ]
    assert asked and not set(asked) & set(DAYS)  # stored days are not asked for again


def test_an_expired_refresh_token_makes_every_domain_error_and_asks_to_reconnect(
    tmp_path: Path, api: Postmaster, database_url: str
) -> None:
    env = setup(tmp_path, api, database_url)
    assert connect(env).code == 0
    api.expired = True
    result = run(env, "gmail", "fetch")
    assert result.code == 3 and "postwarden gmail connect" in result.stdout
    report = run(env, "gmail", "status", "--format", "json").json()
    assert {d["status"] for d in report["domains"].values()} == {"error"}
    assert all("invalid_grant" in d["error"] for d in report["domains"].values())
