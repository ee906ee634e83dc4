"""One database session per request, closed (and rolled back on error) when it ends."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def db() -> Session:
    """This request's session."""
    if "db" not in g:
        g.db = current_app.config["POSTWARDEN_SESSIONS"]()
    session: Session = g.db
    return session


def close_db(error: BaseException | None = None) -> None:
    """Close the request's session; anything not committed is rolled back."""
    session = g.pop("db", None)
    if session is not None:
        if error is not None:
            session.rollback()
        session.close()
