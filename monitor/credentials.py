"""Secrets Postwarden keeps for receivers' APIs: encrypted with Fernet, never stored in clear.

The key comes from the config (``[gmail] token_key``) or a key file that must
be readable by its owner only (0600); ``ensure_key_file`` creates one so.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from store.receivers import ReceiverCredential


class CredentialError(ValueError):
    """A key or stored secret that cannot be used; one line saying which and why."""


def ensure_key_file(path: Path) -> None:
    """Create a new 0600 key file at ``path`` unless one exists."""
    if path.exists():
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(Fernet.generate_key())


def read_secret_file(path: Path) -> str:
    """The text of a secret file, refused unless only its owner may read it (0600)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise CredentialError(
                f"{path}: secret file is readable by others (mode {mode:o}); chmod 600 it"
            )
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise CredentialError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CredentialError(f"{path}: not UTF-8 text") from None


def load_key(token_key: str | None, key_file: Path) -> Fernet:
    """The Fernet of the configured key, else of the key file (refused unless 0600)."""
    text: str | bytes
    if token_key:
        text = token_key
    else:
        try:
            mode = stat.S_IMODE(key_file.stat().st_mode)
            if mode & 0o077:
                raise CredentialError(
                    f"{key_file}: key file is readable by others (mode {mode:o}); chmod 600 it"
                )
            text = key_file.read_bytes().strip()
        except OSError as error:
            raise CredentialError(f"{key_file}: cannot read key file: {error.strerror}") from None
    try:
        return Fernet(text)
    except ValueError:
        raise CredentialError(
            "the token key is not a Fernet key (32 url-safe base64 bytes)"
        ) from None


def store_secret(
    session: Session, name: str, secret: str, key: Fernet, now: datetime, details: dict[str, Any]
) -> None:
    """Encrypt and keep ``secret`` under ``name``, replacing what was there."""
    row = session.get(ReceiverCredential, name)
    ciphertext = key.encrypt(secret.encode()).decode()
    if row is None:
        session.add(
            ReceiverCredential(name=name, ciphertext=ciphertext, connected_at=now, details=details)
        )
    else:
        row.ciphertext, row.connected_at, row.details = ciphertext, now, details


def load_secret(session: Session, name: str, key: Fernet) -> str | None:
    """The secret kept under ``name``, or None when there is none."""
    row = session.get(ReceiverCredential, name)
    if row is None:
        return None
    try:
        return key.decrypt(row.ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialError(
            f"the stored {name} credential does not decrypt with this key; connect again"
        ) from None
