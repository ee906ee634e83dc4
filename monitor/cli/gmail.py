"""``postwarden gmail connect|status|fetch``: Gmail Postmaster Tools (API v2)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import click

from monitor.cli.options import config_option, database, db_option, format_option, settings_from


@click.group("gmail")
def gmail() -> None:
    """Gmail Postmaster Tools: Gmail's own spam rate and compliance status per domain."""


@gmail.command("connect")
@click.option("--no-browser", is_flag=True, help="Print the consent URL; read the code on stdin.")
@db_option
@config_option
def connect(no_browser: bool, db: str | None, config: str | None) -> int:
    """One-time consent (read-only Postmaster scope); the refresh token is kept encrypted.

    With --no-browser, open the printed URL anywhere, approve, and paste the
    code (or the whole address the browser was sent to) on standard input.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    from monitor.credentials import CredentialError, ensure_key_file, load_key, store_secret
    from monitor.gmail import CREDENTIAL, GmailSetupError, read_client_secrets
    from monitor.gmail_api import SCOPE

    settings = settings_from(config, db)
    try:
        client = read_client_secrets(settings.gmail)
        if not settings.gmail.token_key:
            ensure_key_file(settings.gmail.key_file)
        key = load_key(settings.gmail.token_key, settings.gmail.key_file)
    except (GmailSetupError, CredentialError) as error:
        raise click.ClickException(str(error)) from None
    flow = InstalledAppFlow.from_client_config(client.config, scopes=[SCOPE])
    try:
        if no_browser:
            flow.redirect_uri = "http://localhost"
            url, _state = flow.authorization_url(access_type="offline", prompt="consent")
            click.echo(f"Open this address, approve, then paste the code here:\n{url}", err=True)
            flow.fetch_token(code=_code_of(sys.stdin.readline()))
        else:
            flow.run_local_server(port=0, access_type="offline", prompt="consent")
    except Exception as error:  # oauthlib and requests raise many kinds; all end the same way
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise click.ClickException(f"Google did not grant access: {reason[:200]}") from None
    refresh_token = getattr(flow.credentials, "refresh_token", None)
    if not refresh_token:
        raise click.ClickException("Google sent no refresh token; revoke the app and connect again")
    with database(settings) as sessions, sessions() as session:
        store_secret(session, CREDENTIAL, refresh_token, key, datetime.now(UTC),
                     {"scopes": [SCOPE], "client_id": client.client_id})  # fmt: skip
        session.commit()
    click.echo("Gmail Postmaster Tools connected; the refresh token is stored encrypted.")
    return 0


def _code_of(line: str) -> str:
    """The code pasted, or the ``code`` parameter of a pasted redirect address."""
    text = line.strip()
    if text.startswith(("http://", "https://")):
        codes = parse_qs(urlparse(text).query).get("code")
        if codes:
            return codes[0]
    if not text:
        raise click.ClickException("no code given on standard input")
    return text


@gmail.command("status")
@db_option
@format_option
@config_option
def status(db: str | None, output_format: str, config: str | None) -> int:
    """What is connected and, per domain, Gmail's latest day, spam rate and compliance."""
    from compliance.rates.wording import format_rate
    from monitor.gmail import gmail_status

    settings = settings_from(config, db)
    with database(settings) as sessions, sessions() as session:
        report = gmail_status(session, settings.gmail)
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
        return 0 if report["connected"] else 3
    if not report["connected"]:
        click.echo("Gmail Postmaster Tools: not connected (postwarden gmail connect)")
        return 3
    click.echo(f"Gmail Postmaster Tools: connected since {report['connected_at']}")
    for domain, item in report["domains"].items():
        rate = format_rate(item["spam_rate"])
        state = "verified" if item["verified"] else "not verified"
        needs = [name for name, c in item["compliance"].items() if c["status"] == "needs_work"]
        line = f"  {domain}: {state}, last day {item['last_day'] or '—'}, spam rate {rate}"
        if needs:
            line += f", needs work: {', '.join(needs)}"
        if item["error"]:
            line += f" [error: {item['error']}]"
        click.echo(line)
    return 0


@gmail.command("fetch")
@db_option
@config_option
def fetch(db: str | None, config: str | None) -> int:
    """Fetch now what the schedule fetches daily; exits 3 when any domain could not be fetched."""
    from monitor.gmail import fetch_gmail

    settings = settings_from(config, db)
    with database(settings) as sessions, sessions() as session:
        outcome = fetch_gmail(session, datetime.now(UTC), settings)
        session.commit()
    click.echo(outcome)
    return 3 if ("error" in outcome or outcome.startswith("skipped")) else 0
