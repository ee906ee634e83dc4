"""Storing receivers' reports: each file all or nothing, each report once per (organisation, id)."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, tuple_
from sqlalchemy.orm import Session

from compliance.dmarc_reports import ReportError
from compliance.dmarc_reports.aggregate import AggregateRecord, AggregateReport, read_aggregate
from compliance.dmarc_reports.payloads import (
    AGGREGATE,
    Limits,
    Payload,
    payloads_in_file,
    payloads_in_message,
)
from compliance.dmarc_reports.tls import TlsReport, read_tls
from store.dmarc import (
    ReceiverReport,
    ReportedSelector,
    TlsFailureDetail,
    TlsPolicyResult,
)

# Failures the standard library raises on malformed input that the readers do not
# catch themselves (a mailbox cut short, a header in an unknown charset).
INPUT_ERRORS = (ReportError, UnicodeError, LookupError, EOFError, zlib.error, OSError, ValueError)


@dataclass
class FileOutcome:
    """What importing one file did: the ``import dmarc --format json`` object."""

    file: str
    status: str = "imported"
    kind: str | None = None
    reports: int = 0
    records: int = 0
    messages: int = 0
    duplicates: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if self.status == "error":
            return f"{self.file}: error: {self.error}"
        if self.status == "duplicate":
            return f"{self.file}: duplicate ({self.duplicates} report(s) already imported)"
        return (
            f"{self.file}: imported {self.reports} {self.kind} report(s), {self.records:,} "
            f"records, {self.messages:,} messages"
            + (f" ({self.duplicates} duplicate(s) skipped)" if self.duplicates else "")
        )


_EXISTS = (
    select(ReceiverReport.id)
    .where(
        ReceiverReport.kind == bindparam("kind"),
        ReceiverReport.org_name == bindparam("org_name"),
        ReceiverReport.report_id == bindparam("report_id"),
    )
    .limit(1)
)


def _exists(session: Session, kind: str, org_name: str, report_id: str) -> bool:
    found = session.connection().execute(
        _EXISTS, {"kind": kind, "org_name": org_name, "report_id": report_id}
    )
    return found.first() is not None


_RECORD_COLUMNS = (
    "report_id", "policy_domain", "day", "source_ip", "messages", "disposition", "dkim", "spf",
    "header_from", "envelope_from", "dkim_domain", "dkim_selector", "dkim_result", "dkim_all",
    "spf_domain", "spf_result", "reasons",
)  # fmt: skip


def _insert_records_sql(dialect: str) -> str:
    # The driver's executemany on plain tuples: the ORM's bulk insert spent more
    # time building parameters than SQLite spent inserting them.
    mark = "?" if dialect == "sqlite" else "%s"
    return (
        f"INSERT INTO dmarc_records ({', '.join(_RECORD_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_RECORD_COLUMNS))})"
    )


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


def _record_row(record: AggregateRecord, report_id: int, domain: str, day: date) -> tuple[Any, ...]:
    signatures = record.dkim_results
    first = signatures[0] if signatures else None
    return (
        report_id,
        domain,
        day,
        record.source_ip,
        record.count,
        record.disposition,
        record.dkim[:16],
        record.spf[:16],
        _cut(record.header_from, 253),
        _cut(record.envelope_from, 253),
        first.domain[:253] if first else None,
        _cut(first.selector, 253) if first else None,
        first.result[:16] if first else None,
        " ".join(f"{d.domain}:{d.selector or ''}:{d.result}" for d in signatures)
        if signatures
        else None,
        _cut(record.spf_domain, 253),
        _cut(record.spf_result, 16),
        " ".join(record.reasons)[:255] if record.reasons else None,
    )


def _store_aggregate(
    session: Session,
    report: AggregateReport,
    batches: Iterator[list[AggregateRecord]],
    source: str,
    now: datetime,
    selectors: Counter[tuple[str, str]],
    stored: list[int] | None,
) -> tuple[int, int]:
    # Core, not ORM objects: a thousand small reports in one transaction would
    # otherwise fill the session's identity map, and each statement scan it.
    fields = {
        "kind": AGGREGATE,
        "org_name": report.org_name[:255],
        "report_id": report.report_id[:255],
        "email": (report.email or "")[:320] or None,
        "begin": report.begin,
        "end": report.end,
        "policy_domain": report.domain[:253],
        "policy": report.policy[:16],
        "subdomain_policy": (report.subdomain_policy or "")[:16] or None,
        "nonexistent_policy": (report.nonexistent_policy or "")[:16] or None,
        "percent": report.percent,
        "adkim": (report.adkim or "")[:1] or None,
        "aspf": (report.aspf or "")[:1] or None,
        "testing": (report.testing or "")[:1] or None,
        "discovery_method": (report.discovery_method or "")[:16] or None,
        "generator": (report.generator or "")[:255] or None,
        "source": source[:500],
        "imported_at": now,
        "records": 0,
        "messages": 0,
    }
    connection = session.connection()
    table = cast(Table, ReceiverReport.__table__)
    inserted = connection.execute(table.insert().values(fields)).inserted_primary_key
    if inserted is None:  # pragma: no cover - every supported database returns the key
        raise RuntimeError("the database did not return the new report's id")
    report_key = int(inserted[0])
    if stored is not None:
        stored.append(report_key)
    day = report.begin.date()
    records = messages = 0
    statement = _insert_records_sql(connection.dialect.name)
    for batch in batches:
        connection.exec_driver_sql(
            statement, [_record_row(r, report_key, report.domain, day) for r in batch]
        )
        records += len(batch)
        for record in batch:
            messages += record.count
            for signature in record.dkim_results:
                if signature.selector and signature.result == "pass":
                    selectors[(signature.domain, signature.selector)] += record.count
    connection.execute(
        table.update().where(table.c.id == report_key).values(records=records, messages=messages)
    )
    return records, messages


def _store_tls(
    session: Session, report: TlsReport, source: str, now: datetime, stored: list[int] | None
) -> tuple[int, int]:
    row = ReceiverReport(
        kind="tls",
        org_name=report.org_name[:255],
        report_id=report.report_id[:255],
        email=(report.contact or "")[:320] or None,
        begin=report.begin,
        end=report.end,
        source=source[:500],
        imported_at=now,
        records=len(report.policies),
        messages=sum(p.successful + p.failed for p in report.policies),
    )
    session.add(row)
    session.flush()
    if stored is not None:
        stored.append(row.id)
    for policy in report.policies:
        result = TlsPolicyResult(
            report_id=row.id,
            policy_domain=policy.policy_domain[:253],
            day=report.begin.date(),
            policy_type=policy.policy_type[:32],
            mx_host=policy.mx_host,
            successful=policy.successful,
            failed=policy.failed,
        )
        session.add(result)
        session.flush()
        session.add_all(
            TlsFailureDetail(
                policy_id=result.id,
                result_type=failure.result_type[:64],
                sending_mta_ip=(failure.sending_mta_ip or "")[:45] or None,
                receiving_mx_hostname=(failure.receiving_mx_hostname or "")[:253] or None,
                receiving_ip=(failure.receiving_ip or "")[:45] or None,
                sessions=failure.failed_sessions,
                reason_code=(failure.failure_reason_code or "")[:255] or None,
            )
            for failure in policy.failures
        )
    return row.records, row.messages


def _remember_selectors(session: Session, seen: Counter[tuple[str, str]], day: date) -> None:
    """Add the selectors receivers saw passing to ``dmarc_selectors`` (few rows per file)."""
    connection = session.connection()
    table = cast(Table, ReportedSelector.__table__)
    keys = [(domain[:253], selector[:253]) for domain, selector in seen]
    stored = {
        (row.domain, row.selector): row
        for row in connection.execute(
            select(table).where(tuple_(table.c.domain, table.c.selector).in_(keys))
        )
    }
    for (domain, selector), messages in seen.items():
        key = (domain[:253], selector[:253])
        row = stored.get(key)
        if row is None:
            connection.execute(
                table.insert().values(
                    domain=key[0],
                    selector=key[1],
                    first_seen=day,
                    last_seen=day,
                    messages=messages,
                )
            )
        else:
            connection.execute(
                table.update()
                .where(table.c.id == row.id)
                .values(
                    first_seen=min(row.first_seen, day),
                    last_seen=max(row.last_seen, day),
                    messages=row.messages + messages,
                )
            )


def import_payloads(
    session: Session,
    payloads: Iterable[Payload],
    source: str,
    now: datetime,
    stored: list[int] | None = None,
) -> FileOutcome:
    """Store every report in ``payloads``, skipping those already stored.

    The caller commits, or on :data:`INPUT_ERRORS` rolls back or removes
    the reports whose ids were appended to ``stored`` (:func:`forget_reports`):
    nothing of the file is then kept.
    """
    outcome = FileOutcome(file=source)
    selectors: Counter[tuple[str, str]] = Counter()
    last_day: date | None = None
    for payload in payloads:
        outcome.kind = outcome.kind or payload.kind
        where = source if payload.where in ("the file", "") else f"{source} ({payload.where})"
        try:
            if payload.kind == AGGREGATE:
                report, batches = read_aggregate(payload.stream)
                if _exists(session, AGGREGATE, report.org_name[:255], report.report_id[:255]):
                    outcome.duplicates += 1
                    continue
                records, messages = _store_aggregate(
                    session, report, batches, where, now, selectors, stored
                )
                last_day = max(last_day or report.begin.date(), report.begin.date())
            else:
                tls = read_tls(payload.stream)
                if _exists(session, "tls", tls.org_name[:255], tls.report_id[:255]):
                    outcome.duplicates += 1
                    continue
                records, messages = _store_tls(session, tls, where, now, stored)
        except ReportError as error:
            inside = "" if payload.where in ("the file", "") else f"{payload.where}: "
            raise ReportError(f"{inside}{error}") from None
        outcome.reports += 1
        outcome.records += records
        outcome.messages += messages
    if selectors and last_day is not None:
        _remember_selectors(session, selectors, last_day)
    if not outcome.reports:
        outcome.status = "duplicate"
    return outcome


def import_report_file(
    session: Session,
    path: Path,
    *,
    now: datetime,
    limits: Limits | None = None,
    stored: list[int] | None = None,
) -> FileOutcome:
    """Import the reports in the file at ``path`` (the caller commits or rolls back)."""
    return import_payloads(session, payloads_in_file(path, limits), str(path), now, stored)


def forget_reports(session: Session, report_ids: list[int]) -> None:
    """Remove reports stored in the open transaction (their records and TLS rows cascade).

    How one file of a batch is undone without rolling back the files before
    it in the same transaction.
    """
    if report_ids:
        session.expunge_all()
        session.execute(delete(ReceiverReport).where(ReceiverReport.id.in_(report_ids)))


def import_report_message(
    session: Session, raw: bytes, source: str, *, now: datetime, limits: Limits | None = None
) -> FileOutcome:
    """Import the reports attached to one e-mail message (the mailbox poller's handler)."""
    return import_payloads(
        session, payloads_in_message(raw, "the message", limits or Limits()), source, now
    )


def report_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under ``paths``: directories read recursively, in name order, hidden files skipped."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path
