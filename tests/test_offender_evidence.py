"""The compliance officer's evidence: for each person mailed after leaving, the exit (when
and how) and every mailing after it, on the offenders page and in its CSV; "last mailed"
and "last engaged" as the rules see them; the retention purge named on the overview and
the compliance page in the same words."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import event

from compliance.audit.exit_evidence import exit_evidence
from reports.compliance_report import FIXES
from reports.masking import reference
from reports.times import display_time
from store.engine import open_database, session_factory
from tests.conftest import postwarden
from tests.dashboard_data import open_alert, populate
from tests.evidence_data import seed_evidence
from tests.test_reports import pdf_text
from tests.test_web import logged_in, populated_app

AS_OF = date(2026, 12, 7)


@pytest.fixture(scope="module")
def evidence_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    directory = tmp_path_factory.mktemp("evidence")
    for app in populated_app(directory, seed_evidence):
        app.config["EVIDENCE_DB"] = f"sqlite:///{directory / 'pw.db'}"
        yield app


def offenders_csv(app: Flask, rule: str) -> list[dict[str, str]]:
    response = logged_in(app, "compliance").get(f"/compliance/offenders/{rule}.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_each_mailing_after_an_unsubscribe_is_listed_with_its_days_late(
    evidence_app: Flask,
) -> None:
    rows = {row["address"]: row for row in offenders_csv(evidence_app, "mailed_after_unsubscribe")}
    assert set(rows) == {"john@gmail.com", "jane@gmail.com"}
    john = rows["john@gmail.com"]
    assert john["exit_at"] == "2026-11-16 18:30:00+00:00"
    assert john["exit_how"] == "unsubscribe reported by csv (campaign october-news)"
    # Unsubscribed 16 Nov 18:30, two days' grace: 23 Nov 09:00 is 4.6 days past the deadline.
    assert john["mailings_after"] == (
        "2026-11-23T09:00:00+00:00 black-friday (4.6 days late); "
        "2026-11-30T09:00:00+00:00 advent-1 (11.6 days late)"
    )
    # The contract's columns are still there, first and in order; "last mailed" comes
    # from the events when the export has none.
    assert list(john)[:11] == ["list_name", "address", "status", "legal_basis", "optin_time",
                               "confirm_time", "last_mailed_at", "last_engaged_at",
                               "unsubscribed_at", "bounced_at", "complained_at"]  # fmt: skip
    assert john["last_mailed_at"].startswith("2026-11-30 09:00:00")
    assert john["unsubscribed_at"].startswith("2026-11-16 18:30:00")


def test_a_hard_bounce_and_a_complaint_name_the_exit_and_what_came_after(
    evidence_app: Flask,
) -> None:
    [jim] = offenders_csv(evidence_app, "mailed_after_hard_bounce")
    assert jim["exit_how"] == "hard bounce reported by csv (campaign october-news)"
    assert jim["mailings_after"] == "2026-11-23T09:00:00+00:00 black-friday (7.0 days late)"
    [joe] = offenders_csv(evidence_app, "mailed_after_complaint")
    assert joe["exit_at"] == "2026-11-16 21:40:00+00:00"
    assert joe["mailings_after"] == "2026-11-30T09:00:00+00:00 advent-1 (13.5 days late)"
    # The open after the mailing is engagement as the rules see it.
    assert joe["last_engaged_at"].startswith("2026-11-30 10:12:00")
    # Other rules' CSVs keep their columns only.
    assert "exit_at" not in offenders_csv(evidence_app, "consent_missing")[0]


def test_the_offenders_page_shows_the_exit_and_each_mailing_after_it(evidence_app: Flask) -> None:
    page = logged_in(evidence_app, "compliance").get(
        "/compliance/offenders/mailed_after_unsubscribe"
    )
    text = page.get_data(as_text=True)
    assert "16 Nov 2026, 18:30 UTC" in text
    assert "unsubscribe reported by csv (campaign october-news)" in text
    assert "black-friday, 23 Nov 2026, 09:00 UTC, 4.6 days late" in text
    assert "advent-1, 30 Nov 2026, 09:00 UTC, 11.6 days late" in text
    assert "john@gmail.com" not in text  # masked unless asked


def test_the_evidence_is_looked_up_for_the_listed_people_only(
    tmp_path: Path, database_url: str
) -> None:
    url = database_url
    open_database(url).dispose()
    seed_evidence(tmp_path, url)
    engine = open_database(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    with session_factory(engine)() as session:
        listed = [("default", "jane@gmail.com"), ("default", "nobody@x.org")]
        found = exit_evidence(session, "mailed_after_unsubscribe", AS_OF, listed)
    engine.dispose()
    assert list(found) == [("default", "jane@gmail.com")]
    [mailing] = found[("default", "jane@gmail.com")].mailings
    assert (mailing.campaign, mailing.at) == ("advent-1", datetime(2026, 11, 30, 9, tzinfo=UTC))
    # Two statements for the batch, whatever its size: no query per person.
    assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) == 2


def test_the_retention_purge_is_named_on_the_overview_and_the_compliance_page(
    evidence_app: Flask,
) -> None:
    browser = logged_in(evidence_app, "compliance")
    line = "47 contacts erased on 5 Dec 2026, 06:49 UTC (retention 30 days)"
    assert line in browser.get("/compliance/").get_data(as_text=True)
    assert line in browser.get("/").get_data(as_text=True) + browser.get(
        "/fragments/overview"
    ).get_data(as_text=True)


def test_the_pdf_leads_with_the_verdict_what_to_do_and_the_purge_and_shows_the_evidence(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    open_database(url).dispose()
    seed_evidence(tmp_path, url)
    output = tmp_path / "report.pdf"
    result = postwarden("report", "compliance", "--from", "2026-12-01", "--to", "2026-12-07",
                        "-o", str(output), "--db", url)  # fmt: skip
    assert result.code == 0, result.stderr
    pages = pdf_text(output)
    first = pages[0]
    assert "Overall status: FAIL" in first and "What to do first" in first
    for rule, count in (("mailed_after_hard_bounce", 1), ("mailed_after_complaint", 1)):
        assert re.search(rf"{rule}\s+FAIL\s+{count}\s+{FIXES[rule].split()[0]}", first)
    assert re.search(r"mailed_after_unsubscribe\s+FAIL\s+2\s+Sync unsubscribes", first)
    # The purge, in the same words as the dashboard, and why the count fell.
    flat = " ".join(" ".join(pages).split())
    assert "47 contacts erased on 5 Dec 2026, 06:49 UTC (retention 30 days)" in flat
    assert "retention_exceeded fell from 47 to 0 within the period" in flat
    # Times as people read them; no ISO stamps left.
    assert re.search(r"Generated \d{1,2} Dec 2026, \d\d:\d\d UTC", flat)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", flat)
    # The appendix: per person the exit and each mailing after it; masks told apart.
    assert "black-friday, 23 Nov 2026, 09:00 UTC, 4.6 days late" in flat
    assert "unsubscribe reported by csv (campaign" in flat
    references = re.findall(r"j\*\*\*@gmail\.com ref ([0-9a-f]{6})", flat)
    assert len(references) == 4 and len(set(references)) == 4
    # No section is forced onto a page of its own: the report is short for little data.
    assert len(pages) <= 5
    # One font family, charts included.
    assert {font.split("+")[-1].split("-")[0] for font in pdf_fonts(output)} == {"DejaVu"}
    assert all(font.split("+")[-1].startswith("DejaVu-Sans") for font in pdf_fonts(output))
    # The CSV beside it: the same evidence, addresses masked after the lookup.
    with (tmp_path / "report-offenders.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["rule"] == "mailed_after_hard_bounce"]
    assert [(row["address"], row["mailings_after"]) for row in rows] == [
        ("j***@gmail.com", "2026-11-23T09:00:00+00:00 black-friday (7.0 days late)")
    ]


def test_the_deliverability_pdf_names_failing_targets_and_their_fixes_on_page_one(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    populate(session_factory(engine))
    engine.dispose()
    output = tmp_path / "deliverability.pdf"
    result = postwarden("report", "deliverability", "--from", "2026-11-01", "--to", "2026-11-30",
                        "-o", str(output), "--db", url)  # fmt: skip
    assert result.code == 0, result.stderr
    first = " ".join(pdf_text(output)[0].split())
    assert "What to do first" in first
    assert "broken.example" in first and "DMARC_MISSING" in first
    assert "Publish a TXT record at _dmarc" in first
    assert "fine.example domain, " not in first  # passing targets are not listed as failing
    assert re.search(r"Period 1 Nov 2026 to 30 Nov 2026", first)


def test_display_time_is_the_one_format() -> None:
    assert display_time(datetime(2026, 12, 7, 6, 49, tzinfo=UTC)) == "7 Dec 2026, 06:49 UTC"
    assert display_time(datetime(2026, 12, 7, 6, 49)) == "7 Dec 2026, 06:49 UTC"
    assert display_time("2026-12-07T07:49:00+01:00") == "7 Dec 2026, 06:49 UTC"
    assert display_time("2026-12-07") == "7 Dec 2026"
    assert display_time(None) == ""


def test_masked_references_differ_per_person_and_stay_put() -> None:
    key = b"k" * 32
    tags = {reference(key, f"{name}@gmail.com") for name in ("john", "jane", "jim", "joe")}
    assert len(tags) == 4
    assert reference(key, "John@Gmail.com") == reference(key, "john@gmail.com")
    assert reference(b"other" * 8, "john@gmail.com") != reference(key, "john@gmail.com")


def test_a_compliance_officer_sees_the_evidence_and_the_purge_in_chromium(tmp_path: Path) -> None:
    from tests.test_browser import ARTIFACTS, chromium, serving, sign_in

    ARTIFACTS.mkdir(exist_ok=True)
    with serving(tmp_path, seed_evidence) as served, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, served.base, "compliance")
        line = "47 contacts erased on 5 Dec 2026, 06:49 UTC (retention 30 days)"
        page.locator("[data-purge]").first.wait_for()
        assert line in page.locator("[data-purge]").first.inner_text()
        page.goto(f"{served.base}/compliance/")
        assert line in page.locator("[data-purge]").inner_text()
        page.screenshot(path=str(ARTIFACTS / "evidence-compliance.png"), full_page=True)
        page.goto(f"{served.base}/compliance/offenders/mailed_after_unsubscribe")
        mailings = page.locator("td.mailings").first.inner_text()
        assert "black-friday, 23 Nov 2026, 09:00 UTC, 4.6 days late" in mailings
        assert (
            "30 Nov 2026, 09:00 UTC" in page.locator("table.offenders tbody tr").first.inner_text()
        )
        page.screenshot(path=str(ARTIFACTS / "evidence-offenders.png"), full_page=True)


def pdf_fonts(path: Path) -> set[str]:
    """The base fonts of every page and of the drawings (charts) on it."""
    found: set[str] = set()

    def walk(resources: Any) -> None:
        if not resources:
            return
        for font in (resources.get("/Font") or {}).values():
            found.add(str(font.get_object().get("/BaseFont")))
        for drawing in (resources.get("/XObject") or {}).values():
            walk(drawing.get_object().get("/Resources"))

    for page in PdfReader(path).pages:
        walk(page.get("/Resources"))
    return found


def right_margin_inked(path: Path) -> list[int]:
    """Pages (1-based) with anything drawn in the outer 8 mm of the right margin."""
    import pypdfium2

    inked = []
    document = pypdfium2.PdfDocument(str(path))
    try:
        for number in range(len(document)):
            image = document[number].render(scale=1).to_pil().convert("L")
            strip = image.crop((image.width - round(image.width * 8 / 210), 0, image.width,
                                image.height))  # fmt: skip
            if strip.getextrema()[0] < 200:
                inked.append(number + 1)
    finally:
        document.close()
    return inked


def test_no_table_runs_off_the_page_however_long_a_summary(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    populate(sessions)
    # An alert whose summary is one long unbroken token, and one of long words.
    open_alert(sessions, "broken.example", "spf", "x" * 300)
    open_alert(sessions, "broken.example", "dkim", "selector-" * 40 + " revoked")
    engine.dispose()
    output = tmp_path / "deliverability.pdf"
    assert postwarden("report", "deliverability", "--to", "2026-12-31", "-o", str(output),
                      "--db", url).code == 0  # fmt: skip
    text = " ".join(pdf_text(output))
    assert "xxxxxxxxxx" in text  # the summary is there, wrapped
    assert right_margin_inked(output) == []


def test_overview_compliance_page_and_pdf_agree_for_the_same_audit(
    evidence_app: Flask, tmp_path: Path
) -> None:
    browser = logged_in(evidence_app, "compliance")
    page = browser.get("/compliance/").get_data(as_text=True)
    overview = browser.get("/fragments/overview").get_data(as_text=True)
    contacts = re.search(r"(\d+) contacts, (\d+) subscribed", page)
    assert contacts
    assert f"{contacts.group(1)} contacts" in overview
    url = evidence_app.config["EVIDENCE_DB"]
    output = tmp_path / "same.pdf"
    today = datetime.now(UTC).date().isoformat()
    assert postwarden("report", "compliance", "--to", today, "-o", str(output),
                      "--db", url).code == 0  # fmt: skip
    flat = " ".join(" ".join(pdf_text(output)).split())
    assert f"{contacts.group(1)} contacts, {contacts.group(2)} subscribed" in flat
    line = "47 contacts erased on 5 Dec 2026, 06:49 UTC (retention 30 days)"
    assert line in page and line in overview and line in flat
    for rule in ("mailed_after_unsubscribe", "mailed_after_hard_bounce"):
        count = re.search(rf"<strong>{rule}</strong>.*?</td>\s*<td>.*?</td><td>(\d+)</td>", page,
                          re.S)  # fmt: skip
        assert count and re.search(rf"{rule} fail {count.group(1)} FAIL", flat)
