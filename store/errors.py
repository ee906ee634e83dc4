"""Errors of the storage layer (kept free of heavy imports so the CLI can catch them cheaply)."""


class DatabaseError(Exception):
    """The database URL is unusable or the database cannot be reached."""
