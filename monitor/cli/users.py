"""``postwarden users add|list|token``: the people who may use the dashboard and API."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from monitor.cli.options import config_option, database, db_option, settings_from
from store.roles import ROLES


@click.group()
def users() -> None:
    """Dashboard users and API tokens."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@db_option
@config_option
def add(username: str, role: str, password_stdin: bool, db: str | None, config: str | None) -> int:
    """Add a user (asks for the password, or reads it with --password-stdin)."""
    from monitor.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with database(settings_from(config, db)) as sessions, sessions() as session:
        add_user(session, username, password, role, datetime.now(UTC))
        session.commit()
    click.echo(f"user {username} added ({role})")
    return 0


@users.command("list")
@db_option
@config_option
def list_users(db: str | None, config: str | None) -> int:
    """The users, their roles and whether they are active."""
    from sqlalchemy import select

    from store.users import User

    with database(settings_from(config, db)) as sessions, sessions() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            state = "" if user.active else " (disabled)"
            click.echo(f"{user.username:<24} {user.role}{state}")
    return 0


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@db_option
@config_option
def token(username: str, name: str, db: str | None, config: str | None) -> int:
    """Create an API token for a user; it is printed once and not kept."""
    from sqlalchemy import select

    from monitor.users import add_token
    from store.users import User

    with database(settings_from(config, db)) as sessions, sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        value = add_token(session, user, name, datetime.now(UTC))
        session.commit()
    click.echo(value)
    return 0


@users.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@db_option
@config_option
def role(username: str, role: str, db: str | None, config: str | None) -> int:
    """Give a user another role; the user's sessions end (sign in again to use it)."""
    from monitor.users import UserError, set_role

    with database(settings_from(config, db)) as sessions, sessions() as session:
        try:
            set_role(session, username, role)
        except UserError as error:
            raise click.ClickException(str(error)) from None
        session.commit()
    click.echo(f"user {username} is now {role}; their sessions have ended")
    return 0
