"""Storing receivers' reports: each file all or nothing, each report once per (organisation, id)."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, tuple_
from sqlalchemy.engine import Dialect
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


def _mark(dialect: str) -> str:
    """The driver's parameter marker (sqlite3: qmark; psycopg: format)."""
    return "?" if dialect == "sqlite" else "%s"


def _exists(cursor: Any, mark: str, kind: str, org_name: str, report_id: str) -> bool:
    cursor.execute(
        f"SELECT id FROM receiver_reports WHERE kind = {mark} AND org_name = {mark} "
        f"AND report_id = {mark} LIMIT 1",
        (kind, org_name, report_id),
    )
    return cursor.fetchone() is not None


_RECORD_COLUMNS = (
    "report_id", "policy_domain", "day", "source_ip", "messages", "disposition", "dkim", "spf",
    "header_from", "envelope_from", "dkim_domain", "dkim_selector", "dkim_result", "dkim_all",
    "spf_domain", "spf_result", "reasons",
)  # fmt: skip


def _insert_records_sql(dialect: str) -> str:
    # The driver's executemany on plain tuples: the ORM's bulk insert spent more
    # time building parameters than SQLite spent inserting them.
    mark = _mark(dialect)
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


_REPORTS = cast(Table, ReceiverReport.__table__)
_REPORT_COLUMNS = (
    "kind", "org_name", "report_id", "email", "begin", "end", "policy_domain", "policy",
    "subdomain_policy", "nonexistent_policy", "percent", "adkim", "aspf", "testing",
    "discovery_method", "generator", "source", "imported_at", "records", "messages",
)  # fmt: skip


@lru_cache(maxsize=4)  # one engine's dialect, or a few in tests: never a growing cache
def _insert_report(dialect: Dialect) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The report row's INSERT for the driver, and each column's conversion.

    The conversions are the column types' own (SQLite keeps datetimes as text
    in SQLAlchemy's format), so a row written here reads back as any other.
    """
    mark = _mark(dialect.name)
    quoted = [dialect.identifier_preparer.quote(name) for name in _REPORT_COLUMNS]
    statement = (
        f"INSERT INTO receiver_reports ({', '.join(quoted)}) "
        f"VALUES ({', '.join([mark] * len(quoted))}) RETURNING id"
    )
    converters = tuple(
        _REPORTS.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in _REPORT_COLUMNS
    )
    return statement, converters


def _insert_report_row(cursor: Any, dialect: Dialect, fields: dict[str, Any]) -> int:
    statement, converters = _insert_report(dialect)
    cursor.execute(
        statement,
        tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip(
                (fields[name] for name in _REPORT_COLUMNS), converters, strict=True
            )
        ),
    )
    return int(cursor.fetchone()[0])


def _store_aggregate(
    cursor: Any,
    dialect: Dialect,
    report: AggregateReport,
    batches: Iterator[list[AggregateRecord]],
    source: str,
    now: datetime,
    selectors: Counter[tuple[str, str]],
    stored: list[int] | None,
) -> tuple[int, int]:
    # Driver statements, not ORM objects: a thousand small reports in one transaction
    # would otherwise fill the session's identity map, and each statement scan it.
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
    # A report read in one or two batches (all but the largest) is counted before
    # its row is written; a longer one gets its totals once its records are in.
    first, second = next(batches, None), next(batches, None)
    known = second is None
    if known:
        fields["records"] = len(first or ())
        fields["messages"] = sum(r.count for r in first or ())
    report_key = _insert_report_row(cursor, dialect, fields)
    if stored is not None:
        stored.append(report_key)
    day = report.begin.date()
    records = messages = 0
    statement = _insert_records_sql(dialect.name)
    for batch in _chained(first, second, batches):
        cursor.executemany(
            statement, [_record_row(r, report_key, report.domain, day) for r in batch]
        )
        records += len(batch)
        for record in batch:
            messages += record.count
            for signature in record.dkim_results:
                if signature.selector and signature.result == "pass":
                    selectors[(signature.domain, signature.selector)] += record.count
    if not known:
        mark = _mark(dialect.name)
        cursor.execute(
            f"UPDATE receiver_reports SET records = {mark}, messages = {mark} WHERE id = {mark}",
            (records, messages, report_key),
        )
    return records, messages


def _chained(
    first: list[AggregateRecord] | None,
    second: list[AggregateRecord] | None,
    rest: Iterator[list[AggregateRecord]],
) -> Iterator[list[AggregateRecord]]:
    for batch in (first, second):
        if batch:
            yield batch
    yield from rest


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


_SELECTORS = cast(Table, ReportedSelector.__table__)
_INSERT_SELECTOR = _SELECTORS.insert()
_WIDEN_SELECTOR = (
    _SELECTORS.update()
    .where(_SELECTORS.c.id == bindparam("key"))
    .values(first_seen=bindparam("first"), last_seen=bindparam("last"), messages=bindparam("total"))
)


class SelectorTally:
    """The passing DKIM selectors of files imported but not yet stored, for one upsert.

    Each file's selectors count from the latest day of its reports (as when
    each file stored its own); a batch of files keeps per selector the
    earliest and latest of those days and the sum of their messages, so one
    upsert per transaction leaves ``dmarc_selectors`` as one per file would.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[Any]] = {}

    def add(self, selectors: Counter[tuple[str, str]], day: date) -> None:
        """Count one imported file's selectors, seen on ``day``."""
        for (domain, selector), messages in selectors.items():
            key = (domain[:253], selector[:253])
            known = self.seen.get(key)
            if known is None:
                self.seen[key] = [day, day, messages]
            else:
                known[0], known[1] = min(known[0], day), max(known[1], day)
                known[2] += messages

    def store(self, session: Session) -> None:
        """Add the tallied selectors to ``dmarc_selectors`` and start over."""
        if not self.seen:
            return
        connection = session.connection()
        keys = list(self.seen)
        stored: dict[tuple[str, str], Any] = {}
        # A bounded IN list per query (SQLite allows a few thousand parameters).
        for start in range(0, len(keys), 400):
            chunk = keys[start : start + 400]
            stored.update(
                ((row.domain, row.selector), row)
                for row in connection.execute(
                    select(_SELECTORS).where(
                        tuple_(_SELECTORS.c.domain, _SELECTORS.c.selector).in_(chunk)
                    )
                )
            )
        new: list[dict[str, Any]] = []
        widened: list[dict[str, Any]] = []
        for key, (first, last, messages) in self.seen.items():
            row = stored.get(key)
            if row is None:
                new.append({"domain": key[0], "selector": key[1], "first_seen": first,
                            "last_seen": last, "messages": messages})  # fmt: skip
            else:
                widened.append({"key": row.id, "first": min(row.first_seen, first),
                                "last": max(row.last_seen, last),
                                "total": row.messages + messages})  # fmt: skip
        if new:
            connection.execute(_INSERT_SELECTOR, new)
        if widened:
            connection.execute(_WIDEN_SELECTOR, widened)
        self.seen.clear()


def import_payloads(
    session: Session,
    payloads: Iterable[Payload],
    source: str,
    now: datetime,
    stored: list[int] | None = None,
    tally: SelectorTally | None = None,
) -> FileOutcome:
    """Store every report in ``payloads``, skipping those already stored.

    The caller commits, or on :data:`INPUT_ERRORS` rolls back or removes
    the reports whose ids were appended to ``stored`` (:func:`forget_reports`):
    nothing of the file is then kept. With a ``tally`` the file's DKIM
    selectors are added to it (once the whole file is read) for the caller
    to store with :meth:`SelectorTally.store` before it commits; without one
    they are stored here.
    """
    outcome = FileOutcome(file=source)
    selectors: Counter[tuple[str, str]] = Counter()
    last_day: date | None = None
    # The statements run once per report go to the driver's cursor, in the session's
    # transaction: SQLAlchemy's execution of even a cached or textual statement (its
    # execution context and result set-up) cost more than SQLite took to run them,
    # a quarter of a thousand small reports' import under the profiler.
    connection = session.connection()
    dialect, mark = connection.dialect, _mark(connection.dialect.name)
    with closing(connection.connection.cursor()) as cursor:
        for payload in payloads:
            outcome.kind = outcome.kind or payload.kind
            where = source if payload.where in ("the file", "") else f"{source} ({payload.where})"
            try:
                if payload.kind == AGGREGATE:
                    report, batches = read_aggregate(payload.stream)
                    org_name, report_id = report.org_name[:255], report.report_id[:255]
                    if _exists(cursor, mark, AGGREGATE, org_name, report_id):
                        outcome.duplicates += 1
                        continue
                    records, messages = _store_aggregate(
                        cursor, dialect, report, batches, where, now, selectors, stored
                    )
                    last_day = max(last_day or report.begin.date(), report.begin.date())
                else:
                    tls = read_tls(payload.stream)
                    if _exists(cursor, mark, "tls", tls.org_name[:255], tls.report_id[:255]):
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
        own = tally or SelectorTally()
        own.add(selectors, last_day)
        if tally is None:
            own.store(session)
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
    tally: SelectorTally | None = None,
) -> FileOutcome:
    """Import the reports in the file at ``path`` (the caller commits or rolls back)."""
    return import_payloads(session, payloads_in_file(path, limits), str(path), now, stored, tally)


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
