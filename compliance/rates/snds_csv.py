"""Microsoft SNDS automated-access CSVs read into rows (pure).

Layouts (SNDS FAQ, "Automated Data Access"; tests/fixtures/snds/SOURCES.md):

- data (``data.aspx?key=KEY&date=MMDDYY``), no header, one row per IP and
  activity period: IP address, activity start, activity end, RCPT commands,
  DATA commands, message recipients, filter result (GREEN|YELLOW|RED),
  complaint rate ("< 0.1%" or "0.4%"), trap message start, trap message end,
  trap hits, sample HELO, sample MAIL FROM, comments. Times are
  ``M/D/YYYY h:mm AM`` (UTC).
- IP status (``ipStatus.aspx?key=KEY``), no header: first IP, last IP,
  blocked (Yes|No), details.

A row that cannot be read is set aside with its reason; the others are kept.
"""

from __future__ import annotations

import csv
import io
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

FILTER_RESULTS = ("GREEN", "YELLOW", "RED")
DATA_COLUMNS = 14


@dataclass(frozen=True)
class SndsRow:
    """One IP's activity period in SNDS."""

    ip: str
    activity_start: datetime | None
    activity_end: datetime | None
    rcpt_commands: int
    data_commands: int
    message_recipients: int
    filter_result: str
    complaint_rate: float | None
    complaint_text: str
    trap_hits: int
    sample_helo: str | None
    sample_mail_from: str | None
    comments: str | None


@dataclass(frozen=True)
class SndsRange:
    """A range of IPs in the IP-status list."""

    first_ip: str
    last_ip: str
    blocked: bool
    details: str | None


@dataclass(frozen=True)
class SetAside:
    """A row that could not be read, and why."""

    line: int
    reason: str


def _rows(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    return [
        (number, row) for number, row in enumerate(reader, start=1) if any(c.strip() for c in row)
    ]


def _ip(value: str, field: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{field} {value.strip()[:60]!r} is not an IP address") from None


def _count(value: str, field: str) -> int:
    text = value.strip()
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{field} {text[:30]!r} is not a whole number")
    return int(text)


def _time(value: str, field: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y %I:%M %p").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{field} {text[:30]!r} is not a time like 12/31/2026 7:00 PM") from None


def parse_complaint_rate(value: str) -> float | None:
    """``"0.4%"`` -> 0.004; ``"< 0.1%"`` -> 0.001 (SNDS's resolution, kept as the bound)."""
    text = value.strip().lstrip("<").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        rate = float(text) / 100
    except ValueError:
        raise ValueError(f"complaint rate {value.strip()[:30]!r} is not a percentage") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"complaint rate {value.strip()!r} is out of range")
    return rate


def _text(value: str) -> str | None:
    text = value.strip()
    return text[:1000] or None


def parse_data(text: str) -> tuple[list[SndsRow], list[SetAside]]:
    """The rows of a data CSV, and the rows set aside with their reasons."""
    rows: list[SndsRow] = []
    aside: list[SetAside] = []
    for number, cells in _rows(text):
        if len(cells) < DATA_COLUMNS - 1:
            aside.append(SetAside(number, f"{len(cells)} fields, expected {DATA_COLUMNS}"))
            continue
        cells = [*cells, *[""] * (DATA_COLUMNS - len(cells))]  # noqa: PLW2901 (padded in place)
        try:
            verdict = cells[6].strip().upper()
            if verdict not in FILTER_RESULTS:
                raise ValueError(
                    f"filter result {cells[6].strip()[:20]!r} is not GREEN, YELLOW or RED"
                )
            rows.append(
                SndsRow(
                    ip=_ip(cells[0], "IP address"),
                    activity_start=_time(cells[1], "activity start"),
                    activity_end=_time(cells[2], "activity end"),
                    rcpt_commands=_count(cells[3], "RCPT commands"),
                    data_commands=_count(cells[4], "DATA commands"),
                    message_recipients=_count(cells[5], "message recipients"),
                    filter_result=verdict,
                    complaint_rate=parse_complaint_rate(cells[7]),
                    complaint_text=cells[7].strip()[:16],
                    trap_hits=_count(cells[10], "trap hits"),
                    sample_helo=_text(cells[11]),
                    sample_mail_from=_text(cells[12]),
                    comments=_text(",".join(cells[13:])),
                )
            )
        except ValueError as error:
            aside.append(SetAside(number, str(error)))
    return rows, aside


def parse_ip_status(text: str) -> tuple[list[SndsRange], list[SetAside]]:
    """The ranges of an IP-status CSV, and the rows set aside with their reasons."""
    ranges: list[SndsRange] = []
    aside: list[SetAside] = []
    for number, cells in _rows(text):
        if len(cells) < 3:
            aside.append(SetAside(number, f"{len(cells)} fields, expected 4"))
            continue
        try:
            first, last = _ip(cells[0], "first IP"), _ip(cells[1], "last IP")
            blocked = cells[2].strip().lower()
            if blocked not in ("yes", "no"):
                raise ValueError(f"blocked {cells[2].strip()[:20]!r} is not Yes or No")
            ranges.append(SndsRange(first, last, blocked == "yes", _text(",".join(cells[3:]))))
        except ValueError as error:
            aside.append(SetAside(number, str(error)))
    return ranges, aside


def in_range(ip: str, item: SndsRange) -> bool:
    """Whether ``ip`` is within the range (same address family)."""
    address = ipaddress.ip_address(ip)
    first, last = ipaddress.ip_address(item.first_ip), ipaddress.ip_address(item.last_ip)
    return address.version == first.version and first <= address <= last  # type: ignore[operator]
