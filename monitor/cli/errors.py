"""How a failed command is told: exit code 3 and one line on stderr, never a traceback.

Postwarden's own errors are told by their kind (the tree in :mod:`checks.errors`): every
:class:`~checks.errors.PostwardenError` as ``postwarden: <label>: <message>``. Besides
them only click's usage errors and a database failing under a command (SQLAlchemy's
``OperationalError``) are expected; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import click

from checks.errors import PostwardenError

EXIT_BAD_INPUT = 3


def describe_failure(error: Exception) -> str | None:
    """The one-line reason for ``error``, or None for a failure that is a bug (re-raised)."""
    if isinstance(error, click.ClickException):
        return f"error: {error.format_message()}"
    if isinstance(error, PostwardenError):
        return f"{error.label}: {error}"
    # Looked up only in a process that imported SQLAlchemy: no other can have raised it.
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import OperationalError

        if isinstance(error, OperationalError):
            # The database failed under the command (disk full, server gone): its
            # transaction is rolled back, so nothing of it was kept.
            reason = str(error.orig or error).strip().splitlines()[0]
            return f"database error: {reason}; its transaction was rolled back"
    return None
