"""The Flask application factory (the dashboard, API and webhooks grow here)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import Settings
from store.scheduling import JobRun
from store.timestamps import as_utc


def create_app(settings: Settings, sessions: sessionmaker[Session]) -> Flask:
    """A Flask app reading the database behind ``sessions``."""
    app = Flask("postwarden")
    app.config["POSTWARDEN_SETTINGS"] = settings

    @app.get("/healthz")
    def health() -> Any:
        """Whether the database answers, and when each job last ran."""
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
                latest = session.execute(
                    select(JobRun.job, func.max(JobRun.started_at)).group_by(JobRun.job)
                ).all()
        except SQLAlchemyError as error:
            return jsonify(status="error", database=str(error).splitlines()[0]), 503
        return jsonify(
            status="ok",
            database="ok",
            jobs={job: as_utc(started).isoformat() for job, started in latest},
        )

    return app
