"""Errors of the storage layer (kept free of heavy imports so the CLI can catch them cheaply)."""

from __future__ import annotations

from checks.errors import Unavailable


class DatabaseError(Unavailable):
    """The database URL is unusable or the database cannot be reached.

    ``url`` is the database's URL with its password masked (None when not known).
    """

    label = "database error"

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url
