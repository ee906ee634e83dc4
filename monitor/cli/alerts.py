"""``postwarden alerts list|ack|test-channel``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from checks.findings import EXIT_CODES, worst
from monitor.cli.options import config_option, database, db_option, format_option, settings_from


@click.group()
def alerts() -> None:
    """Alerts: what is wrong now and what was."""


@alerts.command("list")
@click.option("--all", "show_all", is_flag=True, help="Resolved alerts too (default: open only).")
@click.option("--target", help="Only this target's alerts.")
@db_option
@format_option
@config_option
def list_command(
    show_all: bool, target: str | None, db: str | None, output_format: str, config: str | None
) -> int:
    """Open alerts, newest first; exits like a check (2 if any is fail, 1 if warn)."""
    from monitor.alerting import alert_json, list_alerts

    with database(settings_from(config, db)) as sessions, sessions() as session:
        found = [
            alert_json(a)
            for a in list_alerts(session, state=None if show_all else "open", target=target)
        ]
    if output_format == "json":
        click.echo(json.dumps(found, indent=2))
    elif not found:
        click.echo("No open alerts." if not show_all else "No alerts.")
    for item in found if output_format == "table" else ():
        ack = f" (ack by {item['acknowledged_by']})" if item["acknowledged_by"] else ""
        click.echo(
            f"#{item['id']:<5} {item['state']:<8} {item['severity'].upper():<5} "
            f"{item['check']:<10} {item['target']:<30} {item['opened_at']}{ack}\n"
            f"       {item['summary']}"
        )
    return EXIT_CODES[worst(a["severity"] for a in found if a["state"] == "open")]


@alerts.command("ack")
@click.argument("alert_ids", nargs=-1, type=int, required=True)
@click.option("--by", "who", default="cli", show_default=True, help="Who acknowledges.")
@db_option
@config_option
def ack_command(alert_ids: tuple[int, ...], who: str, db: str | None, config: str | None) -> int:
    """Acknowledge alerts (they stay open until the check recovers)."""
    from monitor.alerting import acknowledge

    with database(settings_from(config, db)) as sessions, sessions.begin() as session:
        for alert_id in alert_ids:
            try:
                acknowledge(session, alert_id, who, datetime.now(UTC))
            except LookupError as error:
                raise click.BadParameter(str(error), param_hint="ALERT_ID") from None
            click.echo(f"alert {alert_id} acknowledged by {who}")
    return 0


@alerts.command("test-channel")
@click.argument("channels", nargs=-1)
@config_option
def test_channel(channels: tuple[str, ...], config: str | None) -> int:
    """Send a test notification now to each channel (default: all configured)."""
    from monitor.channels import build_transports
    from monitor.outbox import Message, TransportError

    transports = build_transports(settings_from(config))
    if not transports:
        raise click.ClickException(
            "no channel is configured: set [smtp] host and recipients, "
            "[alerts] webhook_urls or [alerts] apprise_urls"
        )
    unknown = [name for name in channels if name not in transports]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} not configured (configured: {', '.join(transports)})",
            param_hint="CHANNEL",
        )
    now = datetime.now(UTC).isoformat()
    failed = 0
    for name in channels or tuple(transports):
        payload = {"event": "test", "time": now, "alert_id": None, "link": None}
        try:
            transports[name].notify(Message(0, name, "test", payload))
        except TransportError as error:
            failed += 1
            click.echo(f"{name}: FAILED: {error}", err=True)
        else:
            click.echo(f"{name}: sent")
    return 3 if failed else 0
