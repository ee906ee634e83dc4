"""Logging in and out, who the current user is, and which roles may do what."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from monitor.login_throttle import ThrottlePolicy, clear_failures, record_failure, seconds_locked
from monitor.users import UserError, authenticate, change_password, end_sessions
from store.users import User
from web.database import db
from web.query_args import local_path
from web.settings import settings

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


class SignedIn(UserMixin):  # type: ignore[misc]
    """The user of a request (a plain copy: no database object outlives its session)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.role = user.role
        self.generation = user.session_generation or 0

    def get_id(self) -> str:
        # The session names the user's generation too: bumping it ends the session.
        return f"{self.id}:{self.generation}"


def load_user(session_id: str) -> SignedIn | None:
    """The signed-in user, unless the session has ended (user changed, or too old)."""
    user_id, _, generation = session_id.partition(":")
    if not user_id.isdigit() or not generation.isdigit():
        return None  # a session from before generations: sign in again
    user = db().get(User, int(user_id))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    signed_in_at = session.get("signed_in_at")
    lifetime = settings().web.session_hours * 3600
    if not isinstance(signed_in_at, int | float) or time.time() - signed_in_at > lifetime:
        return None
    return SignedIn(user)


# Registered by a call, not as a decorator: flask_login is untyped, and a decorator
# from it would make load_user untyped too.
login_manager.user_loader(load_user)


def sign_in(user: User) -> None:
    """Start a session for ``user`` (its lifetime counts from now)."""
    login_user(SignedIn(user))
    session["signed_in_at"] = time.time()


def _throttle() -> ThrottlePolicy:
    web = settings().web
    return ThrottlePolicy(
        per_user=web.login_failures_per_user,
        per_address=web.login_failures_per_address,
        window_seconds=web.login_window_seconds,
    )


def _too_many(seconds: int) -> Any:
    response = make_response(render_template("login.html", locked_seconds=seconds), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only signed-in users of ``roles`` (admin always) may call the view; others get 403."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


ANY_ROLE = ("admin", "postmaster", "compliance")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        username = request.form.get("username", "")
        address = request.remote_addr or ""
        policy, now = _throttle(), datetime.now(UTC)
        # Refused before the password is checked: a guess while locked tells nothing.
        if locked := seconds_locked(db(), username, address, policy, now):
            return _too_many(locked)
        user = authenticate(db(), username, request.form.get("password", ""))
        if user is None:
            locked = record_failure(db(), username, address, policy, now)
            db().commit()
            if locked:
                return _too_many(locked)
        else:
            clear_failures(db(), user.username)
            db().commit()
            sign_in(user)
            # Only a path on this site: never an open redirect.
            return redirect(local_path(request.args.get("next")) or url_for("pages.overview"))
        flash("Wrong user name or password.")
    return render_template("login.html")


@blueprint.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        # Every session of this user ends, so a copy of the cookie is worthless.
        user = db().get(User, current_user.id)
        if user is not None:
            end_sessions(db(), user)
            db().commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.route("/account", methods=["GET", "POST"])
@roles_required(*ANY_ROLE)
def account() -> Any:
    """Change one's own password."""
    if request.method == "POST":
        try:
            change_password(
                db(), current_user.id, request.form.get("current", ""), request.form.get("new", "")
            )
        except UserError as error:
            flash(str(error))
        else:
            db().commit()
            # Every other session ended with the change; this one goes on, renewed.
            user = db().get(User, current_user.id)
            if user is not None:
                sign_in(user)
            flash("Password changed.")
        return redirect(url_for("auth.account"))
    return render_template("account.html")
