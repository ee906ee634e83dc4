"""A list with the evidence a compliance officer asks for: people mailed after they left
(unsubscribed, hard-bounced, complained), four Gmail addresses that mask alike, and 47
contacts past retention that the purge erases between two stored audits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from compliance.audit.list_audit import run_audit, store_audit
from compliance.contacts.erasure import purge_retention
from store.engine import open_database, session_factory
from tests.conftest import postwarden
from tests.test_audit import contact, write

HEADER = "event_id,type,bounce_type,recipient,time,campaign,message_id\n"
OLD_OPTIN = {"optin_time": "2025-03-01T10:00:00+00:00", "confirm_time": "2025-03-01T10:05:00+00:00"}
PURGED_AT = datetime(2026, 12, 5, 6, 49, tzinfo=UTC)
ERASED = 47
# address -> (status in the export, events "TYPE[/hard] ISO-TIME CAMPAIGN")
LEAVERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "john@gmail.com": ("unsubscribed", (
        "sent 2026-11-16T09:00 october-news", "unsubscribe 2026-11-16T18:30 october-news",
        "sent 2026-11-23T09:00 black-friday", "sent 2026-11-30T09:00 advent-1")),
    "jane@gmail.com": ("unsubscribed", (
        "sent 2026-11-16T09:00 october-news", "unsubscribe 2026-11-17T07:15 october-news",
        "sent 2026-11-30T09:00 advent-1")),
    "jim@gmail.com": ("bounced", (
        "sent 2026-11-16T09:00 october-news", "bounce/hard 2026-11-16T09:01 october-news",
        "sent 2026-11-23T09:00 black-friday", "bounce/hard 2026-11-23T09:01 black-friday")),
    "joe@gmail.com": ("complained", (
        "sent 2026-11-16T09:00 october-news", "complaint 2026-11-16T21:40 october-news",
        "sent 2026-11-30T09:00 advent-1", "open 2026-11-30T10:12 advent-1")),
}  # fmt: skip


def _event_lines() -> list[str]:
    lines = []
    for address, (_, events) in LEAVERS.items():
        for event in events:
            kind, at, campaign = event.split()
            kind, _, bounce = kind.partition("/")
            key = f"{address}-{kind}-{at}"
            lines.append(f"{key},{kind},{bounce},{address},{at}:00Z,{campaign},{key}")
    return lines


def seed_evidence(directory: Path, url: str) -> None:
    """Contacts and events as above; an audit stored on 4 Dec (47 past retention), the
    purge at 06:49 on 5 Dec, another audit stored on 6 Dec (none left)."""
    leavers = [contact(address, status=status, **OLD_OPTIN, last_mailed_at="",
                       last_engaged_at="")
               for address, (status, _) in LEAVERS.items()]  # fmt: skip
    expired = [contact(f"left{n}@example.net", status="unsubscribed", **OLD_OPTIN,
                       last_mailed_at="", unsubscribed_at="2026-09-01T10:00:00+00:00")
               for n in range(ERASED)]  # fmt: skip
    path = write(directory / "evidence-contacts.csv", leavers + expired)
    assert postwarden("import", "contacts", str(path), "--db", url).code == 0
    events = directory / "evidence-events.csv"
    events.write_text(HEADER + "\n".join(_event_lines()) + "\n")
    result = postwarden("import", "events", str(events), "--db", url)
    assert result.code == 0, result.stderr
    engine = open_database(url)
    with session_factory(engine)() as session:
        store_audit(session, run_audit(session, date(2026, 12, 4)),
                    datetime(2026, 12, 4, 23, tzinfo=UTC))  # fmt: skip
        assert purge_retention(session, PURGED_AT.date(), PURGED_AT) == ERASED
        store_audit(session, run_audit(session, date(2026, 12, 6)),
                    datetime(2026, 12, 6, 23, tzinfo=UTC))  # fmt: skip
        session.commit()
    engine.dispose()
