"""Monitored targets: the domains (with their DKIM selectors) and sending IPs a sweep checks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, select
from sqlalchemy.orm import Session, selectinload

from checks.errors import BadInput
from checks.targets import Target, normalize_domain, parse_target, validate_selector
from store.dmarc import ReportedSelector
from store.models import DkimSelector, Domain, SendingIp


class TargetError(BadInput):
    """A target cannot be added or removed as asked."""


@dataclass(frozen=True)
class MonitoredTarget:
    """A target as stored, with its options."""

    name: str
    kind: str
    selectors: tuple[str, ...]
    alert_on_warn: bool | None
    paused: bool
    note: str | None
    created_at: datetime
    # DKIM selectors receivers reported passing for the domain (dmarc_selectors).
    reported_selectors: tuple[str, ...] = ()

    def as_target(self) -> Target:
        return Target(
            self.name,
            "domain" if self.kind == "domain" else "ip",
            self.selectors,
            self.reported_selectors,
        )


def add_domain(
    session: Session,
    name: str,
    now: datetime,
    *,
    selectors: Sequence[str] = (),
    alert_on_warn: bool | None = None,
    note: str | None = None,
) -> MonitoredTarget:
    """Monitor ``name``; adding it again updates its selectors and options."""
    try:
        domain_name = normalize_domain(name)
        wanted = sorted({validate_selector(s) for s in selectors})
    except ValueError as error:
        raise TargetError(str(error)) from None
    domain = session.scalars(
        select(Domain).where(Domain.name == domain_name).options(selectinload(Domain.selectors))
    ).one_or_none()
    if domain is None:
        domain = Domain(name=domain_name, created_at=now, paused=False)
        session.add(domain)
    if selectors:
        domain.selectors = [DkimSelector(selector=s) for s in wanted]
    if alert_on_warn is not None:
        domain.alert_on_warn = alert_on_warn
    if note is not None:
        domain.note = note
    session.flush()
    return _domain_view(domain)


def add_ip(
    session: Session,
    address: str,
    now: datetime,
    *,
    alert_on_warn: bool | None = None,
    note: str | None = None,
) -> MonitoredTarget:
    """Monitor a sending IP; adding it again updates its options."""
    try:
        target = parse_target(address)
    except ValueError as error:
        raise TargetError(str(error)) from None
    if target.kind != "ip":
        raise TargetError(f"{address!r} is not an IP address")
    row = session.scalars(select(SendingIp).where(SendingIp.address == target.name)).one_or_none()
    if row is None:
        row = SendingIp(address=target.name, created_at=now, paused=False)
        session.add(row)
    if alert_on_warn is not None:
        row.alert_on_warn = alert_on_warn
    if note is not None:
        row.note = note
    session.flush()
    return _ip_view(row)


def remove_target(session: Session, kind: str, name: str) -> None:
    """Stop monitoring a domain or IP (its history stays)."""
    try:
        key = normalize_domain(name) if kind == "domain" else parse_target(name).name
    except ValueError as error:
        raise TargetError(str(error)) from None
    model: type[Domain] | type[SendingIp] = Domain if kind == "domain" else SendingIp
    column = Domain.name if kind == "domain" else SendingIp.address
    row = session.scalars(select(model).where(column == key)).one_or_none()
    if row is None:
        raise TargetError(f"{key} is not monitored")
    session.delete(row)
    session.flush()


# Targets ``list_targets`` reads per query.
LIST_PAGE = 5000


def list_targets(session: Session, kind: str | None = None) -> list[MonitoredTarget]:
    """Monitored targets, paused ones included, domains first, each kind by name."""
    kinds = ("domain", "ip") if kind is None else (kind,)
    pages = _pages(session, LIST_PAGE, kinds, with_paused=True)
    return [target for page in pages for target in page]


def active_target_pages(
    session: Session, size: int, kinds: Sequence[str] = ("domain", "ip")
) -> Iterator[list[MonitoredTarget]]:
    """The targets not paused, ``size`` at a time: domains by name, then IPs by address.

    Each page is read by queries of its own, starting after the last name of
    the page before, so that a sweep of the whole fleet holds one page of it
    at a time (at 110,000 targets the whole list, held through the sweep, was
    its largest part), and the caller may end its transaction between pages.
    """
    return _pages(session, size, kinds, with_paused=False)


def _pages(
    session: Session, size: int, kinds: Sequence[str], *, with_paused: bool
) -> Iterator[list[MonitoredTarget]]:
    """Pages of the targets of ``kinds``, the paused ones too if ``with_paused``."""
    for kind, read in (("domain", _domain_page), ("ip", _ip_page)):
        if kind not in kinds:
            continue
        after = ""
        while page := read(session, after, size, with_paused):
            yield page
            after = page[-1].name


def _domain_page(
    session: Session, after: str, size: int, with_paused: bool
) -> list[MonitoredTarget]:
    query = select(
        Domain.id, Domain.name, Domain.alert_on_warn, Domain.paused, Domain.note, Domain.created_at
    ).where(Domain.name > after)
    if not with_paused:
        query = query.where(Domain.paused == false())
    # Rows, not ORM objects: a Domain with its selectors weighs several times more.
    rows = session.execute(query.order_by(Domain.name).limit(size)).all()
    if not rows:
        return []
    selectors: dict[int, list[str]] = {}
    for domain_id, selector in session.execute(
        select(DkimSelector.domain_id, DkimSelector.selector)
        .where(DkimSelector.domain_id.in_([row.id for row in rows]))
        .order_by(DkimSelector.selector)
    ):
        selectors.setdefault(domain_id, []).append(selector)
    reported = _reported_selectors(session, [row.name for row in rows])
    return [
        MonitoredTarget(
            name=name,
            kind="domain",
            selectors=tuple(selectors.get(domain_id, ())),
            alert_on_warn=alert_on_warn,
            paused=is_paused,
            note=note,
            created_at=created_at,
            reported_selectors=reported.get(name, ()),
        )
        for domain_id, name, alert_on_warn, is_paused, note, created_at in rows
    ]


def _ip_page(session: Session, after: str, size: int, with_paused: bool) -> list[MonitoredTarget]:
    query = select(
        SendingIp.address,
        SendingIp.alert_on_warn,
        SendingIp.paused,
        SendingIp.note,
        SendingIp.created_at,
    ).where(SendingIp.address > after)
    if not with_paused:
        query = query.where(SendingIp.paused == false())
    rows = session.execute(query.order_by(SendingIp.address).limit(size))
    return [
        MonitoredTarget(
            name=address,
            kind="ip",
            selectors=(),
            alert_on_warn=alert_on_warn,
            paused=is_paused,
            note=note,
            created_at=created_at,
        )
        for address, alert_on_warn, is_paused, note, created_at in rows
    ]


def alert_preferences(session: Session, names: Sequence[str]) -> dict[str, bool | None]:
    """Each of the monitored ``names``' own ``alert_on_warn`` (None: the settings decide)."""
    found: dict[str, bool | None] = {}
    if not names:
        return found
    for query in (
        select(Domain.name, Domain.alert_on_warn).where(Domain.name.in_(names)),
        select(SendingIp.address, SendingIp.alert_on_warn).where(SendingIp.address.in_(names)),
    ):
        for name, choice in session.execute(query):
            found[name] = choice
    return found


def list_targets_named(session: Session, names: Sequence[str]) -> list[MonitoredTarget]:
    """The monitored targets among ``names`` (a page of the dashboard)."""
    if not names:
        return []
    domains = session.scalars(
        select(Domain).where(Domain.name.in_(names)).options(selectinload(Domain.selectors))
    )
    ips = session.scalars(select(SendingIp).where(SendingIp.address.in_(names)))
    reported = _reported_selectors(session, names)
    return [_domain_view(d, reported.get(d.name, ())) for d in domains] + [_ip_view(i) for i in ips]


def _reported_selectors(session: Session, domains: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per domain of ``domains``, the selectors receivers saw pass, most recently seen first."""
    found: dict[str, list[str]] = {}
    rows = session.execute(
        select(ReportedSelector.domain, ReportedSelector.selector)
        .where(ReportedSelector.domain.in_(domains))
        .order_by(ReportedSelector.last_seen.desc(), ReportedSelector.messages.desc())
    )
    for domain, selector in rows:
        # Reports come from outside: only a valid selector becomes a DNS query.
        if _valid_selector(selector):
            found.setdefault(domain, []).append(selector)
    return {domain: tuple(selectors) for domain, selectors in found.items()}


def _valid_selector(text: str) -> bool:
    try:
        validate_selector(text)
    except ValueError:
        return False
    return True


def _domain_view(domain: Domain, reported: tuple[str, ...] = ()) -> MonitoredTarget:
    return MonitoredTarget(
        name=domain.name,
        kind="domain",
        selectors=tuple(s.selector for s in domain.selectors),
        alert_on_warn=domain.alert_on_warn,
        paused=domain.paused,
        note=domain.note,
        created_at=domain.created_at,
        reported_selectors=reported,
    )


def _ip_view(row: SendingIp) -> MonitoredTarget:
    return MonitoredTarget(
        name=row.address,
        kind="ip",
        selectors=(),
        alert_on_warn=row.alert_on_warn,
        paused=row.paused,
        note=row.note,
        created_at=row.created_at,
    )
