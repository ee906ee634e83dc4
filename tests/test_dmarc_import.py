"""``import dmarc`` and ``dmarc``: all or nothing per file, de-duplicated, summed in SQL, judged."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from checks.zoneserver import ZoneServer
from compliance.dmarc_reports.generate import Row, aggregate_chunks
from store.dmarc import ReportedSelector
from tests.conftest import postwarden, zone
from tests.test_dmarc_parsing import FIXTURES, independent_counts, xml_of

AGGREGATES = [
    "google-zip-attachment.eml",
    "protection.outlook.com!example.com!1796428800!1796515200.xml",
    "rfc9990-namespace.xml",
    "mimecast-gzip-crlf.eml",
    "upper-cased-results.xml",
]
WINDOW = ("--from", "2026-12-01", "--to", "2026-12-07")


def import_json(url: str, *paths: Path | str) -> tuple[int, list[dict[str, Any]], str]:
    result = postwarden("import", "dmarc", *map(str, paths), "--db", url, "--format", "json")
    return result.code, json.loads(result.stdout), result.stderr


def summary(url: str, *more: str) -> dict[str, Any]:
    result = postwarden("dmarc", "--db", url, "--format", "json", *WINDOW, *more)
    assert result.code == 0, result.stderr
    return dict(result.json())


def test_every_fixture_imports_with_its_independent_count(
    database_url: str, tmp_path: Path
) -> None:
    code, outcomes, stderr = import_json(database_url, fixtures_only(tmp_path))
    assert code == 0, stderr
    by_name = {Path(o["file"]).name: o for o in outcomes}
    assert len(by_name) == 7
    for name in AGGREGATES:
        records, messages, _ = independent_counts(xml_of(FIXTURES / name))
        assert by_name[name]["status"] == "imported", by_name[name]
        assert (by_name[name]["kind"], by_name[name]["records"], by_name[name]["messages"]) == (
            "aggregate",
            records,
            messages,
        )
    tls = json.loads((FIXTURES / "rfc8460-tls.json").read_text())["policies"][0]["summary"]
    assert by_name["rfc8460-tls.json"]["kind"] == "tls"
    assert by_name["rfc8460-tls.json"]["messages"] == sum(tls.values())


def fixtures_only(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def test_the_same_report_under_another_name_is_a_duplicate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    folder = fixtures_only(tmp_path)
    assert import_json(url, folder)[0] == 0
    copy = tmp_path / "renamed.xml.gz"
    copy.write_bytes(gzip.compress((FIXTURES / "rfc9990-namespace.xml").read_bytes()))
    code, [outcome], _ = import_json(url, copy)
    assert code == 0
    assert (outcome["status"], outcome["reports"], outcome["records"]) == ("duplicate", 0, 0)
    before = summary(url, "--no-ptr")
    assert import_json(url, folder)[0] == 0
    assert summary(url, "--no-ptr") == before


def test_a_bad_file_fails_alone_with_one_line_naming_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    folder = fixtures_only(tmp_path)
    (folder / "nested").mkdir()
    bad = folder / "nested" / "broken.xml"
    bad.write_bytes(b"<feedback><report_metadata>")
    code, outcomes, stderr = import_json(url, folder)
    assert code == 3
    assert stderr.splitlines() == [
        f"postwarden: {bad}: not well-formed XML (Premature end of data in tag "
        "report_metadata line 1: line 1, column 28)"
    ]
    failed = [o for o in outcomes if o["status"] == "error"]
    assert [(o["file"], o["kind"]) for o in failed] == [(str(bad), None)]
    assert sum(o["status"] == "imported" for o in outcomes) == 7


def test_a_file_is_all_or_nothing_even_in_a_batch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    good = (FIXTURES / "google-zip-attachment.eml").read_bytes()
    broken = b"From: x@y.example\nContent-Type: application/gzip\n\nnot gzip at all\n"
    mbox = tmp_path / "reports.mbox"
    mbox.write_bytes(
        b"From a@b Fri Dec  4 00:00:00 2026\n"
        + good
        + b"\nFrom a@b Fri Dec  4 00:00:01 2026\n"
        + broken
    )
    before = FIXTURES / "rfc9990-namespace.xml"
    # The good file and the mbox share one transaction: the mbox's first
    # message's report is undone, the file before it is kept.
    code, outcomes, stderr = import_json(url, before, mbox)
    assert code == 3
    assert [o["status"] for o in outcomes] == ["imported", "error"]
    assert "message 2" in stderr and stderr.count("\n") == 1
    assert list(summary(url, "--no-ptr")["domains"]) == ["example.org"]
    assert import_json(url, FIXTURES / "google-zip-attachment.eml")[1][0]["status"] == "imported"


@pytest.fixture
def sender_dns(dns_server: ZoneServer) -> ZoneServer:
    """PTR and forward records of two sources: Google's (confirmed) and one not confirming."""
    dns_server.set_zone(
        "220.85.209.in-addr.arpa.",
        zone("41 PTR mail-sor-f41.google.com.\n69 PTR liar.example.net.\n"),
    )
    dns_server.set_zone("google.com.", zone("mail-sor-f41 A 209.85.220.41\n"))
    dns_server.set_zone("example.net.", zone("liar A 192.0.2.1\n"))
    return dns_server


def test_the_summary_counts_names_and_judges(
    database_url: str, sender_dns: ZoneServer, tmp_path: Path
) -> None:
    assert import_json(database_url, fixtures_only(tmp_path))[0] == 0
    document = summary(database_url, "--nameserver", sender_dns.nameserver, "--timeout", "1")
    assert (document["from"], document["to"]) == ("2026-12-01", "2026-12-07")
    expected: dict[str, list[int]] = {}
    for name in AGGREGATES:
        xml = xml_of(FIXTURES / name)
        domain = "example.org" if b"<domain>example.org" in xml else "example.com"
        _, messages, passing = independent_counts(xml)
        totals = expected.setdefault(domain, [0, 0])
        totals[0] += messages
        totals[1] += passing
    for domain, (messages, passing) in expected.items():
        figures = document["domains"][domain]
        assert (figures["messages"], figures["dmarc_pass"]) == (messages, passing)
        assert sum(figures["dispositions"].values()) == messages
        assert sum(figures["reporters"].values()) == messages
        assert sum(s["messages"] for s in figures["sources"]) == messages
    com = document["domains"]["example.com"]
    assert com["reporters"]["google.com"] == 17
    assert com["dkim_aligned"] == 15 + 7 + 15  # Google's and Outlook's and the upper-case copy
    names = {s["ip"]: s["name"] for s in com["sources"]}
    assert names["209.85.220.41"] == "Google"  # forward-confirmed PTR under google.com
    assert names["209.85.220.69"] == "209.85.220.69"  # PTR does not confirm: not named by it
    assert names["149.72.1.10"] == "SendGrid"  # DKIM d=sendgrid.net
    # Worst first: the most failing messages lead.
    fails = [s["dmarc_fail"] for s in com["sources"]]
    assert fails == sorted(fails, reverse=True)
    verdict = com["verdict"]
    assert (verdict["policy"], verdict["next_policy"], verdict["ready"]) == (
        "none",
        "quarantine",
        False,
    )
    assert verdict["would_hit"] == 9
    [sendgrid] = [s for s in verdict["failing_sources"] if s["kind"] == "esp"]
    assert sendgrid["name"] == "SendGrid"
    assert sendgrid["fixes"] == [
        "add an SPF include for SendGrid to example.com's SPF record and set a custom "
        "return-path (MAIL FROM) under example.com at SendGrid",
        "sign with an aligned DKIM key (d=example.com) at SendGrid instead of d=sendgrid.net",
    ]
    assert "Not ready for p=quarantine: 9 of" in verdict["message"]
    org = document["domains"]["example.org"]
    assert org["verdict"]["ready"] is True
    assert org["verdict"]["message"].startswith("Ready for p=reject")
    assert org["dispositions"] == {"none": 123, "quarantine": 4, "reject": 0}


def test_tls_summary_per_policy_domain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert import_json(url, fixtures_only(tmp_path))[0] == 0
    document = summary(url, "--tls")
    assert document["tls"] == {
        "example.com": {
            "successful": 5326 + 41,
            "failed": 303,
            "failures": {
                "certificate-expired": 100,
                "starttls-not-supported": 200,
                "validation-failure": 3,
            },
        }
    }


def test_selectors_seen_passing_are_remembered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert import_json(url, fixtures_only(tmp_path))[0] == 0
    engine = create_engine(url)
    with engine.connect() as connection:
        seen = {
            (row.domain, row.selector): row.messages
            for row in connection.execute(select(ReportedSelector))
        }
    engine.dispose()
    assert seen == {
        ("example.com", "google"): 15 + 15,
        ("example.com", "selector1"): 7,
        ("example.org", "abc123"): 123,
        ("sendgrid.net", "smtpapi"): 9,
    }


def test_a_failed_file_adds_no_selector_to_its_batch(tmp_path: Path) -> None:
    # The selectors of a batch's files are stored once, when it commits: those of a
    # file undone in the batch (its first message's report was read) are not.
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    google = (FIXTURES / "google-zip-attachment.eml").read_bytes()
    broken = b"From: x@y.example\nContent-Type: application/gzip\n\nnot gzip at all\n"
    mbox = tmp_path / "reports.mbox"
    mbox.write_bytes(
        b"From a@b Fri Dec  4 00:00:00 2026\n" + google + b"\nFrom a@b Fri Dec  4 00:00:01 2026\n"
        + broken
    )  # fmt: skip
    good = FIXTURES / "protection.outlook.com!example.com!1796428800!1796515200.xml"
    code, outcomes, _ = import_json(url, good, mbox, FIXTURES / "rfc9990-namespace.xml")
    assert code == 3
    assert [o["status"] for o in outcomes] == ["imported", "error", "imported"]
    engine = create_engine(url)
    with engine.connect() as connection:
        seen = {
            row.domain + "/" + row.selector for row in connection.execute(select(ReportedSelector))
        }
    engine.dispose()
    assert "example.com/google" not in seen
    assert seen == {"example.com/selector1", "example.org/abc123"}


def test_a_100000_record_report_imports_under_300_mb(tmp_path: Path) -> None:
    report = tmp_path / "google.com!example.com!big.xml.gz"
    rows = (Row(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 1 + i % 5) for i in range(100_000))
    with gzip.open(report, "wt") as handle:
        for chunk in aggregate_chunks(
            org_name="google.com",
            report_id="big",
            domain="example.com",
            rows=rows,
            begin=datetime(2026, 12, 4, tzinfo=UTC),
            end=datetime(2026, 12, 4, 23, 59, tzinfo=UTC),
        ):
            handle.write(chunk)
    script = Path(sys.executable).with_name("postwarden")
    measure = (
        "import resource, subprocess, sys; "
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "print(done.returncode, peak, done.stdout)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", measure, str(script), "import", "dmarc", str(report),
         "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    code, peak_kb, output = completed.stdout.split(" ", 2)
    assert code == "0", output
    assert "100,000 records, 300,000 messages" in output
    assert int(peak_kb) < 300 * 1024


def test_selectors_in_reports_feed_the_dkim_checks_discovery(
    dns_server: ZoneServer, tmp_path: Path
) -> None:
    from checks.dns import DnsSettings, parse_nameserver
    from checks.results import DkimResult
    from checks.sweep import check_targets
    from compliance.dmarc_reports.generate import aggregate_xml
    from monitor.targets import add_domain, list_targets
    from store.engine import open_database, session_factory
    from tests.keys import rsa_key, txt

    dns_server.set_zone(
        "example.test.",
        zone(f"abc123._domainkey.reported TXT {txt('v=DKIM1; k=rsa; p=' + rsa_key(2048))}\n"),
    )
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    settings = DnsSettings((parse_nameserver(dns_server.nameserver),), timeout=2)
    engine = open_database(url)
    sessions = session_factory(engine)

    def discovered() -> tuple[list[str], list[str]]:
        with sessions() as session:
            [target] = list_targets(session, "domain")
        [result] = check_targets([target.as_target()], settings)
        dkim = result.checks["dkim"]
        assert isinstance(dkim, DkimResult)
        return list(dkim.selectors), [f.code for f in dkim.findings]

    with sessions() as session:
        add_domain(session, "reported.example.test", datetime(2026, 12, 1, tzinfo=UTC))
        session.commit()
    assert discovered() == ([], ["DKIM_NO_SELECTOR_FOUND"])
    report = tmp_path / "report.xml"
    report.write_bytes(
        aggregate_xml(
            org_name="google.com", report_id="sel-1", domain="reported.example.test",
            begin=datetime(2026, 12, 4, tzinfo=UTC), end=datetime(2026, 12, 5, tzinfo=UTC),
            rows=[Row("192.0.2.1", 5, dkim_domain="reported.example.test",
                      dkim_selector="abc123", header_from="reported.example.test"),
                  Row("192.0.2.2", 1, dkim_domain="reported.example.test",
                      dkim_selector="bad selector!", header_from="reported.example.test")],
        )
    )  # fmt: skip
    assert import_json(url, report)[0] == 0
    assert discovered() == (["abc123"], ["DKIM_SELECTORS_DISCOVERED"])
    engine.dispose()


def test_metrics_and_api_give_each_domains_dmarc_figures(tmp_path: Path) -> None:
    from flask.testing import FlaskClient

    from compliance.dmarc_reports.generate import aggregate_xml, tls_json
    from monitor.settings import Settings, WebSettings
    from store.engine import open_database, session_factory
    from tests.dashboard_data import populate
    from web.app import create_app

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = open_database(url)
    tokens = populate(session_factory(engine))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    (tmp_path / "a.xml").write_bytes(
        aggregate_xml(
            org_name="google.com",
            report_id="m-1",
            domain="metrics.example",
            begin=today,
            end=today,
            rows=[Row("192.0.2.1", 30), Row("192.0.2.9", 10, dkim="fail", spf="fail")],
        )
    )
    (tmp_path / "t.json").write_bytes(
        tls_json(
            org_name="google.com", report_id="t-1", domain="metrics.example", begin=today,
            end=today, successful=5, failures={"sts-policy-invalid": 2}, mx_host="mx.example",
        )
    )  # fmt: skip
    assert import_json(url, tmp_path / "a.xml", tmp_path / "t.json")[0] == 0
    app = create_app(
        Settings(database_url=url, web=WebSettings(secret_key="k")), session_factory(engine)
    )
    client = FlaskClient(app)
    token = tokens["postmaster"]
    response = client.get(
        "/metrics", headers={"Authorization": f"Bearer {token}"}, base_url="https://localhost"
    )
    text = response.get_data(True)
    headers = {"Authorization": f"Bearer {token}"}
    api = client.get("/api/v1/dmarc?days=2", headers=headers, base_url="https://localhost")
    tls = client.get("/api/v1/dmarc/tls", headers=headers, base_url="https://localhost")
    paths = client.get("/api/v1/openapi.json", headers=headers, base_url="https://localhost")
    app.extensions["postwarden_inbox"].close()
    engine.dispose()
    figures = api.get_json()["domains"]["metrics.example"]
    assert (figures["messages"], figures["dmarc_pass"]) == (40, 30)
    assert figures["verdict"]["policy"] == "none"
    assert tls.get_json()["tls"]["metrics.example"]["failures"] == {"sts-policy-invalid": 2}
    assert {"/api/v1/dmarc", "/api/v1/dmarc/tls"} <= set(paths.get_json()["paths"])
    assert 'postwarden_dmarc_messages{domain="metrics.example"} 40.0' in text
    assert 'postwarden_dmarc_pass_rate{domain="metrics.example"} 0.75' in text
    assert 'postwarden_tls_failed_sessions{domain="metrics.example"} 2.0' in text
