"""``postwarden inbox list|show|retry``: the webhook requests waiting to be imported, and
those kept because they could not be."""

from __future__ import annotations

import json

import click

from monitor.cli.options import config_option, database, db_option, format_option, settings_from
from store.timestamps import as_utc


@click.group()
def inbox() -> None:
    """Webhook requests accepted and waiting to be imported by the ingest job."""


@inbox.command("list")
@db_option
@format_option
@config_option
def list_command(db: str | None, output_format: str, config: str | None) -> int:
    """What waits, and every request kept with an error; exits 1 if any is kept."""
    from monitor.inbox import kept_requests, waiting

    with database(settings_from(config, db)) as sessions, sessions() as session:
        requests, events = waiting(session)
        kept = [
            {
                "id": request.id,
                "source": request.source,
                "received_at": as_utc(request.received_at).isoformat(),
                "events": request.events,
                "error": request.error,
            }
            for request in kept_requests(session)
        ]
    if output_format == "json":
        click.echo(
            json.dumps(
                {"waiting": {"requests": requests, "events": events}, "kept": kept}, indent=2
            )
        )
    else:
        click.echo(f"{requests} requests ({events} events) waiting to be imported.")
        if kept:
            click.echo(
                f"{len(kept)} kept because they could not be imported "
                "(postwarden inbox show ID; retry ID… once fixed):"
            )
        for item in kept:
            click.echo(
                f"#{item['id']:<7} {item['source']:<9} {item['received_at']} "
                f"{item['events']} events\n         {item['error']}"
            )
    return 1 if kept else 0


@inbox.command("show")
@click.argument("request_id", type=int)
@db_option
@config_option
def show_command(request_id: int, db: str | None, config: str | None) -> int:
    """Print a waiting or kept request's records, as the ESP sent them (JSON)."""
    from store.events import InboxRequest

    with database(settings_from(config, db)) as sessions, sessions() as session:
        request = session.get(InboxRequest, request_id)
        if request is None:
            raise click.BadParameter(
                f"no request in the inbox has id {request_id}", param_hint="REQUEST_ID"
            )
        click.echo(json.dumps(json.loads(request.records), indent=2))
    return 0


@inbox.command("retry")
@click.argument("request_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every request kept with an error.")
@db_option
@config_option
def retry_command(
    request_ids: tuple[int, ...], every: bool, db: str | None, config: str | None
) -> int:
    """Import kept requests again at the next ingest run (after an upgrade that reads them)."""
    from monitor.inbox import retry_kept

    if bool(request_ids) == every:
        raise click.UsageError("name the requests to retry, or --all")
    with database(settings_from(config, db)) as sessions, sessions.begin() as session:
        try:
            count = retry_kept(session, None if every else request_ids)
        except LookupError as error:
            raise click.BadParameter(str(error), param_hint="REQUEST_ID") from None
    click.echo(f"{count} requests will be imported again by the next ingest run.")
    return 0
