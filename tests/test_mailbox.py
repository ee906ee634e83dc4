"""The reporting mailbox against a real Dovecot (IMAPS): imported, moved, skipped once, cut."""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.dmarc_jobs import poll_feedback_mailbox, poll_report_mailbox
from monitor.jobs import make_jobs
from monitor.mailbox_poller import MailboxError
from monitor.settings import ArfSettings, DmarcSettings, Settings
from store.dmarc import ReceiverReport
from store.engine import open_database, session_factory
from store.events import Event
from tests.dovecot import PASSWORD, USER, Dovecot, cutting_proxy, dovecot_available, running_dovecot
from tests.test_dmarc_parsing import FIXTURES

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
NOTE = b"From: postmaster@example.com\nSubject: hello\nContent-Type: text/plain\n\nNo report.\n"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not dovecot_available():
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("Dovecot is required in CI (make system-deps installs dovecot-imapd)")
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd), or not root")
    with running_dovecot() as server:
        yield server


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def settings_for(server: Dovecot, port: int | None = None, **more: object) -> Settings:
    url = server.url().replace(f":{server.port}/", f":{port or server.port}/")
    dmarc = DmarcSettings(imap_url=url, password=PASSWORD, ca_file=str(server.ca_file))
    return replace(Settings(), dmarc=replace(dmarc, **more))  # type: ignore[arg-type]


def reports(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ReceiverReport)) or 0


def test_reports_are_imported_and_moved_and_a_note_is_reported_once(
    dovecot: Dovecot, session: Session
) -> None:
    dovecot.deliver((FIXTURES / "google-zip-attachment.eml").read_bytes())
    dovecot.deliver(NOTE)
    dovecot.deliver((FIXTURES / "google-tls-report.eml").read_bytes())
    settings = settings_for(dovecot)
    assert "dmarc_mailbox" in make_jobs(settings)
    assert "dmarc_mailbox" not in make_jobs(Settings())

    first = poll_report_mailbox(session, NOW, settings)
    assert first == "2 message(s) imported, 1 without a report left alone"
    assert reports(session) == 2
    assert dovecot.messages() == [NOTE]
    assert len(dovecot.messages("Postwarden.Imported")) == 2
    # Left where it was, unread, but marked so the next poll does not report it again.
    assert poll_report_mailbox(session, NOW, settings) == (
        "0 message(s) imported, 0 without a report left alone"
    )
    assert dovecot.messages() == [NOTE]
    [flags] = dovecot.flags()
    assert "S" not in flags  # still unread


def test_a_report_already_imported_is_moved_without_importing_twice(
    dovecot: Dovecot, session: Session
) -> None:
    raw = (FIXTURES / "mimecast-gzip-crlf.eml").read_bytes()
    dovecot.deliver(raw)
    settings = settings_for(dovecot)
    assert poll_report_mailbox(session, NOW, settings).startswith("1 message(s) imported")
    # The same report again (a retry by the receiver, or a poll cut after the commit).
    dovecot.deliver(raw)
    assert poll_report_mailbox(session, NOW, settings).startswith("1 message(s) imported")
    assert reports(session) == 1
    assert dovecot.messages() == []


def padded_report() -> bytes:
    """A report message made large by a prose part, so the FETCH is most of the traffic."""
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["Subject"] = "Report domain: example.com"
    rng = random.Random(7)
    message.set_content(
        "\n".join("".join(rng.choices(string.ascii_letters, k=76)) for _ in range(4000))
    )
    message.add_attachment(
        (FIXTURES / "rfc9990-namespace.xml").read_bytes(),
        maintype="application",
        subtype="octet-stream",
        filename="report.xml",
    )
    return message.as_bytes()


def test_a_connection_dropped_mid_fetch_keeps_nothing_and_the_next_poll_imports(
    dovecot: Dovecot, session: Session
) -> None:
    dovecot.deliver(padded_report())
    with (
        cutting_proxy(dovecot.port, cut_after=100_000) as port,
        pytest.raises(MailboxError) as raised,
    ):
        poll_report_mailbox(session, NOW, settings_for(dovecot, port))
    message = str(raised.value)
    assert message.startswith(f"imaps://{USER}@127.0.0.1:{port}/INBOX: connection lost")
    assert "\n" not in message
    assert reports(session) == 0
    assert len(dovecot.messages()) == 1
    assert poll_report_mailbox(session, NOW, settings_for(dovecot)).startswith(
        "1 message(s) imported"
    )
    assert reports(session) == 1


def test_a_wrong_password_or_an_untrusted_certificate_is_one_line(
    dovecot: Dovecot, session: Session
) -> None:
    with pytest.raises(MailboxError, match="login refused"):
        poll_report_mailbox(session, NOW, settings_for(dovecot, password="wrong"))
    with pytest.raises(MailboxError, match="TLS failed: CERTIFICATE_VERIFY_FAILED"):
        poll_report_mailbox(session, NOW, settings_for(dovecot, ca_file=None))


def test_feedback_reports_become_complaints_and_other_mail_is_left_alone(
    dovecot: Dovecot, session: Session
) -> None:
    arf = Path(__file__).parent / "fixtures" / "arf"
    dovecot.deliver((arf / "rfc5965.eml").read_bytes())
    dovecot.deliver(NOTE)
    dovecot.deliver((arf / "yahoo-cfl.eml").read_bytes())
    feedback = ArfSettings(imap_url=dovecot.url(), password=PASSWORD, ca_file=str(dovecot.ca_file))
    settings = replace(Settings(), arf=feedback)
    assert "feedback_mailbox" in make_jobs(settings)
    assert "feedback_mailbox" not in make_jobs(Settings())

    assert poll_feedback_mailbox(session, NOW, settings) == (
        "2 message(s) imported, 1 without a report left alone"
    )
    complaints = session.scalars(select(Event.recipient).where(Event.type == "complaint")).all()
    assert sorted(complaints) == ["(redacted)", "ann@gmail.com"]
    assert dovecot.messages() == [NOTE]
    assert len(dovecot.messages("Postwarden.Imported")) == 2
    # The same reports again (the loop resent them): moved, counted once.
    dovecot.deliver((arf / "rfc5965.eml").read_bytes())
    assert poll_feedback_mailbox(session, NOW, settings).startswith("1 message(s) imported")
    assert (
        session.scalar(select(func.count()).select_from(Event).where(Event.type == "complaint"))
        == 2
    )


def test_a_poll_that_imports_judges_the_reports_for_alerts(
    dovecot: Dovecot, session: Session
) -> None:
    from datetime import timedelta

    from store.models import TargetStatus

    dovecot.deliver((FIXTURES / "google-zip-attachment.eml").read_bytes())
    # The day after the report's day: that day is complete and is judged.
    assert poll_report_mailbox(session, NOW + timedelta(days=1), settings_for(dovecot)).startswith(
        "1 message(s) imported"
    )
    statuses = {
        (row.target, row.check)
        for row in session.scalars(
            select(TargetStatus).where(TargetStatus.check == "dmarc_reports")
        )
    }
    assert statuses == {("example.com", "dmarc_reports")}
