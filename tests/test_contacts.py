"""Importing contact exports: real layouts, re-imports update, exact errors, nothing half-done.

Fixtures in tests/fixtures/contacts/ follow the layouts their SOURCES.md
cites (Mailchimp's audience export files, Brevo's ';'-separated export;
the Mailjet file uses its API's field names, its app export being
unpublished).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from store.contacts import Contact
from store.engine import session_factory, upgrade_database
from tests.conftest import postwarden

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
GENERIC = "email,status,optin_time,confirm_time,confirm_ip\n"


def day(moment: datetime | None, shape: str = "%Y-%m-%d") -> str | None:
    """A stored time as text (None stays None)."""
    return None if moment is None else moment.strftime(shape)


def contacts(engine: Engine) -> dict[tuple[str, str], Contact]:
    with session_factory(engine)() as session:
        return {(c.list_name, c.address): c for c in session.scalars(select(Contact))}


def test_the_three_mailchimp_files_import_with_their_statuses(
    engine: Engine, database_url: str
) -> None:
    files = [
        str(FIXTURES / f"mailchimp_{n}.csv") for n in ("subscribed", "unsubscribed", "cleaned")
    ]
    result = postwarden("import", "contacts", *files, "--db", database_url)
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "mailchimp_subscribed.csv (mailchimp): 5 rows, 5 contacts added, 0 updated, "
        "0 skipped as erased",
        "mailchimp_unsubscribed.csv (mailchimp): 5 rows, 5 contacts added, 0 updated, "
        "0 skipped as erased",
        "mailchimp_cleaned.csv (mailchimp): 4 rows, 4 contacts added, 0 updated, "
        "0 skipped as erased",
    ]
    stored = contacts(engine)
    ada = stored[("default", "ada.lovelace@example.com")]
    assert (ada.status, ada.optin_ip, ada.confirm_ip, ada.confirmed) == (
        "subscribed",
        "203.0.113.10",
        "203.0.113.10",
        True,
    )
    assert day(ada.confirm_time, "%Y-%m-%d %H:%M:%S") == "2022-03-14 09:17:45"
    katherine = stored[("default", "katherine.johnson@example.com")]
    assert (katherine.confirmed, katherine.confirm_time) == (False, None)
    barbara = stored[("default", "barbara.liskov@example.com")]
    assert barbara.status == "unsubscribed"
    assert day(barbara.unsubscribed_at, "%Y-%m-%d %H:%M") == "2024-03-05 14:22"
    niklaus = stored[("default", "niklaus.wirth@example.com")]
    assert niklaus.status == "bounced" and day(niklaus.bounced_at, "%Y") == "2023"
    again = postwarden("import", "contacts", files[0], "--db", database_url)
    assert "5 rows, 0 contacts added, 5 updated" in again.stdout
    assert len(contacts(engine)) == 14


def test_brevo_and_mailjet_exports(engine: Engine) -> None:
    result = postwarden(
        "import", "contacts", str(FIXTURES / "brevo_contacts.csv"),
        str(FIXTURES / "mailjet_contacts.csv"), "--list", "main", "--db", str(engine.url),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "brevo_contacts.csv (brevo): 5 rows, 5 contacts added" in result.stdout
    stored = contacts(engine)
    ada = stored[("main", "ada.lovelace@example.com")]
    assert (ada.confirmed, ada.opted_in, ada.confirm_time) == (True, True, None)
    assert day(ada.subscribed_at) == "2022-03-14"  # DD-MM-YYYY read right
    alan = stored[("main", "alan.turing@example.net")]
    assert (alan.confirmed, alan.opted_in) == (False, False)
    # Mailjet rows name their own list; statuses from the Is… flags.
    assert stored[("Newsletter", "barbara.liskov@example.com")].status == "unsubscribed"
    assert stored[("Newsletter", "donald.knuth@example.com")].status == "complained"
    assert stored[("Events", "frances.allen@example.org")].status == "subscribed"


def test_a_generic_file_with_other_column_names_reads_through_map(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("E-Mail;Stand;Eingewilligt\nann@example.org;unsubscribed;2024-05-01\n")
    result = postwarden(
        "import", "contacts", str(path), "--source", "generic", "--delimiter", ";",
        "--map", "address=E-Mail", "--map", "status=Stand", "--map", "optin_time=Eingewilligt",
        "--db", str(engine.url),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    ann = contacts(engine)[("default", "ann@example.org")]
    assert ann.status == "unsubscribed" and day(ann.optin_time) == "2024-05-01"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("dates.csv", GENERIC + "a@example.org,subscribed,2024-13-01,,\n",
         "dates.csv:2: optin_time '2024-13-01' is not a real date and time"),
        ("dates2.csv", GENERIC + "a@example.org,subscribed,,last tuesday,\n",
         "dates2.csv:2: confirm_time 'last tuesday' is not a date and time"),
        ("status.csv", GENERIC + "a@example.org,gone,,,\n",
         "status.csv:2: status 'gone' is not one of subscribed, unsubscribed, bounced, "
         "complained"),
        ("address.csv", GENERIC + "a@example.org,,,,\nnot an address,,,,\n",
         "address.csv:3: email 'not an address' is not an e-mail address"),
        ("nocolumn.csv", "name,status\nAnn,subscribed\n",
         "nocolumn.csv:1: no column for the address (expected 'email' or 'address')"),
        ("semicolons.csv",
         '"Email Address";"First Name";OPTIN_TIME\na@example.org;Ann;2024-01-01 10:00:00\n',
         "semicolons.csv:1: no column for the address (expected 'Email Address'); the header "
         "reads as one column: is the file delimited otherwise? (--delimiter)"),
    ],
)  # fmt: skip
def test_bad_files_are_refused_naming_file_line_and_column(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    source = ["--source", "mailchimp"] if name == "semicolons.csv" else []
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    result = postwarden("import", "contacts", str(path), *source, "--db", db)
    assert result.code == 3
    assert result.stderr.strip() == f"postwarden: error: {message}"


def test_encodings_bom_latin1_utf16(tmp_path: Path, engine: Engine) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + GENERIC.encode() + b"ann@example.org,subscribed,,,\n")
    assert postwarden("import", "contacts", str(bom), "--db", str(engine.url)).code == 0
    latin = tmp_path / "latin.csv"
    latin.write_bytes(GENERIC.encode() + "jos\xe9@example.org,subscribed,,,\n".encode("latin-1"))
    refused = postwarden("import", "contacts", str(latin), "--db", str(engine.url))
    assert refused.code == 3
    assert refused.stderr.strip() == (
        "postwarden: error: latin.csv:2: not utf-8 text (if it is Latin-1, give --encoding latin-1)"
    )
    accepted = postwarden(
        "import", "contacts", str(latin), "--encoding", "latin-1", "--db", str(engine.url)
    )
    assert accepted.code == 0 and ("default", "josé@example.org") in contacts(engine)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes((GENERIC + "bob@example.org,subscribed,,,\n").encode("utf-16"))
    result = postwarden("import", "contacts", str(utf16), "--db", str(engine.url))
    assert result.stderr.strip() == "postwarden: error: utf16.csv: is UTF-16 text; save it as UTF-8"


def test_an_error_late_in_a_file_leaves_nothing(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "big.csv"
    rows = "".join(f"u{n}@example.org,subscribed,,,\n" for n in range(12_000))
    path.write_text(GENERIC + rows + "bad@example.org,subscribed,yesterday,,\n")
    result = postwarden("import", "contacts", str(path), "--db", str(engine.url))
    assert result.code == 3 and "big.csv:12002: optin_time 'yesterday'" in result.stderr
    upgrade_database(engine)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
