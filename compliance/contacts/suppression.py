"""The suppression list: erased addresses kept only as salted hashes.

The salt is generated once per database, so a leaked table of hashes
cannot be checked against a list of addresses without the database too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.contacts import InstallationSecret, Suppression

_SALT = "suppression_salt"


def salt(session: Session) -> bytes:
    """This database's suppression salt, created on first use."""
    stored = session.get(InstallationSecret, _SALT)
    if stored is None:
        stored = InstallationSecret(name=_SALT, value=secrets.token_hex(32))
        session.add(stored)
        session.flush()
    return bytes.fromhex(stored.value)


def address_hash(key: bytes, address: str) -> str:
    """The hash an address is suppressed by (HMAC-SHA256 of the lower-cased address)."""
    return hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def suppressed_hashes(session: Session) -> set[str]:
    """Every suppressed hash (erasures are few next to a list; one set in memory)."""
    return set(session.scalars(select(Suppression.address_hash)))
