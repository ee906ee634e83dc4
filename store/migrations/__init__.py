"""Alembic migrations of the Postwarden schema."""
