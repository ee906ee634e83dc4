"""SMTP TLS reports (RFC 8460): JSON, one report per payload, parsed into frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from compliance.dmarc_reports import ReportError


@dataclass(frozen=True)
class TlsFailure:
    """Sessions that failed one way between one sending MTA and one receiving MX."""

    result_type: str
    sending_mta_ip: str | None
    receiving_mx_hostname: str | None
    receiving_ip: str | None
    failed_sessions: int
    failure_reason_code: str | None


@dataclass(frozen=True)
class TlsPolicy:
    """One policy's summary: the policy domain, its type, and how its sessions went."""

    policy_type: str
    policy_domain: str
    mx_host: str | None
    successful: int
    failed: int
    failures: tuple[TlsFailure, ...]


@dataclass(frozen=True)
class TlsReport:
    """One SMTP TLS report."""

    org_name: str
    report_id: str
    contact: str | None
    begin: datetime
    end: datetime
    policies: tuple[TlsPolicy, ...]


def _field(data: dict[str, Any], name: str, where: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if value is None or not isinstance(value, kind) or value == "":
        raise ReportError(f"{where}: {name!r} is missing or not a {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "string", int: "number", dict: "object", list: "list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _count(data: dict[str, Any], name: str, where: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReportError(f"{where}: {name!r} is not a count ({str(value)[:20]!r})")
    return value


def _datetime(text: str, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"{where}: {text[:40]!r} is not an RFC 3339 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _optional(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return str(value).strip() or None if value not in (None, "") else None


def _failure(data: Any, where: str) -> TlsFailure:
    if not isinstance(data, dict):
        raise ReportError(f"{where}: a failure detail is not an object")
    return TlsFailure(
        result_type=str(_field(data, "result-type", where, str)).lower(),
        sending_mta_ip=_optional(data, "sending-mta-ip"),
        receiving_mx_hostname=_optional(data, "receiving-mx-hostname"),
        receiving_ip=_optional(data, "receiving-ip"),
        failed_sessions=_count(data, "failed-session-count", where),
        failure_reason_code=_optional(data, "failure-reason-code"),
    )


def _policy(data: Any, number: int) -> TlsPolicy:
    where = f"policy {number}"
    if not isinstance(data, dict):
        raise ReportError(f"{where}: not an object")
    policy = _field(data, "policy", where, dict)
    summary = _field(data, "summary", where, dict)
    details = data.get("failure-details") or []
    if not isinstance(details, list):
        raise ReportError(f"{where}: 'failure-details' is not a list")
    return TlsPolicy(
        policy_type=str(_field(policy, "policy-type", where, str)).lower(),
        policy_domain=str(_field(policy, "policy-domain", where, str)).lower().rstrip("."),
        mx_host=_optional(policy, "mx-host"),
        successful=_count(summary, "total-successful-session-count", where),
        failed=_count(summary, "total-failure-session-count", where),
        failures=tuple(_failure(item, where) for item in details),
    )


def parse_tls_report(data: Any) -> TlsReport:
    """A decoded RFC 8460 JSON document as a report; :class:`ReportError` naming the bad field."""
    if not isinstance(data, dict):
        raise ReportError("the JSON is not an object, so not an SMTP TLS report")
    if "organization-name" not in data and "policies" not in data:
        raise ReportError(
            "the JSON has neither 'organization-name' nor 'policies': not an SMTP TLS report"
        )
    dates = _field(data, "date-range", "report", dict)
    policies = _field(data, "policies", "report", list)
    return TlsReport(
        org_name=str(_field(data, "organization-name", "report", str)).strip(),
        report_id=str(_field(data, "report-id", "report", str)).strip().strip("<>"),
        contact=_optional(data, "contact-info"),
        begin=_datetime(_field(dates, "start-datetime", "date-range", str), "date-range"),
        end=_datetime(_field(dates, "end-datetime", "date-range", str), "date-range"),
        policies=tuple(_policy(item, number) for number, item in enumerate(policies, start=1)),
    )


def read_tls(stream: IO[bytes]) -> TlsReport:
    """Parse the JSON SMTP TLS report in ``stream``."""
    try:
        data = json.loads(stream.read())
    except UnicodeDecodeError as error:
        raise ReportError(f"the JSON is not valid UTF-8 (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ReportError(
            f"not valid JSON ({error.msg}, line {error.lineno} column {error.colno})"
        ) from None
    return parse_tls_report(data)
