"""The roles a dashboard user can have.

Apart from :mod:`store.users` so that ``postwarden users add --help`` lists them without
importing SQLAlchemy.
"""

# admin: everything; postmaster: targets, checks, alerts, rates, messages;
# compliance: read everything, export offenders.
ROLES = ("admin", "postmaster", "compliance")
