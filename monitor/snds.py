"""Microsoft SNDS: the daily fetch of the data and IP-status CSVs for the sender's IPs.

Only monitored sending IPs are kept (an SNDS key may cover more; rows of
other IPs are counted and dropped). Each monitored IP gets an ``snds`` check
result for the day, so the alert machinery opens an alert on a RED filter
result, trap hits or a block, and resolves it when SNDS no longer says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from checks.findings import Finding, finding
from checks.results import CheckResult, TargetResult
from compliance.rates.snds_csv import SndsRange, SndsRow, in_range, parse_data, parse_ip_status
from monitor.alerting import policy_of, update_alerts
from monitor.channels import channel_names
from monitor.credentials import CredentialError, read_secret_file
from monitor.history import record_run
from monitor.settings import Settings, SndsSettings
from store.models import SendingIp
from store.receivers import SndsBlock, SndsDay


class SndsError(Exception):
    """SNDS could not be read (key, network, answer); one line."""


@dataclass(frozen=True)
class SndsResult(CheckResult):
    """One sending IP's day in SNDS, as a check result (what alerts key on)."""

    day: str | None = None
    filter_result: str | None = None
    complaint_rate: float | None = None
    trap_hits: int = 0
    blocked: bool = False
    complaint_text: str | None = None
    sample_helo: str | None = None
    sample_mail_from: str | None = None


@dataclass(frozen=True)
class SndsFetch:
    """What one fetch brought."""

    day: date
    rows: list[SndsRow]
    ranges: list[SndsRange]
    set_aside: list[str]


def download(settings: SndsSettings, day: date) -> SndsFetch:
    """Both CSVs for ``day`` (the data CSV's date is MMDDYY)."""
    import httpx

    if settings.key_file is None:
        raise SndsError("set [snds] key_file to the file holding the automated-access key")
    try:
        key = read_secret_file(settings.key_file)
    except CredentialError as error:
        raise SndsError(str(error)) from None
    base = settings.url if settings.url.endswith("/") else settings.url + "/"
    texts: dict[str, str] = {}
    for name, params in (
        ("data.aspx", {"key": key, "date": day.strftime("%m%d%y")}),
        ("ipStatus.aspx", {"key": key}),
    ):
        try:
            response = httpx.get(base + name, params=params, timeout=settings.timeout)
        except httpx.HTTPError as error:
            raise SndsError(f"cannot reach {base}{name}: {error}") from None
        if response.status_code != 200:
            raise SndsError(f"{base}{name} answered HTTP {response.status_code}")
        texts[name] = response.text
    rows, bad_rows = parse_data(texts["data.aspx"])
    ranges, bad_ranges = parse_ip_status(texts["ipStatus.aspx"])
    set_aside = [f"data.aspx line {a.line}: {a.reason}" for a in bad_rows] + [
        f"ipStatus.aspx line {a.line}: {a.reason}" for a in bad_ranges
    ]
    return SndsFetch(day, rows, ranges, set_aside)


def findings_of(row: SndsRow | None, blocked: SndsRange | None, day: date) -> tuple[Finding, ...]:
    """What SNDS's day says about one IP (pure)."""
    found: list[Finding] = []
    if row is None and blocked is None:
        found.append(finding("SNDS_NO_DATA", f"SNDS has no data for this IP on {day}."))
    if row is not None:
        if row.filter_result == "RED":
            found.append(finding("SNDS_FILTER_RED", f"SNDS filter result RED on {day}."))
        elif row.filter_result == "YELLOW":
            found.append(finding("SNDS_FILTER_YELLOW", f"SNDS filter result YELLOW on {day}."))
        if row.trap_hits:
            found.append(finding("SNDS_TRAP_HITS", f"{row.trap_hits} trap hits on {day}."))
    if blocked is not None:
        detail = f" ({blocked.details})" if blocked.details else ""
        found.append(finding("SNDS_IP_BLOCKED", f"Microsoft blocks this IP{detail}."))
    return tuple(found)


def store_fetch(
    session: Session, fetch: SndsFetch, ips: list[str], now: datetime
) -> list[TargetResult]:
    """Keep the monitored IPs' rows and blocks; one ``snds`` result per monitored IP."""
    by_ip = {row.ip: row for row in fetch.rows if row.ip in ips}
    session.execute(delete(SndsDay).where(SndsDay.day == fetch.day, SndsDay.ip.in_(list(by_ip))))
    for found in by_ip.values():
        session.add(SndsDay(day=fetch.day, fetched_at=now, **_columns(found)))
    ours = [r for r in fetch.ranges if any(in_range(ip, r) for ip in ips)]
    session.execute(delete(SndsBlock))
    for item in ours:
        session.add(SndsBlock(first_ip=item.first_ip, last_ip=item.last_ip, blocked=item.blocked,
                              details=item.details, fetched_at=now))  # fmt: skip
    results = []
    for ip in ips:
        row = by_ip.get(ip)
        block = next((r for r in ours if r.blocked and in_range(ip, r)), None)
        check = SndsResult(
            findings=findings_of(row, block, fetch.day),
            day=fetch.day.isoformat(),
            filter_result=row.filter_result if row else None,
            complaint_rate=row.complaint_rate if row else None,
            trap_hits=row.trap_hits if row else 0,
            blocked=block is not None,
            complaint_text=row.complaint_text if row else None,
            sample_helo=row.sample_helo if row else None,
            sample_mail_from=row.sample_mail_from if row else None,
        )
        results.append(TargetResult(ip, "ip", {"snds": check}))
    return results


def _columns(row: SndsRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in SndsRow.__dataclass_fields__}


def fetch_snds(session: Session, now: datetime, settings: Settings, day: date | None = None) -> str:
    """The scheduled job: yesterday's SNDS data for the monitored IPs; then alerts."""
    if settings.snds.key_file is None:
        return "skipped: [snds] key_file is not set"
    ips = list(session.scalars(select(SendingIp.address).where(~SendingIp.paused)))
    wanted = day or now.date() - timedelta(days=1)
    try:
        fetch = download(settings.snds, wanted)
    except SndsError as error:
        failed = SndsResult(findings=(finding("SNDS_FETCH_FAILED", str(error)),))
        results = [TargetResult(ip, "ip", {"snds": failed}) for ip in ips]
        alert_on(session, results, now, settings)
        return f"error: {error}"
    results = store_fetch(session, fetch, ips, now)
    alert_on(session, results, now, settings)
    others = len({row.ip for row in fetch.rows} - set(ips))
    text = f"{wanted}: {len(fetch.rows) - others} rows for {len(ips)} monitored IPs"
    if others:
        text += f", {others} IPs that are not monitored skipped"
    if fetch.set_aside:
        text += f", {len(fetch.set_aside)} rows set aside ({'; '.join(fetch.set_aside[:3])})"
    return text


def alert_on(
    session: Session, results: list[TargetResult], now: datetime, settings: Settings
) -> None:
    """Record the ``snds`` results and let the alert rules open or resolve alerts."""
    policy = policy_of(settings)
    if not results:
        return
    record_run(session, results, started_at=now, finished_at=now, trigger="snds")
    # A day of SNDS data is Microsoft's verdict over 24 hours, not a blip: one confirms it.
    update_alerts(
        session,
        results,
        now,
        replace(policy, confirmations=1),
        channels=channel_names(settings),
        dashboard_url=settings.alerts.dashboard_url,
    )
