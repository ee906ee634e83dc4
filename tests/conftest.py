"""Shared fixtures: a real DNS server on loopback, real databases, the real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy
from hypothesis.configuration import set_hypothesis_home_dir

from checks.dns import DnsSettings, parse_nameserver
from checks.results import CheckResult, TargetResult
from checks.sweep import check_targets
from checks.targets import parse_target
from checks.zoneserver import ZoneServer
from store.engine import make_engine
from tests.postgres import postgres_bindir, running_postgres

# Test modules that start real processes (serve, worker, demo), kill servers under load,
# render PDFs (WeasyPrint) or generate hundreds of examples (Hypothesis).
SLOW_MODULES = {"test_demo.py", "test_faults.py", "test_scheduler.py", "test_serve.py",
                "test_reports.py", "test_deliverability_report.py", "test_fuzz.py"}  # fmt: skip
BROWSER_MODULES = {"test_browser.py"}

# Hypothesis keeps its examples and caches in ./.hypothesis unless told otherwise: tests write
# only into their temporary directories, never into the working tree.
HYPOTHESIS_HOME = Path(tempfile.mkdtemp(prefix="postwarden-hypothesis-"))
set_hypothesis_home_dir(HYPOTHESIS_HOME)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove this process's Hypothesis directory."""
    shutil.rmtree(HYPOTHESIS_HOME)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it uses: ``postgres``, ``browser``, ``slow`` (see pyproject).

    A test elsewhere that runs the real console script (:func:`postwarden_process`)
    carries ``@pytest.mark.slow`` itself.
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres_server" in fixtures or params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        if item.path.name in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


SOA = "@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.53\n"


def zone(body: str, ttl: int = 300) -> str:
    """Zone text with an SOA, NS and default TTL in front of ``body``."""
    return f"$TTL {ttl}\n{SOA}{body}"


@pytest.fixture
def dns_server() -> Iterator[ZoneServer]:
    """A loopback DNS server with no zones yet; tests add theirs."""
    with ZoneServer() as server:
        yield server


def check(
    server: ZoneServer, *targets: str, selectors: tuple[str, ...] = (), timeout: float = 2.0
) -> list[TargetResult]:
    """Run the real probes against ``server``, the way the CLI does."""
    settings = DnsSettings((parse_nameserver(server.nameserver),), timeout=timeout)
    return check_targets([parse_target(t, selectors) for t in targets], settings)


R = TypeVar("R", bound=CheckResult)


def check_of(target: TargetResult, name: str, kind: type[R]) -> R:
    """The ``name`` check of ``target``, asserted to be a ``kind``."""
    result = target.checks[name]
    assert isinstance(result, kind), result
    return result


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def postwarden(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> CliResult:
    """Run the ``postwarden`` command line in this process (``input_text`` on its stdin).

    The same entry point as the console script (:func:`web.cli.run`: the command table,
    the exit codes, the one-line errors), with stdin, stdout, stderr and the environment
    swapped for the call by click's test runner, and ``cwd`` as the working directory.
    Tests of what only a real process shows (the installed script, signals, start-up)
    use :func:`postwarden_process`.
    """
    from click.testing import CliRunner

    from web.cli import run

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("POSTWARDEN_")}
    # Test zones point MX hosts at TEST-NET addresses: no test connects to them.
    # Tests of the transport checks turn them on with loopback ports.
    overrides["POSTWARDEN_TRANSPORT_ENABLED"] = "false"
    overrides.update(env or {})
    runner = CliRunner()
    previous = Path.cwd()
    with runner.isolation(input=input_text, env=overrides) as (stdout, stderr, _):
        try:
            if cwd is not None:
                os.chdir(cwd)
            try:
                code = run(list(args))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
        finally:
            os.chdir(previous)
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode("utf-8", "replace")
    return CliResult(code, out, err)


def postwarden_process(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> CliResult:
    """Run the installed ``postwarden`` console script as its own process."""
    script = Path(sys.executable).with_name("postwarden")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    # Test zones point MX hosts at TEST-NET addresses: no test connects to them.
    # Tests of the transport checks turn them on with loopback ports.
    full_env["POSTWARDEN_TRANSPORT_ENABLED"] = "false"
    full_env.update(env or {})
    completed = subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        input=input_text,
        timeout=120,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the whole run (skipped when none is installed).

    ``make test`` and CI set REQUIRE_POSTGRES=1, which turns the skip into a
    failure: there the PostgreSQL tests must run.
    """
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL is not installed")
    with running_postgres(bindir) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind Postwarden supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'postwarden.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"test_{uuid.uuid4().hex}"
    # Pre-ping: a test may restart the server, leaving the pooled connection dead.
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.replace("/postgres?", f"/{name}?")
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """An empty PostgreSQL database (for what only PostgreSQL does: shared workers)."""
    name = f"test_{uuid.uuid4().hex}"
    admin = sqlalchemy.create_engine(
        postgres_server, isolation_level="AUTOCOMMIT", pool_pre_ping=True
    )
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.replace("/postgres?", f"/{name}?")
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[sqlalchemy.Engine]:
    """An engine on an empty database of each kind; disposed after the test."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
