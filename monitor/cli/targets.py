"""``postwarden domains|ips add|remove|list``: the targets the scheduler monitors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from monitor.cli.options import config_option, database, db_option, format_option, settings_from
from store.timestamps import as_utc

if TYPE_CHECKING:
    from monitor.targets import MonitoredTarget


def _show(targets: list[MonitoredTarget], output_format: str) -> None:
    if output_format == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "name": t.name,
                        "kind": t.kind,
                        "selectors": list(t.selectors),
                        "alert_on_warn": t.alert_on_warn,
                        "paused": t.paused,
                        "note": t.note,
                        "created_at": as_utc(t.created_at).isoformat(),
                    }
                    for t in targets
                ],
                indent=2,
            )
        )
        return
    if not targets:
        click.echo("Nothing is monitored yet.")
    for target in targets:
        extras = []
        if target.selectors:
            extras.append("selectors " + ",".join(target.selectors))
        if target.alert_on_warn is not None:
            extras.append("alerts on warn" if target.alert_on_warn else "no alerts on warn")
        if target.paused:
            extras.append("paused")
        if target.note:
            extras.append(target.note)
        click.echo(f"{target.name:<40} {'; '.join(extras)}")


def _alert_on_warn_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--alert-on-warn/--no-alert-on-warn",
        default=None,
        help="Open alerts when a check of this target warns (default: [alerts] alert_on_warn).",
    )(func)


@click.group()
def domains() -> None:
    """Monitored sending domains."""


@domains.command("add")
@click.argument("names", nargs=-1, required=True)
@click.option("--selector", "selectors", multiple=True, metavar="NAME", help="DKIM selector.")
@_alert_on_warn_option
@click.option("--note", help="Free text shown beside the domain.")
@db_option
@config_option
def add_domains(
    names: tuple[str, ...],
    selectors: tuple[str, ...],
    alert_on_warn: bool | None,
    note: str | None,
    db: str | None,
    config: str | None,
) -> int:
    """Monitor domains (again: update their selectors and options)."""
    from monitor.targets import TargetError, add_domain

    with database(settings_from(config, db)) as sessions, sessions.begin() as session:
        try:
            for name in names:
                added = add_domain(
                    session,
                    name,
                    datetime.now(UTC),
                    selectors=selectors,
                    alert_on_warn=alert_on_warn,
                    note=note,
                )
                click.echo(f"monitoring {added.name}")
        except TargetError as error:
            raise click.BadParameter(str(error), param_hint="NAME") from None
    return 0


@click.group()
def ips() -> None:
    """Monitored sending IP addresses."""


@ips.command("add")
@click.argument("addresses", nargs=-1, required=True)
@_alert_on_warn_option
@click.option("--note", help="Free text shown beside the address.")
@db_option
@config_option
def add_ips(
    addresses: tuple[str, ...],
    alert_on_warn: bool | None,
    note: str | None,
    db: str | None,
    config: str | None,
) -> int:
    """Monitor sending IPs (again: update their options)."""
    from monitor.targets import TargetError, add_ip

    with database(settings_from(config, db)) as sessions, sessions.begin() as session:
        try:
            for address in addresses:
                added = add_ip(
                    session, address, datetime.now(UTC), alert_on_warn=alert_on_warn, note=note
                )
                click.echo(f"monitoring {added.name}")
        except TargetError as error:
            raise click.BadParameter(str(error), param_hint="ADDRESS") from None
    return 0


def _remove(kind: str, names: tuple[str, ...], db: str | None, config: str | None) -> int:
    from monitor.targets import TargetError, remove_target

    with database(settings_from(config, db)) as sessions, sessions.begin() as session:
        try:
            for name in names:
                remove_target(session, kind, name)
                click.echo(f"no longer monitoring {name}")
        except TargetError as error:
            raise click.BadParameter(str(error), param_hint="NAME") from None
    return 0


def _list(kind: str, db: str | None, config: str | None, output_format: str) -> int:
    from monitor.targets import list_targets

    with database(settings_from(config, db)) as sessions, sessions() as session:
        _show(list_targets(session, kind), output_format)
    return 0


@domains.command("remove")
@click.argument("names", nargs=-1, required=True)
@db_option
@config_option
def remove_domains(names: tuple[str, ...], db: str | None, config: str | None) -> int:
    """Stop monitoring domains (their history stays)."""
    return _remove("domain", names, db, config)


@domains.command("list")
@db_option
@format_option
@config_option
def list_domains(db: str | None, output_format: str, config: str | None) -> int:
    """The monitored domains and their selectors."""
    return _list("domain", db, config, output_format)


@ips.command("remove")
@click.argument("addresses", nargs=-1, required=True)
@db_option
@config_option
def remove_ips(addresses: tuple[str, ...], db: str | None, config: str | None) -> int:
    """Stop monitoring IPs (their history stays)."""
    return _remove("ip", addresses, db, config)


@ips.command("list")
@db_option
@format_option
@config_option
def list_ips(db: str | None, output_format: str, config: str | None) -> int:
    """The monitored sending IPs."""
    return _list("ip", db, config, output_format)
