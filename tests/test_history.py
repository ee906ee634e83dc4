"""History: runs, per-check results and the latest status with its `since` time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from checks.findings import finding
from checks.results import SpfResult, TargetResult
from monitor.history import record_run
from store.engine import session_factory, upgrade_database
from store.models import CheckRecord, TargetStatus
from store.schema import metadata

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def spf_target(status: str) -> TargetResult:
    findings = () if status == "pass" else (finding("SPF_PASS_ALL", "ends in +all"),)
    return TargetResult(
        "example.com", "domain", {"spf": SpfResult(findings=findings, record="v=spf1")}
    )


def test_the_migration_builds_the_schema(engine: Engine) -> None:
    upgrade_database(engine)
    upgrade_database(engine)  # idempotent
    tables = set(inspect(engine).get_table_names())
    assert {
        "domains",
        "dkim_selectors",
        "sending_ips",
        "check_runs",
        "check_results",
        "target_status",
    } <= tables


def test_since_marks_the_first_run_of_a_status(engine: Engine) -> None:
    upgrade_database(engine)
    sessions = session_factory(engine)
    for hour, status in enumerate(["pass", "fail", "fail", "pass"]):
        at = T0 + timedelta(hours=hour)
        with sessions.begin() as session:
            record_run(session, [spf_target(status)], started_at=at, finished_at=at)
            if hour == 2:
                latest = session.scalars(select(TargetStatus)).one()
                assert (latest.status, latest.since.replace(tzinfo=UTC)) == (
                    "fail",
                    T0 + timedelta(hours=1),
                )
    with sessions() as session:
        history = session.scalars(select(CheckRecord.status).order_by(CheckRecord.run_id)).all()
        assert history == ["pass", "fail", "fail", "pass"]
        detail = session.scalars(select(CheckRecord.detail).where(CheckRecord.run_id == 2)).one()
        assert detail["findings"][0]["code"] == "SPF_PASS_ALL"
        latest = session.scalars(select(TargetStatus)).one()
        assert (latest.status, latest.since.replace(tzinfo=UTC)) == (
            "pass",
            T0 + timedelta(hours=3),
        )


def test_the_migrations_match_the_models(engine: Engine) -> None:
    upgrade_database(engine)
    with engine.connect() as connection:
        # The task engine's own tables (PostgreSQL) are procrastinate's, not our models.
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, _: not (name or "").startswith("procrastinate")
            },
        )
        differences = compare_metadata(context, metadata)
    if engine.dialect.name == "postgresql":
        # Partitioned by month, the events' deduplicating key must include the time and
        # the table has no foreign key to event_imports (store/partitions.py); the models
        # describe the keys every database has.
        def partitioning(difference: tuple[Any, ...]) -> bool:
            action, key = difference[:2]
            unique = key.name == "uq_events_source_event_id"
            return unique or (action == "add_fk" and key.table.name == "events")

        keys = [
            (action, [column.name for column in key.columns])
            for action, key in filter(partitioning, differences)
        ]
        assert keys == [
            ("remove_constraint", ["source", "event_id", "time"]),
            ("add_constraint", ["source", "event_id"]),
            ("add_fk", ["import_id"]),
        ]
        differences = [d for d in differences if not partitioning(d)]
    assert differences == []
