"""Logging in and out, who the current user is, and which roles may do what."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from monitor.users import UserError, authenticate, change_password
from store.users import User
from web.database import db
from web.query_args import local_path

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


class SignedIn(UserMixin):  # type: ignore[misc]
    """The user of a request (a plain copy: no database object outlives its session)."""

    def __init__(self, user_id: int, username: str, role: str) -> None:
        self.id = user_id
        self.username = username
        self.role = role


@login_manager.user_loader  # type: ignore[misc]
def load_user(user_id: str) -> SignedIn | None:
    user = db().get(User, int(user_id))
    if user is None or not user.active:
        return None
    return SignedIn(user.id, user.username, user.role)


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
        user = authenticate(
            db(), request.form.get("username", ""), request.form.get("password", "")
        )
        if user is not None:
            login_user(SignedIn(user.id, user.username, user.role))
            # Only a path on this site: never an open redirect.
            return redirect(local_path(request.args.get("next")) or url_for("pages.overview"))
        flash("Wrong user name or password.")
    return render_template("login.html")


@blueprint.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))


@blueprint.route("/account", methods=["GET", "POST"])
@roles_required(*ANY_ROLE)
def account() -> Any:
    """Change one's own password."""
    if request.method == "POST":
        try:
            change_password(db(), current_user.id, request.form.get("current", ""),
                            request.form.get("new", ""))  # fmt: skip
        except UserError as error:
            flash(str(error))
        else:
            db().commit()
            flash("Password changed.")
        return redirect(url_for("auth.account"))
    return render_template("account.html")
