"""A throwaway PostgreSQL server for the tests: initdb, start, drop.

The cluster lives in a temporary directory and listens only on a Unix
socket there, so it never collides with a system server. PostgreSQL refuses
to run as root; as root the cluster is made and run as the ``postgres``
user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse


def postgres_bindir() -> Path | None:
    """The directory of initdb/pg_ctl, or None when PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.insert(0, str(Path(initdb).resolve().parent))
    for candidate in candidates:
        if (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


@contextmanager
def running_postgres(bindir: Path) -> Iterator[str]:
    """Start a server; yield a SQLAlchemy URL to its ``postgres`` database."""
    user: str | None = None
    if os.geteuid() == 0:
        user = "postgres"
        pwd.getpwnam(user)  # KeyError here means the package did not create it
    base = Path(tempfile.mkdtemp(prefix="pw-pg-"))
    data = base / "data"
    if user:
        shutil.chown(base, user)

    def run(*args: object) -> None:
        subprocess.run([str(a) for a in args], check=True, capture_output=True, user=user)

    run(bindir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
    options = f"-k {base} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", base / "log", "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={base}"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def pg_ctl(url: str, *args: str) -> None:
    """Run pg_ctl on the test server behind ``url`` (its socket directory holds its data)."""
    base = Path(parse_qs(urlparse(url).query)["host"][0])
    bindir = postgres_bindir()
    assert bindir is not None, "PostgreSQL is not installed"
    user = "postgres" if os.geteuid() == 0 else None
    subprocess.run([str(bindir / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "log"),
                    "-w", *args], check=True, capture_output=True, user=user)  # fmt: skip
