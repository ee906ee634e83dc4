"""Events partitioned by month on PostgreSQL: the upgrade, imports into new months, the purge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from sqlalchemy import Engine, func, select, text

from compliance.audit.list_audit import run_audit
from compliance.contacts.importer import import_contacts
from compliance.events.arf_import import import_arf_message
from compliance.events.campaigns import campaign_stats
from compliance.events.importer import ImportFailed, import_file
from compliance.rates.limit_profiles import load_profiles
from compliance.rates.report import campaign_rates, rates_report
from monitor.jobs import purge_history
from monitor.settings import Settings
from store.engine import alembic_config, make_engine, session_factory, upgrade_database
from store.events import Event
from store.partitions import add_month_partitions, is_partitioned

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 30)
HEADER = "event_id,type,bounce_type,recipient,time,campaign,message_id\n"
ARF = Path(__file__).parent / "fixtures" / "arf" / "rfc5965.eml"


@pytest.fixture
def postgres(postgres_server: str) -> Iterator[Engine]:
    """An engine on a fresh, empty PostgreSQL database."""
    name = f"test_{uuid.uuid4().hex}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(postgres_server.replace("/postgres?", f"/{name}?"))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def write_events(path: Path, months: list[tuple[int, int]], prefix: str = "e") -> Path:
    """Sends, deliveries, opens and exits to 30 recipients on three days of each month."""
    lines = [HEADER]
    for year, month in months:
        for day in (1, 14, 28):
            for person in range(30):
                who = f"p{person}@{'gmail.com' if person % 2 else 'example.org'}"
                at = datetime(year, month, day, 9 + person % 12, tzinfo=UTC).isoformat()
                key = f"{prefix}-{year}-{month}-{day}-{person}"
                campaign = f"c{year}{month:02d}"
                lines.append(f"{key}-s,sent,,{who},{at},{campaign},m-{key}\n")
                if person % 10 == 3:
                    lines.append(f"{key}-b,bounce,hard,{who},{at},{campaign},m-{key}\n")
                    continue
                lines.append(f"{key}-d,delivered,,{who},{at},{campaign},m-{key}\n")
                if person % 3 == 0:
                    lines.append(f"{key}-o,open,,{who},{at},{campaign},m-{key}\n")
                if person == 7 and day == 1:
                    lines.append(f"{key}-u,unsubscribe,,{who},{at},{campaign},m-{key}\n")
                if person == 11 and day == 14:
                    lines.append(f"{key}-c,complaint,,{who},{at},{campaign},m-{key}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_contacts(path: Path) -> Path:
    rows = [
        f"p{n}@{'gmail.com' if n % 2 else 'example.org'},subscribed,"
        "2026-01-02T10:00:00Z,2026-01-02T10:05:00Z,192.0.2.7\n"
        for n in range(30)
    ]
    path.write_text("email,status,optin_time,confirm_time,confirm_ip\n" + "".join(rows))
    return path


def answers(engine: Engine) -> dict[str, Any]:
    """What rates, the campaign figures and the audit say of the stored data."""
    with session_factory(engine)() as session:
        return {
            "rates": rates_report(session, load_profiles(), as_of=AS_OF, days=120).to_json(),
            "campaigns": campaign_rates(session, as_of=AS_OF, days=120),
            "engagement": campaign_stats(session, as_of=AS_OF, days=120),
            "audit": run_audit(session, AS_OF).to_json(),
        }


def stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM events ORDER BY id"))]


def partitions(engine: Engine) -> list[str]:
    """The names of the tables pg_inherits lists as children of ``events``."""
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'events'::regclass"
                )
            ).scalars()
        )


def relation_exists(engine: Engine, name: str) -> bool:
    with engine.connect() as connection:
        return connection.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None


def import_events(engine: Engine, path: Path) -> tuple[int, int]:
    with session_factory(engine)() as session:
        report = import_file(session, path, source="csv", now=NOW)
        session.commit()
    return report.inserted, report.duplicates


def test_the_upgrade_keeps_every_event_the_dedup_and_every_answer(
    postgres: Engine, tmp_path: Path
) -> None:
    command.upgrade(alembic_config(postgres), "0018")
    events = write_events(tmp_path / "events.csv", [(2026, 8), (2026, 9), (2026, 10), (2026, 11)])
    with session_factory(postgres)() as session:
        import_contacts(session, write_contacts(tmp_path / "contacts.csv"), now=NOW)
        session.commit()
    inserted, _ = import_events(postgres, events)
    with postgres.connect() as connection:
        assert not is_partitioned(connection)
    rows, before = stored(postgres), answers(postgres)
    assert before["audit"]["rules"]["mailed_after_unsubscribe"]["count"] == 1

    upgrade_database(postgres)

    with postgres.connect() as connection:
        assert is_partitioned(connection)
    assert partitions(postgres) == [
        "events_2026_08",
        "events_2026_09",
        "events_2026_10",
        "events_2026_11",
    ]
    assert stored(postgres) == rows and len(rows) == inserted
    assert answers(postgres) == before
    assert import_events(postgres, events) == (0, inserted)  # duplicates still refused
    # New events are numbered after the old ones (the id sequence survived the copy).
    later = tmp_path / "later.csv"
    later.write_text(HEADER + "n1,sent,,p1@gmail.com,2026-11-30T10:00:00Z,c,m\n")
    assert import_events(postgres, later) == (1, 0)
    with postgres.connect() as connection:
        new = connection.execute(select(Event.id).where(Event.event_id == "n1")).scalar_one()
    assert new > max(row[0] for row in rows)


def test_events_of_a_month_without_a_partition_get_one_and_import(
    postgres: Engine, tmp_path: Path
) -> None:
    upgrade_database(postgres)
    assert partitions(postgres) == []
    first = write_events(tmp_path / "first.csv", [(2026, 12)], prefix="a")
    import_events(postgres, first)
    assert partitions(postgres) == ["events_2026_12"]
    second = write_events(tmp_path / "second.csv", [(2027, 1), (2026, 12)], prefix="b")
    inserted, duplicates = import_events(postgres, second)
    assert duplicates == 0 and inserted > 0
    assert partitions(postgres) == ["events_2026_12", "events_2027_01"]
    with postgres.connect() as connection:
        in_january = connection.execute(text("SELECT count(*) FROM events_2027_01")).scalar()
        every = connection.execute(text("SELECT count(*) FROM events")).scalar()
    assert in_january == inserted // 2 and every == inserted * 3 // 2


def test_a_failed_import_takes_the_partitions_it_added_with_it(
    postgres: Engine, tmp_path: Path
) -> None:
    upgrade_database(postgres)
    broken = tmp_path / "broken.csv"
    broken.write_text(
        HEADER
        + "x1,sent,,p1@gmail.com,2027-03-02T10:00:00Z,c,m\n"
        + "".join(f"y{n},sent,,p1@gmail.com,2027-03-02T10:00:00Z,c,m\n" for n in range(6000))
        + "z1,sent,,not an address,2027-04-02T10:00:00Z,c,m\n"
    )
    with (
        session_factory(postgres)() as session,
        pytest.raises(ImportFailed, match=r"broken\.csv:6003"),
    ):
        import_file(session, broken, source="csv", now=NOW)
    assert partitions(postgres) == []


def test_adding_a_month_twice_adds_it_once(postgres: Engine) -> None:
    upgrade_database(postgres)
    with postgres.begin() as connection:
        assert add_month_partitions(connection, [date(2027, 5, 1)]) == ["events_2027_05"]
        assert add_month_partitions(connection, [date(2027, 5, 1), date(2027, 6, 1)]) == [
            "events_2027_06"
        ]
    assert partitions(postgres) == ["events_2027_05", "events_2027_06"]


def test_the_purge_drops_whole_old_months_and_deletes_only_in_the_boundary_month(
    postgres: Engine, tmp_path: Path
) -> None:
    upgrade_database(postgres)
    import_events(
        postgres, write_events(tmp_path / "e.csv", [(2026, 8), (2026, 9), (2026, 10), (2026, 11)])
    )
    with postgres.connect() as connection:
        october = connection.execute(text("SELECT count(*) FROM events_2026_10")).scalar_one()
        late_october = connection.execute(
            text("SELECT count(*) FROM events WHERE time >= '2026-10-14 00:00:00+00'")
        ).scalar()
    settings = Settings()
    settings = replace(settings, schedule=replace(settings.schedule, event_history_days=48))
    with session_factory(postgres)() as session:  # cutoff 2026-10-14 06:00 UTC
        summary = purge_history(session, NOW, settings)
        session.commit()
    assert "2 monthly partitions of events dropped" in summary
    assert partitions(postgres) == ["events_2026_10", "events_2026_11"]
    assert not relation_exists(postgres, "events_2026_08")
    assert not relation_exists(postgres, "events_2026_09")
    with postgres.connect() as connection:
        oldest = connection.execute(text("SELECT min(time) FROM events")).scalar_one()
        kept = connection.execute(text("SELECT count(*) FROM events")).scalar()
        left_in_october = connection.execute(text("SELECT count(*) FROM events_2026_10")).scalar()
    assert oldest >= NOW - timedelta(days=48)
    # The 1st of October went row by row; the 14th (all after 06:00) and the 28th stayed.
    assert kept == late_october
    assert left_in_october == october * 2 // 3


def test_the_purge_keeps_exactly_the_events_after_the_cutoff_on_either_database(
    engine: Engine, tmp_path: Path
) -> None:
    upgrade_database(engine)
    import_events(engine, write_events(tmp_path / "e.csv", [(2026, 9), (2026, 10), (2026, 11)]))
    settings = Settings()
    settings = replace(settings, schedule=replace(settings.schedule, event_history_days=48))
    with session_factory(engine)() as session:
        before = session.scalar(
            select(func.count()).select_from(Event).where(Event.day >= date(2026, 10, 14))
        )
        summary = purge_history(session, NOW, settings)
        session.commit()
        after = session.scalar(select(func.count()).select_from(Event))
        oldest = session.scalar(select(func.min(Event.day)))
    assert after == before and oldest == date(2026, 10, 14)
    assert "events older than 2026-10-14 deleted" in summary


def test_the_purge_keeps_every_event_unless_told_otherwise(engine: Engine, tmp_path: Path) -> None:
    upgrade_database(engine)
    inserted, _ = import_events(engine, write_events(tmp_path / "e.csv", [(2020, 1)]))
    with session_factory(engine)() as session:
        summary = purge_history(session, NOW, Settings())
        session.commit()
        assert session.scalar(select(func.count()).select_from(Event)) == inserted
    assert "events" not in summary


def test_a_complaint_report_read_twice_without_a_date_counts_once(engine: Engine) -> None:
    """Its time is then the time of reading, which the deduplicating key includes on PostgreSQL."""
    upgrade_database(engine)
    undated = b"".join(
        line
        for line in ARF.read_bytes().splitlines(keepends=True)
        if not line.lower().startswith((b"arrival-date:", b"received-date:", b"date:"))
    )
    with session_factory(engine)() as session:
        first = import_arf_message(session, undated, name="uid 1", now=NOW)
        second = import_arf_message(session, undated, name="uid 2", now=NOW + timedelta(days=40))
        session.commit()
        complaints = session.scalar(select(func.count()).select_from(Event))
    assert (first.inserted, second.inserted, second.duplicates, complaints) == (1, 0, 1, 1)


def test_postwardens_connections_to_postgresql_compile_no_queries(postgres: Engine) -> None:
    """JIT compilation cost the audit more CPU than the audit itself (bench/README.md)."""
    with postgres.connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar() == "off"
        connection.commit()
    with postgres.connect() as connection:  # the same pooled connection: it stays off
        assert connection.execute(text("SHOW jit")).scalar() == "off"


def test_the_downgrade_gives_back_a_plain_table_with_every_event(
    postgres: Engine, tmp_path: Path
) -> None:
    upgrade_database(postgres)
    events = write_events(tmp_path / "e.csv", [(2026, 10), (2026, 11)])
    inserted, _ = import_events(postgres, events)
    rows = stored(postgres)
    command.downgrade(alembic_config(postgres), "0018")
    with postgres.connect() as connection:
        assert not is_partitioned(connection)
    assert not relation_exists(postgres, "events_2026_10")
    assert stored(postgres) == rows
    assert import_events(postgres, events) == (0, inserted)
