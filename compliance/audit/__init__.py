"""The list audit: its rules as SQL conditions over ``store``, their day thresholds (``[audit]``,
loadable without SQLAlchemy), list hygiene, and the audit that counts them all in one pass."""
