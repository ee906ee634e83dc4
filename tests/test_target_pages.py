"""The fleet read a page at a time (monitor.targets.active_target_pages), on SQLite and
PostgreSQL: every active target once, in the order of the full list, with its options."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, update

from monitor.targets import (
    active_target_pages,
    add_domain,
    add_ip,
    alert_preferences,
    list_targets,
)
from store.dmarc import ReportedSelector
from store.engine import session_factory, upgrade_database
from store.models import Domain, SendingIp

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_pages_hold_every_active_target_once_with_its_options(engine: Engine) -> None:
    upgrade_database(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for n in range(5):
            add_domain(session, f"d{n}.example.test", T0, selectors=[f"s{n}", "a"], note=f"n{n}")
        add_domain(session, "loud.example.test", T0, alert_on_warn=True)
        for address in ("192.0.2.3", "192.0.2.1", "192.0.2.2"):
            add_ip(session, address, T0, alert_on_warn=False if address.endswith(".2") else None)
        session.execute(update(Domain).where(Domain.name == "d2.example.test").values(paused=True))
        session.execute(
            update(SendingIp).where(SendingIp.address == "192.0.2.3").values(paused=True)
        )
        day = date(2026, 12, 6)
        session.add(
            ReportedSelector(
                domain="d1.example.test", selector="rep", first_seen=day, last_seen=day, messages=3
            )
        )
        # A name no DNS query may carry is never handed to the probes.
        session.add(
            ReportedSelector(
                domain="d1.example.test",
                selector="bad name",
                first_seen=day,
                last_seen=day,
                messages=1,
            )
        )
    with sessions() as session:
        pages = list(active_target_pages(session, 2))
        listed = list_targets(session)
        whole = [t for t in listed if not t.paused]
        ips = list_targets(session, "ip")
        domains_only = [
            t.name for page in active_target_pages(session, 4, ("domain",)) for t in page
        ]
        preferences = alert_preferences(
            session, ["loud.example.test", "192.0.2.2", "d0.example.test", "gone.test"]
        )
    assert [len(page) for page in pages] == [2, 2, 1, 2]  # domains, then IPs, never mixed
    assert [t for page in pages for t in page] == whole
    assert [t.name for t in whole] == [
        "d0.example.test", "d1.example.test", "d3.example.test", "d4.example.test",
        "loud.example.test", "192.0.2.1", "192.0.2.2",
    ]  # fmt: skip
    d1 = whole[1]
    assert (d1.selectors, d1.reported_selectors, d1.note) == (("a", "s1"), ("rep",), "n1")
    assert domains_only == [t.name for t in whole if t.kind == "domain"]
    # The full list (the CLI's and the dashboard's) keeps the paused ones, marked.
    assert [(t.name, t.paused) for t in listed if t.paused] == [
        ("d2.example.test", True),
        ("192.0.2.3", True),
    ]
    assert [t.name for t in ips] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert preferences == {"loud.example.test": True, "192.0.2.2": False, "d0.example.test": None}
