"""Files that hold secrets are the owner's alone: written 0600, and a warning when not.

The config file holds webhook and SMTP credentials; a SQLite database holds
the cookie-signing key (with it, an admin's cookie can be forged) and
personal data. Readable by other local users, they give those users the
dashboard.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.settings import Settings


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only (0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An existing file keeps its mode through O_CREAT: set it.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def secret_files(settings: Settings) -> list[Path]:
    """The files of these settings that hold secrets: the config file and a SQLite
    database with its WAL (those that exist)."""
    files = [Path(settings.config_file)] if settings.config_file else []
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        url = None
    name = url.database if url is not None and url.get_backend_name() == "sqlite" else None
    if name and name != ":memory:":
        database = Path(name)
        files += [database, database.with_name(database.name + "-wal")]
    return [path for path in files if path.exists()]


def exposed_files(settings: Settings) -> list[str]:
    """A warning for each secret-bearing file that others than its owner may read."""
    warnings = []
    for path in secret_files(settings):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            warnings.append(
                f"warning: {path} holds secrets but is readable by others (mode {mode:04o}): "
                f"chmod 600 {path}"
            )
    return warnings
