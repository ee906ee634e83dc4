"""The report mailboxes' scheduled jobs: receivers' DMARC and TLS reports, and complaint
feedback-loop (ARF) reports, fetched over IMAP by the one poller and imported."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from monitor.mailbox_poller import Mailbox, MailboxHandler, poll_mailbox
from monitor.settings import Settings


class MailboxSettings(Protocol):
    """What a settings section that names a mailbox holds (``[dmarc]``, ``[arf]``)."""

    @property
    def imap_url(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def done_folder(self) -> str: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def timeout(self) -> float: ...


class NotAFeedbackReport(ValueError):
    """A message in the feedback mailbox that holds no ARF report."""


def mailbox_of(section: MailboxSettings) -> Mailbox | None:
    """The mailbox a settings section names, or None when it sets no ``imap_url``."""
    if not section.imap_url:
        return None
    return Mailbox(
        url=section.imap_url,
        password=section.password,
        done_folder=section.done_folder,
        ca_file=section.ca_file,
        timeout=section.timeout,
    )


def report_handler(settings: Settings) -> MailboxHandler:
    """The handler of the rua mailbox: each message's DMARC and TLS reports, all or nothing."""
    from compliance.dmarc_reports.importer import INPUT_ERRORS, import_report_message
    from compliance.dmarc_reports.payloads import Limits

    limits = Limits(max_inflated_bytes=settings.dmarc.max_inflated_bytes)

    def handle(session: Session, raw: bytes, source: str, now: datetime) -> str:
        return str(import_report_message(session, raw, source, now=now, limits=limits))

    return MailboxHandler("dmarc", handle, INPUT_ERRORS)


def report_mailbox(settings: Settings) -> Mailbox | None:
    """The ``[dmarc]`` mailbox, or None when no ``imap_url`` is set."""
    return mailbox_of(settings.dmarc)


def poll_report_mailbox(session: Session, now: datetime, settings: Settings) -> str:
    """Scheduled job: import what arrived in the ``[dmarc] imap_url`` mailbox."""
    from monitor.dmarc_alerts import alert_on_reports

    mailbox = report_mailbox(settings)
    if mailbox is None:
        return "no [dmarc] imap_url configured"
    outcome = poll_mailbox(session, mailbox, report_handler(settings), now)
    if outcome.imported:
        # Committed by the scheduler with the job's outcome.
        alert_on_reports(session, now, settings)
    return str(outcome)


def feedback_handler() -> MailboxHandler:
    """The handler of the feedback-loop mailbox: each ARF report a complaint event.

    Mail that is no ARF report (a feedback address gets other mail too) is
    rejected, so the poller leaves it where it is and reports it once.
    """
    from compliance.events.arf import ArfError
    from compliance.events.arf_import import import_arf_message

    def handle(session: Session, raw: bytes, source: str, now: datetime) -> str:
        report = import_arf_message(session, raw, name=source, now=now)
        if not report.reports:
            raise NotAFeedbackReport("no feedback report (multipart/report; feedback-report)")
        return f"{report.complaints} complaint(s), {report.inserted} new"

    return MailboxHandler("arf", handle, (ArfError, NotAFeedbackReport))


def poll_feedback_mailbox(session: Session, now: datetime, settings: Settings) -> str:
    """Scheduled job: import the complaints that arrived in the ``[arf] imap_url`` mailbox."""
    mailbox = mailbox_of(settings.arf)
    if mailbox is None:
        return "no [arf] imap_url configured"
    return str(poll_mailbox(session, mailbox, feedback_handler(), now))
