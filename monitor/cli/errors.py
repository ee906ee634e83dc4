"""How a failed command is told: exit code 3 and one line on stderr, never a traceback."""

from __future__ import annotations

import sys

import click

EXIT_BAD_INPUT = 3


def describe_failure(error: Exception) -> str | None:
    """The one-line reason for ``error``, or None for a failure that is a bug (re-raised)."""
    if isinstance(error, click.ClickException):
        return f"error: {error.format_message()}"
    # The classes are looked up only after a failure, and only in modules already
    # imported: an error of a module that never ran cannot have been raised.
    from monitor.settings import SettingsError
    from store.errors import DatabaseError

    if isinstance(error, SettingsError):
        return f"config error: {error}"
    if isinstance(error, DatabaseError):
        return f"database error: {error}"
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import OperationalError

        if isinstance(error, OperationalError):
            # The database failed under the command (disk full, server gone): its
            # transaction is rolled back, so nothing of it was kept.
            reason = str(error.orig or error).strip().splitlines()[0]
            return f"database error: {reason}; its transaction was rolled back"
    if "checks.blocklist_catalogue" in sys.modules:
        from checks.blocklist_catalogue import CatalogueError

        if isinstance(error, CatalogueError):
            return f"blocklist error: {error}"
    return None
