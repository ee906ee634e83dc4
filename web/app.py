"""The Flask application factory: dashboard pages, JSON API, metrics, health, and the hooks.

Extensions are created unbound in their modules and bound here; each
request gets its own database session (web/database.py). Every route needs
a signed-in user of the right role except ``/login``, ``/healthz``, the
token-authenticated API and metrics, and the ESP hooks (signed by the ESP),
which are a WSGI application of their own mounted at ``/hooks`` (web/hooks.py).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from checks.errors import BadInput, Unavailable
from monitor.inbox import InboxWriter
from monitor.settings import Settings
from store.contacts import InstallationSecret
from store.scheduling import JobRun
from store.timestamps import as_utc
from web import (
    api,
    auth,
    compliance_pages,
    dmarc_pages,
    metrics,
    pages,
    report_pages,
    roi_pages,
    settings_pages,
)
from web.database import close_db
from web.hooks import HookApp
from web.policy import MAX_BODY_BYTES, SECURITY_HEADERS

csrf = CSRFProtect()
logger = logging.getLogger(__name__)


def _secret_key(settings: Settings, sessions: sessionmaker[Session]) -> str:
    """The configured key, else one generated once and kept in the database (shared by workers)."""
    if settings.web.secret_key:
        return settings.web.secret_key
    with sessions() as session:
        stored = session.get(InstallationSecret, "web_secret_key")
        if stored is None:
            stored = InstallationSecret(name="web_secret_key", value=secrets.token_hex(32))
            session.add(stored)
            session.commit()
        return stored.value


def create_app(settings: Settings, sessions: sessionmaker[Session]) -> Flask:
    """A Flask app reading the database behind ``sessions``."""
    app = Flask(
        "postwarden",
        template_folder="templates",
        static_folder="static",
        root_path=__file__.rsplit("/", 1)[0],
    )
    app.config.update(
        POSTWARDEN_SETTINGS=settings,
        POSTWARDEN_SESSIONS=sessions,
        SECRET_KEY=_secret_key(settings, sessions),
        SESSION_COOKIE_SECURE=settings.web.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.web.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,
        # Also the age past which a session cookie's signature is refused.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.web.session_hours),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    csrf.init_app(app)
    auth.login_manager.init_app(app)
    app.teardown_appcontext(close_db)
    with sessions() as session:
        inbox = InboxWriter(session.get_bind().engine)
    app.extensions["postwarden_inbox"] = inbox  # closed by whoever serves the app
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/hooks": HookApp(settings.hooks, inbox)}
    )
    for blueprint in (
        auth.blueprint,
        pages.blueprint,
        compliance_pages.blueprint,
        report_pages.blueprint,
        settings_pages.blueprint,
        roi_pages.blueprint,
        dmarc_pages.blueprint,
    ):
        app.register_blueprint(blueprint)
    # The API and metrics authenticate by token, not by cookie: no CSRF to guard.
    csrf.exempt(api.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(metrics.blueprint)

    @app.after_request
    def secure(response: Any) -> Any:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError) -> Any:
        return _error(400, "The form expired or did not come from this site; try again.")

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> Any:
        # The database is down or restarting: 503 with Retry-After, for people
        # and for API clients, which retry (the hooks answer theirs themselves).
        logger.warning("database unavailable: %s", str(error.orig or error).splitlines()[0])
        response = make_response(_error(503, "The database is unavailable; try again shortly."))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Unavailable)
    def unavailable(error: Unavailable) -> Any:
        # Something needed is not there now (checks.errors): worth trying again.
        logger.warning("unavailable: %s", error)
        response = make_response(
            _error(503, "A service Postwarden needs is unavailable; try again shortly.")
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput) -> Any:
        return _error(400, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return _error(error.code or 500, error.description or error.name)

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


def _error(code: int, message: str) -> Any:
    """An error as JSON for API clients and as a page for browsers (by Accept)."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=message)
        response.status_code = code
        return response
    return render_template("error.html", code=code, message=message), code
