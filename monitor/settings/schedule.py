"""[schedule]: how often each job runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleSettings:
    """How often each job runs."""

    auth_minutes: float = 30.0
    blocklist_minutes: float = 60.0
    deliver_seconds: float = 30.0
    ingest_seconds: float = 5.0
    purge_hours: float = 24.0
    history_days: int = 400
    # Delivery events kept (0: all, as before this setting); the aggregates rates read stay.
    event_history_days: int = 0
    # MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE and BIMI change slowly and cost connections.
    transport_minutes: float = 360.0
    # How often the report mailboxes ([dmarc] and [arf] imap_url) are polled.
    mailbox_minutes: float = 15.0
    # PostgreSQL: targets per sweep chunk, the unit of work the workers share.
    chunk_size: int = 500
    # PostgreSQL: how often a worker tells the task engine it lives; a worker silent
    # for three of these is taken for dead and its chunk is run again by another.
    heartbeat_seconds: float = 10.0
