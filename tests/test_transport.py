"""MTA-STS, TLS-RPT and STARTTLS: pure rules on literal input, then the probes against
loopback DNS, HTTPS and SMTP servers with certificates from a test CA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks.dns import DnsSettings, parse_nameserver
from checks.mta_sts import MtaStsFacts, PolicyFetch, evaluate_mta_sts, mx_matches, parse_policy
from checks.results import TargetResult
from checks.sweep import check_targets
from checks.targets import parse_target
from checks.tls_rpt import TlsRptFacts, evaluate_tls_rpt
from checks.transport import PreviousPolicy, TransportPlan, TransportSettings
from checks.zoneserver import ZoneServer
from tests.conftest import postwarden, zone
from tests.tls_servers import CertificateAuthority, HttpsServer, Page, https_server, starttls_server

POLICY = "version: STSv1\nmode: enforce\nmx: mx.secure.test\nmx: *.backup.test\nmax_age: 604800\n"


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


# -- pure rules -------------------------------------------------------------------------


def test_mx_patterns_match_one_leftmost_label() -> None:
    assert mx_matches("mx.secure.test", "MX.secure.test.")
    assert mx_matches("*.backup.test", "a.backup.test")
    assert not mx_matches("*.backup.test", "a.b.backup.test")
    assert not mx_matches("*.backup.test", "backup.test")


def test_a_policy_without_mx_lines_or_with_a_bad_mode_is_invalid() -> None:
    assert parse_policy(POLICY).problems == ()
    bad = parse_policy("version: STSv1\nmode: strict\nmax_age: soon\n")
    assert len(bad.problems) == 2
    assert parse_policy("version: STSv1\nmode: enforce\nmax_age: 86400\n").problems == (
        "no mx: line",
    )


def facts(policy: str = POLICY, **kwargs: object) -> MtaStsFacts:
    values: dict[str, object] = {
        "records": ["v=STSv1; id=2026a"],
        "fetch": PolicyFetch(text=policy),
        "mx_hosts": ["mx.secure.test", "b.backup.test"],
    }
    values.update(kwargs)
    return MtaStsFacts(**values)  # type: ignore[arg-type]


def test_an_enforce_policy_covering_every_mx_passes() -> None:
    result = evaluate_mta_sts("secure.test", facts())
    assert result.status == "pass"
    assert (result.mode, result.max_age, result.policy_id) == ("enforce", 604800, "2026a")
    assert result.mx_patterns == ("mx.secure.test", "*.backup.test")


def test_an_mx_host_outside_the_patterns_fails() -> None:
    result = evaluate_mta_sts("secure.test", facts(mx_hosts=["mx.secure.test", "mx.other.test"]))
    assert codes(result) == {"MTA_STS_MX_NOT_COVERED"} and result.status == "fail"


def test_max_age_bounds() -> None:
    long = POLICY.replace("604800", "31557601")
    short = POLICY.replace("604800", "3600")
    assert codes(evaluate_mta_sts("secure.test", facts(long))) == {"MTA_STS_MAX_AGE_TOO_LONG"}
    assert codes(evaluate_mta_sts("secure.test", facts(short))) == {"MTA_STS_MAX_AGE_SHORT"}


def test_a_policy_that_changed_under_the_same_id_warns() -> None:
    before = PreviousPolicy("2026a", "0" * 64, "enforce")
    result = evaluate_mta_sts("secure.test", facts(previous=before))
    assert codes(result) == {"MTA_STS_ID_UNCHANGED"} and result.status == "warn"
    same = PreviousPolicy("2026a", result.policy_sha256 or "", "enforce")
    assert evaluate_mta_sts("secure.test", facts(previous=same)).status == "pass"
    renamed = PreviousPolicy("2025z", "0" * 64, "enforce")
    assert evaluate_mta_sts("secure.test", facts(previous=renamed)).status == "pass"


def test_an_unreachable_policy_is_error_and_names_enforce_when_it_was() -> None:
    down = PolicyFetch(failure="connect", reason="refused")
    plain = evaluate_mta_sts("secure.test", facts(fetch=down))
    assert codes(plain) == {"MTA_STS_POLICY_UNREACHABLE"} and plain.status == "error"
    was = PreviousPolicy("2026a", "0" * 64, "enforce")
    enforced = evaluate_mta_sts("secure.test", facts(fetch=down, previous=was))
    assert codes(enforced) == {"MTA_STS_ENFORCE_UNREACHABLE"} and enforced.status == "error"


def test_refused_fetches_are_misconfiguration_not_error() -> None:
    for failure, code in (
        ("redirect", "MTA_STS_POLICY_REDIRECT"),
        ("certificate", "MTA_STS_POLICY_CERTIFICATE"),
        ("too_large", "MTA_STS_POLICY_TOO_LARGE"),
    ):
        result = evaluate_mta_sts("secure.test", facts(fetch=PolicyFetch(failure=failure)))
        assert codes(result) == {code} and result.status == "fail"
    missing = PolicyFetch(failure="status", status=404)
    assert evaluate_mta_sts("secure.test", facts(fetch=missing)).status == "fail"
    broken = PolicyFetch(failure="status", status=503)
    assert evaluate_mta_sts("secure.test", facts(fetch=broken)).status == "error"


def test_record_rules() -> None:
    assert codes(evaluate_mta_sts("x.test", MtaStsFacts())) == {"MTA_STS_MISSING"}
    assert evaluate_mta_sts("x.test", MtaStsFacts()).status == "pass"
    two = MtaStsFacts(records=["v=STSv1; id=a", "v=STSv1; id=b"])
    assert codes(evaluate_mta_sts("x.test", two)) == {"MTA_STS_RECORD_MULTIPLE"}
    bad = MtaStsFacts(records=["v=STSv1; id=not-valid!"])
    assert codes(evaluate_mta_sts("x.test", bad)) == {"MTA_STS_RECORD_INVALID"}


def test_tls_rpt_rules() -> None:
    good = evaluate_tls_rpt("x.test", TlsRptFacts(["v=TLSRPTv1; rua=mailto:tls@x.test"]))
    assert good.status == "pass" and good.rua == ("mailto:tls@x.test",)
    assert evaluate_tls_rpt("x.test", TlsRptFacts()).status == "pass"
    assert codes(evaluate_tls_rpt("x.test", TlsRptFacts(policy_in_use=True))) == {
        "TLSRPT_MISSING_WITH_POLICY"
    }
    bad = TlsRptFacts(["v=TLSRPTv1; rua=ftp://x.test"])
    assert codes(evaluate_tls_rpt("x.test", bad)) == {"TLSRPT_RECORD_INVALID"}
    two = TlsRptFacts(["v=TLSRPTv1; rua=mailto:a@x.test", "v=TLSRPTv1; rua=mailto:b@x.test"])
    assert codes(evaluate_tls_rpt("x.test", two)) == {"TLSRPT_RECORD_MULTIPLE"}


# -- against loopback servers -------------------------------------------------------------


@dataclass
class Loopback:
    dns: ZoneServer
    https: HttpsServer
    smtp_port: int
    ca: CertificateAuthority

    def settings(self, **overrides: object) -> TransportSettings:
        values: dict[str, object] = {
            "smtp_port": self.smtp_port,
            "https_port": self.https.port,
            "ca_file": str(self.ca.ca_file),
            "connect_timeout": 5.0,
        }
        values.update(overrides)
        return TransportSettings(**values)  # type: ignore[arg-type]

    def check(self, *domains: str, plan: TransportPlan | None = None) -> list[TargetResult]:
        dns = DnsSettings((parse_nameserver(self.dns.nameserver),), timeout=2.0)
        return check_targets(
            [parse_target(d) for d in domains],
            dns,
            transport=plan or TransportPlan(self.settings()),
        )


ZONES = {
    "secure.test.": zone(
        "@ MX 10 mx\nmx A 127.0.0.1\nmta-sts A 127.0.0.1\n"
        '_mta-sts TXT "v=STSv1; id=2026a"\n'
        '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@secure.test"\n'
    ),
    "wrongname.test.": zone(
        '@ MX 10 mx\nmx A 127.0.0.1\nmta-sts A 127.0.0.1\n_mta-sts TXT "v=STSv1; id=1"\n'
    ),
    "redirect.test.": zone(
        '@ MX 10 mx.secure.test.\nmta-sts A 127.0.0.1\n_mta-sts TXT "v=STSv1; id=1"\n'
    ),
    "closed.test.": zone("@ MX 10 mx\nmx A 127.0.0.1\n"),
}


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Loopback]:
    ca = CertificateAuthority(tmp_path)
    certificates = {
        "mta-sts.secure.test": ca.issue(("mta-sts.secure.test",)),
        "mta-sts.redirect.test": ca.issue(("mta-sts.redirect.test",)),
        # wrongname.test's policy host presents the certificate of another name.
        "mta-sts.wrongname.test": ca.issue(("www.wrongname.test",)),
    }
    pages = {
        "mta-sts.secure.test/.well-known/mta-sts.txt": Page(POLICY.encode()),
        "mta-sts.redirect.test/.well-known/mta-sts.txt": Page(
            b"", status=301, headers={"Location": "https://elsewhere.test/"}
        ),
    }
    mx = ca.issue(("mx.secure.test",))
    with (
        ZoneServer(ZONES) as dns,
        https_server(certificates, pages) as https,
        starttls_server(mx) as smtp_port,
    ):
        yield Loopback(dns, https, smtp_port, ca)


def test_a_domain_with_mta_sts_tls_rpt_and_a_good_mx_passes_every_transport_check(
    loopback: Loopback,
) -> None:
    [result] = loopback.check("secure.test")
    checks = result.checks
    assert checks["mta_sts"].status == "pass", checks["mta_sts"].findings
    assert checks["mta_sts"].mode == "enforce"  # type: ignore[attr-defined]
    assert checks["tls_rpt"].status == "pass"
    starttls = checks["starttls"]
    assert starttls.status == "pass", starttls.findings
    host = starttls.hosts["mx.secure.test"]  # type: ignore[attr-defined]
    assert host.tls_version in ("TLSv1.2", "TLSv1.3")
    assert host.name_matches and host.chain_valid and 85 <= host.days_left <= 90
    assert ("mta-sts.secure.test", "/.well-known/mta-sts.txt") in loopback.https.requests


def test_a_policy_host_with_a_certificate_for_another_name_fails(loopback: Loopback) -> None:
    [result] = loopback.check("wrongname.test")
    assert codes(result.checks["mta_sts"]) == {"MTA_STS_POLICY_CERTIFICATE"}
    # mx.wrongname.test presents mx.secure.test's certificate.
    starttls = result.checks["starttls"]
    assert codes(starttls) == {"STARTTLS_CERT_NAME_MISMATCH"} and starttls.status == "fail"


def test_a_redirect_is_refused_not_followed(loopback: Loopback) -> None:
    [result] = loopback.check("redirect.test")
    assert codes(result.checks["mta_sts"]) == {"MTA_STS_POLICY_REDIRECT"}
    assert ("elsewhere.test", "/") not in loopback.https.requests


def test_a_certificate_from_an_untrusted_ca_fails_the_chain(
    loopback: Loopback, tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    other = CertificateAuthority(tmp_path / "other")
    plan = TransportPlan(loopback.settings(ca_file=str(other.ca_file)))
    [result] = loopback.check("secure.test", plan=plan)
    assert codes(result.checks["starttls"]) == {"STARTTLS_CERT_CHAIN_INVALID"}
    assert codes(result.checks["mta_sts"]) == {"MTA_STS_POLICY_CERTIFICATE"}


def test_certificate_expiry_warns_at_30_days_and_fails_at_7(loopback: Loopback) -> None:
    in_25_days = dt.datetime.now(dt.UTC) + dt.timedelta(days=65)
    plan = TransportPlan(loopback.settings(), now=in_25_days)
    [result] = loopback.check("secure.test", plan=plan)
    assert codes(result.checks["starttls"]) == {"STARTTLS_CERT_EXPIRING"}
    assert result.checks["starttls"].status == "warn"
    in_5_days = dt.datetime.now(dt.UTC) + dt.timedelta(days=85)
    [soon] = loopback.check("secure.test", plan=TransportPlan(loopback.settings(), now=in_5_days))
    assert codes(soon.checks["starttls"]) == {"STARTTLS_CERT_EXPIRES_SOON"}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=120)
    [gone] = loopback.check("secure.test", plan=TransportPlan(loopback.settings(), now=later))
    assert codes(gone.checks["starttls"]) == {"STARTTLS_CERT_EXPIRED"}
    custom = TransportPlan(loopback.settings(certificate_warn_days=10), now=in_25_days)
    [relaxed] = loopback.check("secure.test", plan=custom)
    assert relaxed.checks["starttls"].status == "pass"


def test_a_closed_smtp_port_is_error_not_fail(loopback: Loopback) -> None:
    from tests.servers import free_port

    plan = TransportPlan(loopback.settings(smtp_port=free_port()))
    [result] = loopback.check("closed.test", plan=plan)
    starttls = result.checks["starttls"]
    assert codes(starttls) == {"STARTTLS_CONNECT_FAILED"} and starttls.status == "error"


def test_postwarden_check_reports_the_transport_checks_as_json(
    loopback: Loopback, tmp_path: Path
) -> None:
    env = {
        "POSTWARDEN_TRANSPORT_ENABLED": "true",
        "POSTWARDEN_TRANSPORT_SMTP_PORT": str(loopback.smtp_port),
        "POSTWARDEN_TRANSPORT_HTTPS_PORT": str(loopback.https.port),
        "POSTWARDEN_TRANSPORT_CA_FILE": str(loopback.ca.ca_file),
    }
    out = postwarden(
        "check", "secure.test", "--nameserver", loopback.dns.nameserver, "--no-blocklists",
        "--format", "json", cwd=tmp_path, env=env,
    )  # fmt: skip
    [target] = out.json()
    checks = target["checks"]
    assert {"mta_sts", "tls_rpt", "starttls", "dnssec", "dane", "bimi"} <= set(checks)
    assert all(checks[name]["findings"] is not None for name in checks)
    assert checks["bimi"]["findings"][0]["code"] == "BIMI_MISSING"
    assert checks["bimi"]["findings"][0]["fix"]
    assert checks["mta_sts"]["mode"] == "enforce" and checks["mta_sts"]["policy_id"] == "2026a"
    assert checks["mta_sts"]["max_age"] == 604800
    assert checks["tls_rpt"]["rua"] == ["mailto:tls@secure.test"]
    host = checks["starttls"]["hosts"]["mx.secure.test"]
    assert host["name_matches"] is True and host["days_left"] >= 85
    assert set(host) >= {"tls_version", "certificate_expires", "days_left", "name_matches"}
    skipped = postwarden(
        "check", "secure.test", "--nameserver", loopback.dns.nameserver, "--no-blocklists",
        "--no-transport", "--format", "json", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "starttls" not in skipped.json()[0]["checks"]


# -- the schedule, alerts, dashboard and API ------------------------------------------------


def test_the_transport_sweep_records_alerts_and_shows_on_the_dashboard(
    loopback: Loopback, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from monitor.jobs import make_jobs, sweep_transport
    from monitor.settings import Settings, WebSettings
    from monitor.targets import add_domain
    from store.alerting import Alert
    from store.engine import open_database, session_factory
    from store.models import CheckRecord
    from tests.dashboard_data import PASSWORD
    from tests.test_web import csrf_of, logged_in
    from web.app import create_app

    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    dns = DnsSettings((parse_nameserver(loopback.dns.nameserver),), timeout=2.0)
    settings = Settings(
        database_url=url,
        dns=dns,
        transport=loopback.settings(),
        web=WebSettings(secret_key="k"),
    )
    assert "transport_sweep" in make_jobs(settings)
    now = dt.datetime.now(dt.UTC)
    with sessions() as session:
        add_domain(session, "secure.test", now)
        session.commit()
        assert "1 targets checked" in sweep_transport(session, now, settings)
        session.commit()
        stored = {
            row.check: row.status
            for row in session.scalars(
                select(CheckRecord).where(CheckRecord.target == "secure.test")
            )
        }
    assert set(stored) == {"mta_sts", "tls_rpt", "starttls", "dnssec", "dane", "bimi"}
    assert stored["mta_sts"] == stored["starttls"] == "pass"
    # The test zones are not under the root's anchors, which this server does not serve.
    assert stored["dnssec"] == "error"

    # The policy changes under the same id: the next sweep, reading the last one from the
    # history, warns.
    loopback.https.pages["mta-sts.secure.test/.well-known/mta-sts.txt"] = Page(
        POLICY.replace("604800", "1209600").encode()
    )
    # Two runs 65 days on: the certificate has 25 days left, which alerts though it only warns.
    later = now + dt.timedelta(days=65)
    with sessions() as session:
        for step in range(2):
            sweep_transport(session, later + dt.timedelta(minutes=step), settings)
            session.commit()
        details = {
            row.check: row.detail
            for row in session.scalars(
                select(CheckRecord)
                .where(CheckRecord.target == "secure.test")
                .order_by(CheckRecord.id)
            )
        }
        alerts = {(a.check, a.severity) for a in session.scalars(select(Alert))}
    assert {f["code"] for f in details["mta_sts"]["findings"]} == {"MTA_STS_ID_UNCHANGED"}
    assert ("starttls", "warn") in alerts

    token = populate_users(sessions, now, PASSWORD)
    app = create_app(settings, sessions)
    try:
        api = app.test_client().get(
            "/api/v1/targets/secure.test",
            headers={"Authorization": f"Bearer {token}"},
            base_url="https://localhost",
        )
        stored = api.get_json()["checks"]
        assert stored["starttls"]["hosts"]["mx.secure.test"]["days_left"] <= 30
        assert stored["mta_sts"]["mode"] == "enforce" and stored["dnssec"]["status"] == "error"
        browser = logged_in(app, "postmaster")
        page = browser.get("/domains/secure.test").get_data(as_text=True)
        assert "Days left" in page and "mx.secure.test" in page
        assert "Mode enforce" in page and "STARTTLS_CERT_EXPIRING" in page
        assert csrf_of(page)
        overview = browser.get("/").get_data(as_text=True)
        assert 'data-requirement="tls"><span class="status warn"' in overview
        assert "STARTTLS on the MX hosts of 0 of 1 domains passes" in overview
    finally:
        app.extensions["postwarden_inbox"].close()
        engine.dispose()


def test_the_transport_sweep_writes_and_holds_one_batch_of_results_at_a_time(
    loopback: Loopback, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.sweep_batches
    from monitor.jobs import sweep_transport
    from monitor.settings import Settings
    from monitor.targets import add_domain
    from store.engine import open_database, session_factory
    from tests.test_sweep_batches import flushes

    monkeypatch.setattr(monitor.sweep_batches, "BATCH_SIZE", 2)
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    dns = DnsSettings((parse_nameserver(loopback.dns.nameserver),), timeout=2.0)
    settings = Settings(database_url=url, dns=dns, transport=loopback.settings())
    names = [name.rstrip(".") for name in ZONES]
    now = dt.datetime.now(dt.UTC)
    try:
        with sessions() as session:
            for name in names:
                add_domain(session, name, now)
            session.commit()
            with flushes(names) as seen:
                outcome = sweep_transport(session, now, settings)
                session.commit()
    finally:
        engine.dispose()
    assert outcome.startswith(f"{len(names)} targets checked"), outcome
    written = [count for count, _ in seen if count]
    # The six transport checks of every domain, two domains at a time...
    assert sum(written) == len(names) * 6 and max(written) == 2 * 6, seen
    # ... while the process held no more than those two domains' results.
    assert max(held for _, held in seen) <= 2, seen
    # The authentication checks are the authentication sweep's: no SPF was asked for.
    assert not [name for name, kind in loopback.dns.log if kind == "TXT" and name in ZONES]


def populate_users(sessions: object, now: dt.datetime, password: str) -> str:
    """A postmaster who logs in, and an API token of theirs."""
    from monitor.users import add_token, add_user

    with sessions() as session:  # type: ignore[operator]
        user = add_user(session, "postmaster", password, "postmaster", now)
        token = add_token(session, user, "tests", now)
        session.commit()
    return str(token)


def test_the_deliverability_report_shows_the_mx_certificates_and_transport_checks(
    tmp_path: Path,
) -> None:
    from checks.findings import finding
    from checks.transport_results import MtaStsResult, StarttlsHost, StarttlsResult
    from monitor.history import record_run
    from monitor.targets import add_domain
    from store.engine import open_database, session_factory
    from tests.test_reports import pdf_text

    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    at = dt.datetime(2026, 10, 10, tzinfo=dt.UTC)
    host = StarttlsHost(
        address="192.0.2.25",
        tls_version="TLSv1.3",
        certificate_expires="2026-10-30T00:00:00+00:00",
        days_left=20,
        name_matches=True,
        chain_valid=True,
    )
    result = TargetResult(
        "shop.example",
        "domain",
        {
            "starttls": StarttlsResult(
                findings=(finding("STARTTLS_CERT_EXPIRING", "expires in 20 days"),),
                hosts={"mx.shop.example": host},
            ),
            "mta_sts": MtaStsResult(record="v=STSv1; id=1", policy_id="1", mode="testing"),
        },
    )
    with sessions() as session:
        add_domain(session, "shop.example", at)
        record_run(session, [result], started_at=at, finished_at=at)
        session.commit()
    engine.dispose()
    output = tmp_path / "october.pdf"
    done = postwarden("report", "deliverability", "--from", "2026-10-01", "--to", "2026-10-31",
                      "-o", str(output), "--db", url)  # fmt: skip
    assert done.code == 0, done.stderr
    flat = " ".join("\n".join(pdf_text(output)).split())
    assert "Transport security and brand" in flat
    assert "mx.shop.example: expires 2026-10-30 (20 days)" in flat
    assert "starttls warn" in flat and "testing" in flat
    # The domain was never swept for authentication: the provider cards' chips say
    # "pending", as the dashboard's do, not ERROR (#23).
    assert "SPF pending 1 of 1 domains pending" in flat and "SPF ERROR" not in flat


def test_a_ca_file_or_trust_anchors_that_cannot_be_read_are_refused_before_a_run(
    tmp_path: Path,
) -> None:
    from monitor.settings import SettingsError, load_settings
    from monitor.transport_history import transport_plan

    now = dt.datetime.now(dt.UTC)
    ca = load_settings(environ={"POSTWARDEN_TRANSPORT_CA_FILE": str(tmp_path / "missing.pem")})
    with pytest.raises(SettingsError, match=r"transport\.ca_file: .*missing\.pem"):
        transport_plan(ca, now)
    anchors = load_settings(environ={"POSTWARDEN_DNSSEC_TRUST_ANCHORS": str(tmp_path / "x")})
    with pytest.raises(SettingsError, match=r"dnssec\.trust_anchors"):
        transport_plan(anchors, now)
    # The command stops before any lookup (the nameserver is a closed loopback port).
    missing = {
        "POSTWARDEN_TRANSPORT_ENABLED": "true",
        "POSTWARDEN_TRANSPORT_CA_FILE": str(tmp_path / "missing.pem"),
    }
    out = postwarden("check", "example.com", "--no-blocklists", "--nameserver", "127.0.0.1:9",
                     "--timeout", "0.2", cwd=tmp_path, env=missing)  # fmt: skip
    assert out.code == 3 and "transport.ca_file" in out.stderr and out.stdout == ""


def test_a_server_dripping_its_greeting_is_given_up_as_undetermined() -> None:
    import socket
    import threading
    import time

    from checks.smtp_tls import SmtpTlsError, probe_starttls

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            for byte in b"220-" + b"x" * 4000:
                if stop.is_set():
                    return
                connection.sendall(bytes([byte]))
                time.sleep(0.05)  # each byte well within the socket's timeout

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(SmtpTlsError) as raised:
            probe_starttls("mx.slow.test", "127.0.0.1", listener.getsockname()[1], 0.5)
    finally:
        stop.set()
        listener.close()
    assert raised.value.kind == "connect" and time.monotonic() - started < 5
