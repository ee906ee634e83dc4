"""``postwarden demo``: every capability, offline, on bundled example data.

In ``web`` because the demo serves the dashboard, which only ``web`` may import.
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.options import format_option

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.settings import Settings
    from web.demo.run import DemoResults

DEMO_USER = "demo"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM while setting up: unwind like Ctrl-C, so the clean-up below runs.
    raise KeyboardInterrupt


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port of the dashboard on 127.0.0.1 (default: a free one).",
)
@click.option(
    "--no-serve",
    is_flag=True,
    help="Do everything but serve the dashboard: print the verdicts and exit by "
    "the worst (2: the examples are meant to fail).",
)
@format_option
def demo(port: int, no_serve: bool, output_format: str) -> int:
    """Everything, offline, on bundled example data; Ctrl-C stops it and removes it all.

    Serves example zones from a DNS server on loopback (a healthy domain, a weak DKIM
    key, DMARC p=none, SPF over the lookup limit, an IP on an example blocklist, one
    without reverse DNS); imports a Mailchimp-style list export and delivery events
    with a Gmail complaint spike into a temporary database; audits three sent messages
    (one non-compliant); runs the checks, the list audit and the rates; writes both
    reports; then serves the dashboard with a one-time login.
    """
    from checks.findings import EXIT_CODES
    from checks.zoneserver import ZoneServer
    from store.engine import open_database, session_factory
    from web.demo.run import demo_settings, example_zones, run_demo

    previous = signal.signal(signal.SIGTERM, _interrupt)
    directory = Path(tempfile.mkdtemp(prefix="postwarden-demo-"))
    try:
        with ZoneServer(example_zones()) as server:
            settings = demo_settings(directory, server.nameserver)
            engine = open_database(settings.database_url)
            try:
                with session_factory(engine)() as session:
                    results = run_demo(session, settings, directory, datetime.now(UTC))
                if output_format == "json":
                    click.echo(json.dumps(results.as_json(), indent=2, default=str))
                else:
                    click.echo(_verdicts(results, server.nameserver))
                if no_serve:
                    return EXIT_CODES[_worst(results)]
                _serve(settings, engine, port, directory)
            finally:
                engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    click.echo("Demo stopped; its DNS server, database and files are removed.")
    return 0


def _serve(settings: Settings, engine: Engine, port: int, directory: Path) -> None:
    """The dashboard and the schedule until SIGINT/SIGTERM, behind a one-time admin login."""
    from monitor.cli.service import configure_logging, stop_on_signals
    from monitor.users import add_user
    from store.engine import session_factory
    from web.serving import serve_until_stopped

    password = secrets.token_urlsafe(12)
    with session_factory(engine)() as session:
        add_user(session, DEMO_USER, password, "admin", datetime.now(UTC))
        session.commit()
    configure_logging()
    stop = threading.Event()
    stop_on_signals(stop)

    def announce(bound: int) -> None:
        click.echo(
            f"\nDashboard: http://127.0.0.1:{bound}/\n"
            f"Login:     {DEMO_USER} / {password}   (made for this run only)\n"
            f"Ctrl-C stops the demo and removes everything it created ({directory})."
        )

    try:
        serve_until_stopped(settings, engine, "127.0.0.1", port, stop, ready=announce)
    except OSError as error:
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {error.strerror}") from None


def _worst(results: DemoResults) -> str:
    from checks.findings import worst

    statuses = [target["status"] for target in results.targets]
    statuses += [message.status for message in results.messages]
    if results.audit is not None:
        statuses.append(results.audit.status)
    if results.rates is not None:
        statuses.append(results.rates.status)
    return worst(statuses)


def _verdicts(results: DemoResults, nameserver: str) -> str:
    """What the demo's first run found, part by part."""
    from monitor.output import (
        render_audit_table,
        render_messages_table,
        render_rates_table,
        status_label,
    )

    lines = [f"Example zones served on {nameserver} (loopback): real checks, no network.", ""]
    lines += [f"  {step}" for step in results.steps]
    lines += ["", "Checks (as the sweeps stored them):"]
    for target in sorted(results.targets, key=lambda t: (t["kind"], t["target"])):
        checks = ", ".join(f"{name} {check['status']}" for name, check in target["checks"].items())
        lines.append(f"  {status_label(target['status'])} {target['target']:<24} {checks}")
        for check in target["checks"].values():
            for item in _findings(check):
                if item["level"] in ("warn", "fail", "error"):
                    lines.append(f"        {item['code']}: {item['message']}")
    lines += ["", "Sent messages:", render_messages_table(results.messages)]
    if results.audit is not None:
        lines += ["", render_audit_table(results.audit)]
    if results.rates is not None:
        lines += ["", render_rates_table(results.rates)]
    lines += ["", "Reports (on the dashboard's Reports page):"]
    lines += [f"  {Path(path).name}" for path in results.reports]
    return "\n".join(lines)


def _findings(check: dict[str, Any]) -> list[dict[str, Any]]:
    """A check's findings, with those of its DKIM selectors."""
    found = list(check.get("findings", []))
    for selector in check.get("selectors", {}).values():
        found += [item for item in selector.get("findings", []) if item not in found]
    return found
