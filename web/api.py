"""``/api/v1``: JSON for targets, results, history, alerts, rates and audits; token auth.

Every call needs ``Authorization: Bearer <token>`` (``postwarden users
token NAME``) and acts with the token's user's role. The OpenAPI document
at ``/api/v1/openapi.json`` is built from :data:`ROUTES`, the same table
the routes are registered from, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from sqlalchemy import select

from compliance.rates.limit_profiles import load_profiles
from compliance.rates.report import rates_report
from compliance.roi.attribution import MODELS
from monitor.alerting import alert_json, list_alerts
from monitor.dashboard_data import latest_details, target_page, timeline
from monitor.roi import DEFAULT_MODEL, configured_roi
from monitor.roi_output import compare_json, model_json
from monitor.users import user_for_token
from store.contacts import AuditRun
from store.timestamps import as_utc
from web.database import db
from web.query_args import int_arg
from web.roi_pages import roi_arguments
from web.settings import settings

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
READERS = ("admin", "postmaster", "compliance")
# The most status changes one history request returns.
MAX_HISTORY = 1000


def token_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only a valid bearer token of a user in ``roles`` (admin always) may call the view."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            user = None
            if scheme.lower() == "bearer" and token:
                user = user_for_token(db(), token.strip(), datetime.now(UTC))
            if user is None:
                response = jsonify(error="a valid API token is required")
                response.status_code = 401
                response.headers["WWW-Authenticate"] = 'Bearer realm="postwarden"'
                return response
            if user.role != "admin" and user.role not in roles:
                abort(403)
            db().commit()  # the token's last use
            g.api_user = user.username
            return view(*args, **kwargs)

        return guarded

    return decorate


def targets() -> Any:
    return jsonify([
        {"target": r.target.name, "kind": r.target.kind, "status": r.status, "checks": r.checks,
         "paused": r.target.paused}
        for r in target_page(db()).rows
    ])  # fmt: skip


def target(name: str) -> Any:
    details = latest_details(db(), name)
    if not details:
        abort(404)
    return jsonify({"target": name, "checks": details})


def history(name: str) -> Any:
    limit = int_arg("limit", 200, minimum=1, maximum=MAX_HISTORY, clamp=True)
    changes = timeline(db(), name, limit=limit)
    return jsonify([{**c, "at": c["at"].isoformat()} for c in changes])


def alerts() -> Any:
    state = request.args.get("state") or None
    if state not in (None, "open", "resolved"):
        abort(400)
    return jsonify([alert_json(a) for a in list_alerts(db(), state=state)])


def rates() -> Any:
    config = settings()
    days = int_arg("days", config.rates.days, minimum=1, maximum=366, clamp=True)
    report = rates_report(
        db(),
        load_profiles(config.rates.profiles_dir, config.rates.esps),
        as_of=datetime.now(UTC).date(),
        days=days,
        min_delivered=config.rates.min_delivered,
    )
    return jsonify(report.to_json())


def audits() -> Any:
    runs = db().scalars(select(AuditRun).order_by(AuditRun.as_of.desc(), AuditRun.id.desc()))
    return jsonify([
        {"as_of": run.as_of.isoformat(), "ran_at": as_utc(run.ran_at).isoformat(),
         "status": run.status, "contacts": run.contacts, "subscribed": run.subscribed,
         "rules": run.rules, "hygiene": run.hygiene}
        for run in runs
    ])  # fmt: skip


def roi() -> Any:
    first, last, campaign = roi_arguments()
    if request.args.get("compare") in ("1", "true", "yes"):
        report = configured_roi(db(), settings(), first, last, MODELS, campaign)
        return jsonify(compare_json(report))
    model = request.args.get("model", DEFAULT_MODEL)
    if model not in MODELS:
        abort(400)
    report = configured_roi(db(), settings(), first, last, (model,), campaign)
    return jsonify(model_json(report, model))


def receivers() -> Any:
    from monitor.receivers_view import receivers_overview

    return jsonify(receivers_overview(db(), settings().gmail, datetime.now(UTC).date()))


def _dmarc_window() -> tuple[date, date]:
    days = max(1, min(request.args.get("days", 30, type=int), 366))
    end = datetime.now(UTC).date()
    return end - timedelta(days=days - 1), end


def dmarc() -> Any:
    from compliance.dmarc_reports.summary import dmarc_summary

    start, end = _dmarc_window()
    # No PTR lookups from a web request: sources are named by ESP (DKIM d=, SPF) or IP.
    return jsonify(
        dmarc_summary(db(), start=start, end=end, domain=request.args.get("domain") or None)
    )


def dmarc_tls() -> Any:
    from compliance.dmarc_reports.summary import tls_summary

    start, end = _dmarc_window()
    document = tls_summary(db(), start=start, end=end, domain=request.args.get("domain") or None)
    return jsonify({"from": start.isoformat(), "to": end.isoformat(), "tls": document})


# path, view, roles, summary, path parameters
ROUTES: list[tuple[str, Callable[..., Any], tuple[str, ...], str, tuple[str, ...]]] = [
    ("/targets", targets, READERS, "Monitored targets and their latest status per check", ()),
    ("/targets/<name>", target, READERS, "The latest result of each check of a target",
     ("name",)),
    ("/targets/<name>/history", history, READERS, "Status changes of a target's checks",
     ("name",)),
    ("/alerts", alerts, READERS, "Alerts (?state=open|resolved)", ()),
    ("/rates", rates, READERS, "Bounce and complaint rates against limit profiles (?days=N)", ()),
    ("/audits", audits, READERS, "Stored list audits (counts per rule)", ()),
    ("/roi", roi, READERS, "Revenue attributed per campaign, cost and ROI "
     "(?from&to=YYYY-MM-DD, ?model=M or ?compare=1, ?campaign=C)", ()),
    ("/receivers", receivers, READERS, "Gmail Postmaster Tools, SNDS and ARF data as stored", ()),
    ("/dmarc", dmarc, READERS, "DMARC aggregate reports per domain: sources, pass rates, the "
     "enforcement verdict (?days=N&domain=D)", ()),
    ("/dmarc/tls", dmarc_tls, READERS, "SMTP TLS reports per policy domain (?days=N&domain=D)",
     ()),
]  # fmt: skip

for path, view, roles, _summary, _parameters in ROUTES:
    blueprint.add_url_rule(path, view.__name__, token_required(*roles)(view), methods=["GET"])


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of :data:`ROUTES`."""
    paths: dict[str, Any] = {}
    for path, view, _roles, summary, parameters in ROUTES:
        openapi_path = "/api/v1" + path.replace("<", "{").replace(">", "}")
        paths[openapi_path] = {
            "get": {
                "operationId": view.__name__,
                "summary": summary,
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in parameters
                ],
                "security": [{"bearer": []}],
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {}}},
                    "401": {"description": "No or invalid token"},
                    "403": {"description": "The token's user may not read this"},
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Postwarden API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


@blueprint.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())
