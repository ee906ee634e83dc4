"""The reporting mailbox's scheduled job: receivers' reports fetched over IMAP and imported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from monitor.mailbox_poller import Mailbox, MailboxHandler, poll_mailbox
from monitor.settings import Settings


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
    dmarc = settings.dmarc
    if not dmarc.imap_url:
        return None
    return Mailbox(
        url=dmarc.imap_url,
        password=dmarc.password,
        done_folder=dmarc.done_folder,
        ca_file=dmarc.ca_file,
        timeout=dmarc.timeout,
    )


def poll_report_mailbox(session: Session, now: datetime, settings: Settings) -> str:
    """Scheduled job: import what arrived in the ``[dmarc] imap_url`` mailbox."""
    mailbox = report_mailbox(settings)
    if mailbox is None:
        return "no [dmarc] imap_url configured"
    from monitor.dmarc_alerts import alert_on_reports

    outcome = poll_mailbox(session, mailbox, report_handler(settings), now)
    if outcome.imported:
        # Committed by the scheduler with the job's outcome.
        alert_on_reports(session, now, settings)
    return str(outcome)
