"""``postwarden init``: a config file, a database, the first targets and the first admin.

Asks for what the flags leave out (or, with ``--yes``, asks nothing and skips it), checks
every answer before anything is written, and refuses to overwrite a config file without
``--force``.
"""

from __future__ import annotations

import ipaddress
import secrets
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from checks.targets import parse_target, validate_selector
from monitor.settings import DEFAULT_CONFIG_FILE


@dataclass
class Answers:
    """What the new installation starts with."""

    domain: str | None = None
    selectors: tuple[str, ...] = ()
    ip: str | None = None
    alert_email: str | None = None
    esps: tuple[str, ...] | None = None  # None: every ESP profile applies
    admin: str = "admin"
    password: str | None = None  # None: generate one and print it once


def _domain(text: str) -> str:
    target = parse_target(text)
    if target.kind != "domain":
        raise ValueError(f"{text!r} is an IP address, not a domain")
    return target.name


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def _selectors(text: str) -> tuple[str, ...]:
    return tuple(validate_selector(s) for s in text.replace(",", " ").split())


def _esps(text: str) -> tuple[str, ...]:
    from compliance.rates.limit_profiles import ProfileError, load_profiles, only_these_esps

    names = tuple(name.lower() for name in text.replace(",", " ").split())
    try:
        only_these_esps(load_profiles(), names)
    except ProfileError as error:
        raise ValueError(str(error).removeprefix("[rates] esps: ")) from None
    return names


def _email(text: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(text.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise ValueError(f"{text!r} is not an e-mail address: {error}") from None


def _admin(text: str) -> str:
    name = text.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise ValueError(f"{text!r} is not a user name (1-64 characters, no spaces)")
    return name


def _password(text: str) -> str:
    from monitor.users import MIN_PASSWORD

    if len(text) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    return text


def _checked(convert: Callable[[str], Any], text: str, option: str) -> Any:
    try:
        return convert(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from None


def _ask(question: str, convert: Callable[[str], Any], *, hide: bool = False) -> Any:
    """Ask until the answer converts; an empty answer skips (None)."""

    def check(text: str) -> Any:
        if not text.strip():
            return None
        try:
            return convert(text)
        except ValueError as error:
            raise click.UsageError(str(error)) from None  # click asks again

    return click.prompt(question, default="", show_default=False, hide_input=hide, value_proc=check)


@click.command("init")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_FILE,
    show_default=True,
    help="The config file to write.",
)
@click.option(
    "--db",
    metavar="URL",
    help="Database URL (default: SQLite postwarden.db beside the config file).",
)
@click.option("--domain", help="First sending domain to monitor.")
@click.option(
    "--selector", "selectors", multiple=True, metavar="NAME", help="Its DKIM selector (repeatable)."
)
@click.option("--ip", help="First sending IP to monitor.")
@click.option("--alert-email", metavar="ADDRESS", help="Where alerts are e-mailed.")
@click.option(
    "--esp",
    "esps",
    multiple=True,
    metavar="NAME",
    help="An ESP you send through (repeatable; e.g. sendgrid, ses): only these ESPs' limit "
    "profiles are shown and judged ([rates] esps). Default: all.",
)
@click.option("--admin", metavar="NAME", help="First dashboard admin (default: admin).")
@click.option("--password-stdin", is_flag=True, help="Read the admin's password from stdin.")
@click.option(
    "-y",
    "--yes",
    "non_interactive",
    is_flag=True,
    help="Ask nothing: what the flags leave out is skipped, and the admin gets a "
    "random password, printed once (unless --password-stdin).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init_command(config_path: Path, db: str | None, domain: str | None,
                 selectors: tuple[str, ...], ip: str | None, alert_email: str | None,
                 esps: tuple[str, ...], admin: str | None, password_stdin: bool,
                 non_interactive: bool, force: bool) -> int:  # fmt: skip
    """Write a commented config file with every setting, create the database, the first
    domain and IP to monitor and the first admin, and say what to run next."""
    # Imported here: `postwarden --help` imports this module for its summary line.
    from monitor.config_file import render_config
    from monitor.file_permissions import write_private

    if config_path.exists() and not force:
        raise click.ClickException(f"{config_path} exists already (--force overwrites it)")
    answers = Answers(
        domain=_checked(_domain, domain, "--domain") if domain else None,
        selectors=tuple(_checked(validate_selector, s, "--selector") for s in selectors),
        ip=_checked(_ip, ip, "--ip") if ip else None,
        alert_email=_checked(_email, alert_email, "--alert-email") if alert_email else None,
        esps=_checked(_esps, " ".join(esps), "--esp") if esps else None,
        admin=_checked(_admin, admin, "--admin") if admin else "admin",
    )
    if password_stdin:
        answers.password = _checked(
            _password, sys.stdin.readline().rstrip("\r\n"), "--password-stdin"
        )
    if not non_interactive:
        _interview(answers, ask_admin=admin is None, ask_password=not password_stdin)
    url = db or f"sqlite:///{config_path.resolve().parent / 'postwarden.db'}"
    generated = answers.password is None
    password = answers.password or secrets.token_urlsafe(12)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    created = _create_database(url, answers, password)
    values: dict[tuple[str, str], Any] = {("database", "url"): url}
    if answers.alert_email:
        values[("smtp", "recipients")] = [answers.alert_email]
    if answers.esps:
        values[("rates", "esps")] = list(answers.esps)
    write_private(config_path, render_config(values))
    _report(config_path, url, answers, created, password if generated and created else None)
    return 0


def _interview(answers: Answers, *, ask_admin: bool, ask_password: bool) -> None:
    """Ask for what the flags did not give; an empty answer skips it."""
    click.echo("Press Enter to skip a question; everything can be added later.")
    if answers.domain is None:
        answers.domain = _ask("First sending domain to monitor", _domain)
    if answers.domain and not answers.selectors:
        found = _ask(f"DKIM selector(s) of {answers.domain} (empty: discover them)", _selectors)
        answers.selectors = found or ()
    if answers.ip is None:
        answers.ip = _ask("First sending IP address", _ip)
    if answers.alert_email is None:
        answers.alert_email = _ask("E-mail address for alerts", _email)
    if answers.esps is None:
        answers.esps = _ask(
            "ESPs you send through, e.g. sendgrid ses (empty: judge by every ESP's limits)", _esps
        )
    if ask_admin:
        answers.admin = _ask("Name of the dashboard admin [admin]", _admin) or "admin"
    if ask_password:
        first = _ask("Admin password (12+ characters; empty: generate one)", _password, hide=True)
        if first:
            click.prompt(
                "Repeat the password", hide_input=True, value_proc=lambda text: _same(first, text)
            )
            answers.password = first


def _same(first: str, text: str) -> str:
    if text != first:
        raise click.UsageError("the two passwords differ")
    return text


def _create_database(url: str, answers: Answers, password: str) -> bool:
    """Bring the schema up to date and add the targets and the admin in one transaction;
    whether the admin was created (an existing user of that name is kept)."""
    from sqlalchemy import select

    from monitor.targets import add_domain, add_ip
    from monitor.users import add_user
    from store.engine import open_database, session_factory
    from store.users import User

    now = datetime.now(UTC)
    engine = open_database(url)
    try:
        with session_factory(engine).begin() as session:
            if answers.domain:
                add_domain(session, answers.domain, now, selectors=answers.selectors)
            if answers.ip:
                add_ip(session, answers.ip, now)
            if session.scalar(select(User).where(User.username == answers.admin)) is not None:
                return False
            add_user(session, answers.admin, password, "admin", now)
    finally:
        engine.dispose()
    return True


def _report(
    config_path: Path, url: str, answers: Answers, created: bool, password: str | None
) -> None:
    from store.engine import display_url

    click.echo(f"wrote {config_path} (every setting, with its default)")
    click.echo(f"database {display_url(url)} is ready")
    watched = [answers.domain or "", answers.ip or ""]
    if any(watched):
        selectors = f" (DKIM selectors {', '.join(answers.selectors)})" if answers.selectors else ""
        click.echo(f"monitoring {' and '.join(w for w in watched if w)}{selectors}")
    if not created:
        click.echo(f"user {answers.admin} exists already: kept as it is")
    elif password:
        click.echo(f"admin {answers.admin} created, password {password} (shown once)")
    else:
        click.echo(f"admin {answers.admin} created")
    if answers.esps:
        click.echo(f"rates are judged by the limits of {', '.join(answers.esps)} and the providers")
    if answers.alert_email:
        click.echo(f"alerts go to {answers.alert_email} once [smtp] host is set in {config_path}")
    config = "" if config_path == Path(DEFAULT_CONFIG_FILE) else f" --config {config_path}"
    targets = [t for t in watched if t] or ["example.com"]
    check = " ".join(shlex.quote(t) for t in targets)
    check += "".join(f" --selector {s}" for s in answers.selectors)
    click.echo("\nNext:")
    click.echo(f"  postwarden check {check}{config}   # check now, in the terminal")
    click.echo(
        f"  postwarden serve{config}   # the dashboard on http://127.0.0.1:8025/ and the schedule"
    )
