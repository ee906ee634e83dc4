"""Storage: SQLAlchemy models by concern, the engine and sessions, Alembic migrations. Knows
tables and nothing else; its errors hang in the tree of :mod:`checks.errors`."""
