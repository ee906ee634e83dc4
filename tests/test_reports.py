"""`postwarden report compliance`: the PDF read back — figures equal the audit's, pages
numbered, headers repeated across pages, addresses masked, CSV tied by its hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from store.engine import make_engine, session_factory
from store.reports import ReportRun
from tests.conftest import postwarden
from tests.test_audit import EXPECTED, ROWS, contact, write


def pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_the_compliance_report_says_what_the_audit_says(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    postwarden("import", "contacts", str(write(tmp_path / "list.csv", ROWS)), "--db", db)
    audit = json.loads(
        postwarden("audit", "--as-of", "2026-11-30", "--format", "json", "--db", db).stdout
    )
    output = tmp_path / "report.pdf"
    result = postwarden("report", "compliance", "--from", "2026-11-01", "--to", "2026-11-30",
                        "-o", str(output), "--organisation", "Example Ltd", "--db", db)  # fmt: skip
    assert result.code == 0, result.stderr
    pages = pdf_text(output)
    text = "\n".join(pages)
    assert "Example Ltd" in pages[0] and "Overall status: FAIL" in text
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    for rule, figures in audit["rules"].items():
        assert f"{rule} {figures['level']} {figures['count']} {figures['status'].upper()}" in text
    # Addresses are masked, in the PDF and in the CSV beside it.
    assert "m***@example.org" in text and "missing1@example.org" not in text
    csv_path = tmp_path / "report-offenders.csv"
    csv_text = csv_path.read_text()
    assert "missing1@example.org" not in csv_text
    assert csv_text.count("consent_missing,default,m***@example.org") == len(
        EXPECTED["consent_missing"]
    )
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert digest in text.replace("\n", "")
    # The audit trail: who, when, what, and the files' hashes.
    engine = make_engine(db)
    with session_factory(engine)() as session:
        [run] = session.scalars(select(ReportRun))
    engine.dispose()
    assert run.kind == "compliance" and run.parameters["as_of"] == "2026-11-30"
    hashes = {f["name"]: f["sha256"] for f in run.files}
    assert hashes == {
        "report.pdf": hashlib.sha256(output.read_bytes()).hexdigest(),
        "report-offenders.csv": digest,
    }


def test_long_tables_continue_across_pages_with_their_header(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    rows = [
        contact(f"person{n}@example.org", optin_time="", confirm_time="", confirm_ip="")
        for n in range(200)
    ]
    postwarden("import", "contacts", str(write(tmp_path / "l.csv", rows)), "--db", db)
    output = tmp_path / "long.pdf"
    assert postwarden("report", "compliance", "--to", "2026-11-30", "--appendix-rows", "200",
                      "-o", str(output), "--db", db).code == 0  # fmt: skip
    pages = pdf_text(output)
    with_header = [page for page in pages if "consent_missing — 200 contacts" in page]
    assert len(with_header) >= 3


def test_an_empty_period_gives_a_report_that_says_so(tmp_path: Path) -> None:
    output = tmp_path / "empty.pdf"
    result = postwarden("report", "compliance", "--to", "2026-11-30", "-o", str(output),
                        "--db", f"sqlite:///{tmp_path / 'pw.db'}")  # fmt: skip
    assert result.code == 0
    text = "\n".join(pdf_text(output))
    assert "There is no data for this period" in text and "Page 1 of" in text


def test_unmasked_needs_a_compliance_user_and_html_and_csv_work(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    postwarden("import", "contacts", str(write(tmp_path / "list.csv", ROWS)), "--db", db)
    refused = postwarden("report", "compliance", "--to", "2026-11-30", "--unmasked",
                         "-o", str(tmp_path / "r.html"), "--db", db)  # fmt: skip
    assert refused.code != 0 and "--unmasked needs --user" in refused.stderr
    postwarden("users", "add", "cora", "--role", "compliance", "--password-stdin", "--db", db,
               input_text="a long enough password\n")  # fmt: skip
    html = tmp_path / "r.html"
    done = postwarden("report", "compliance", "--to", "2026-11-30", "--unmasked",
                      "--user", "cora", "-o", str(html), "--db", db)  # fmt: skip
    assert done.code == 0 and "missing1@example.org" in html.read_text()
    csv_only = tmp_path / "offenders.csv"
    assert (
        postwarden(
            "report", "compliance", "--to", "2026-11-30", "-o", str(csv_only), "--db", db
        ).code
        == 0
    )
    assert csv_only.read_text().startswith("rule,list_name,address,status")
