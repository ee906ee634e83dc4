"""The settings pages (admin): alert channels with "send test", users and API tokens,
the audit thresholds and the limit profiles in force."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from compliance.rates.limit_profiles import load_profiles
from monitor.channels import build_transports
from monitor.outbox import Message, TransportError
from monitor.users import UserError, add_token, add_user, set_active
from store.users import ROLES, ApiToken, User
from web.auth import roles_required
from web.database import db
from web.settings import settings

blueprint = Blueprint("settings", __name__, url_prefix="/settings")


@blueprint.get("/")
@roles_required()  # admin only
def overview() -> Any:
    return _overview_page()


def _overview_page(new_token: tuple[str, str] | None = None) -> str:
    """The settings page; ``new_token`` (user, token) is shown once, in this page only."""
    config = settings()
    users = list(db().scalars(select(User).order_by(User.username)))
    tokens = (
        db()
        .execute(select(ApiToken, User.username).join(User).order_by(User.username, ApiToken.name))
        .all()
    )
    return render_template(
        "settings.html",
        channels=list(build_transports(config)),
        users=users,
        tokens=tokens,
        roles=ROLES,
        thresholds=asdict(config.audit),
        rates=config.rates,
        profiles=load_profiles(config.rates.profiles_dir, config.rates.esps),
        new_token=new_token,
    )


@blueprint.post("/channels/<name>/test")
@roles_required()
def test_channel(name: str) -> Any:
    transports = build_transports(settings())
    if name not in transports:
        abort(404)
    payload = {
        "event": "test",
        "time": datetime.now(UTC).isoformat(),
        "alert_id": None,
        "link": None,
    }
    try:
        transports[name].notify(Message(0, name, "test", payload))
    except TransportError as error:
        flash(f"{name}: the test failed: {error}")
    else:
        flash(f"{name}: test sent.")
    return redirect(url_for("settings.overview"))


@blueprint.post("/users")
@roles_required()
def create_user() -> Any:
    try:
        add_user(db(), request.form.get("username", "").strip(), request.form.get("password", ""),
                 request.form.get("role", ""), datetime.now(UTC))  # fmt: skip
    except UserError as error:
        flash(str(error))
        return redirect(url_for("settings.overview"))
    db().commit()
    flash(f"User {request.form.get('username')} added.")
    return redirect(url_for("settings.overview"))


@blueprint.post("/users/<int:user_id>/active")
@roles_required()
def toggle_user(user_id: int) -> Any:
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    set_active(db(), user, not user.active)
    db().commit()
    flash(f"User {user.username} {'enabled' if user.active else 'disabled'}.")
    return redirect(url_for("settings.overview"))


@blueprint.post("/tokens")
@roles_required()
def create_token() -> Any:
    user = db().scalar(select(User).where(User.username == request.form.get("username", "")))
    if user is None:
        abort(404)
    token = add_token(
        db(), user, request.form.get("name", "").strip() or "dashboard", datetime.now(UTC)
    )
    db().commit()
    # In this response's body only: a flash message would carry it in the session
    # cookie, which is signed, not encrypted.
    response = make_response(_overview_page(new_token=(user.username, token)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/tokens/<int:token_id>/revoke")
@roles_required()
def revoke_token(token_id: int) -> Any:
    token = db().get(ApiToken, token_id)
    if token is None:
        abort(404)
    db().delete(token)
    db().commit()
    flash("Token revoked.")
    return redirect(url_for("settings.overview"))
