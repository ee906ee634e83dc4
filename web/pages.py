"""The dashboard's pages: overview, targets, alerts, rates, messages, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from checks.findings import CATALOGUE, name_the_record, worst
from compliance.rates.limit_profiles import load_profiles
from compliance.rates.provider_evidence import receiver_evidence
from compliance.rates.receivers import SOURCE_NAMES
from compliance.rates.report import campaign_rates, rates_report
from compliance.rates.requirements import ProviderCard, provider_card
from compliance.rates.results import RatesResult
from compliance.rates.window import DEFAULT_DAYS
from compliance.rates.wording import TEMPLATE_GLOBALS
from monitor.alerting import acknowledge, list_alerts
from monitor.dashboard_data import (
    blocklist_lines,
    failing_first,
    last_checked,
    latest_audit,
    latest_details,
    listings,
    next_sweep,
    open_alerts,
    requirement_evidence,
    target_page,
    timeline,
)
from monitor.receivers_view import receivers_overview
from monitor.targets import (
    TargetError,
    add_domain,
    add_ip,
    list_targets,
    list_targets_named,
    remove_target,
)
from reports.charts import profile_rate_charts
from store.messages import MessageAudit
from web.auth import ANY_ROLE, roles_required
from web.cache import cached, clear
from web.compliance_pages import latest_purge_sentence
from web.database import db
from web.dmarc_pages import dmarc_overview, dmarc_window, verdict_status
from web.query_args import int_arg, local_path
from web.settings import settings

blueprint = Blueprint("pages", __name__)
# Globals, not a context processor: imported macros (macros.html `percent`) see them too.
blueprint.record_once(lambda state: state.app.jinja_env.globals.update(TEMPLATE_GLOBALS))
blueprint.add_app_template_filter(name_the_record, "name_the_record")

PAGE_SIZE = 50
ALERTS_PAGE = 100
# Far past any real page count, and far inside what an OFFSET can take.
MAX_PAGE = 1_000_000


def _profiles(directory: Path | None, esps: tuple[str, ...] | None) -> dict[str, Any]:
    """The limit profiles (TOML files), read again every few minutes, not every request."""
    return cached(
        ("profiles", directory, esps), lambda: load_profiles(directory, esps), seconds=300
    )


def _rates(days: int = DEFAULT_DAYS) -> RatesResult:
    config = settings()

    def compute() -> RatesResult:
        return rates_report(
            db(),
            _profiles(config.rates.profiles_dir, config.rates.esps),
            as_of=datetime.now(UTC).date(),
            days=days,
            min_delivered=config.rates.min_delivered,
        )

    return cached(("rates", days, datetime.now(UTC).date()), compute)


def _requirements(rates: RatesResult) -> list[ProviderCard]:
    """A card per mailbox provider, from its own profile's requirements: judged on the
    checks, messages audited in the rates' window, the latest list audit and the rates of
    mail to that provider's recipients."""
    config = settings()
    since = datetime.now(UTC) - timedelta(days=rates.days)
    evidence = requirement_evidence(db(), since, config.audit.unsubscribe_grace_days)
    receivers = receiver_evidence(db())
    return [
        provider_card(profile, evidence, rates.profiles.get(name), receivers.get(name))
        for name, profile in _profiles(config.rates.profiles_dir, config.rates.esps).items()
        if profile.kind == "mailbox-provider" and profile.requirements
    ]


def _overview_live(page: int) -> dict[str, Any]:
    """What changes on the overview: the cached figures and the (always live) open alerts."""

    def figures() -> Markup:
        # The same for every user: rendered once per page and cache period.
        targets = target_page(db(), (page - 1) * PAGE_SIZE, PAGE_SIZE)
        rates = _rates()
        return Markup(
            render_template(
                "overview_figures.html",
                targets=targets,
                next_sweep=next_sweep(db()),
                page=page,
                pages=max(1, -(-targets.total // PAGE_SIZE)),
                rates=rates,
                audit=latest_audit(db()),
                purge=latest_purge_sentence(),
                requirements=_requirements(rates),
                receivers=receivers_overview(db(), settings().gmail, datetime.now(UTC).date()),
                dmarc=dmarc_overview(*dmarc_window()),
                blocklisted=blocklist_lines(db()),
                dmarc_status=verdict_status,
            )
        )

    return {"figures": cached(("overview", page), figures), "alerts": open_alerts(db())}


def _page() -> int:
    """The ``?page=`` asked for (1 when absent)."""
    return int_arg("page", 1, minimum=1, maximum=MAX_PAGE)


def _fragment(template: str, **context: Any) -> Response:
    """A part of a page for live refresh (the header tells live.js it is not a login page)."""
    response = make_response(render_template(template, **context))
    response.headers["X-Postwarden-Fragment"] = template
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/")
@roles_required(*ANY_ROLE)
def overview() -> Any:
    page = _page()
    return render_template("overview.html", page=page, **_overview_live(page))


@blueprint.get("/fragments/overview")
@roles_required(*ANY_ROLE)
def overview_fragment() -> Any:
    """The overview's changing parts alone, fetched by live.js every half minute."""
    page = _page()
    return _fragment("overview_live.html", **_overview_live(page))


def _target_page(kind: str, name: str) -> Any:
    known = {t.name: t for t in list_targets_named(db(), [name]) if t.kind == kind}
    if name not in known:
        abort(404)
    states, episodes = listings(db(), name)
    details = latest_details(db(), name)
    return render_template(
        "target.html",
        target=known[name],
        status=worst(d["status"] for d in details.values()) if details else None,
        last_checked=last_checked(db(), name),
        next_sweep=next_sweep(db()),
        checks=failing_first(details),
        history=timeline(db(), name),
        states=states,
        episodes=episodes,
        alerts=list_alerts(db(), target=name)[:20],
    )


@blueprint.get("/domains/<name>")
@roles_required(*ANY_ROLE)
def domain(name: str) -> Any:
    return _target_page("domain", name)


@blueprint.get("/ips/<name>")
@roles_required(*ANY_ROLE)
def ip(name: str) -> Any:
    return _target_page("ip", name)


@blueprint.post("/targets/<kind>/<name>/check")
@roles_required("postmaster")
def check_now(kind: str, name: str) -> Any:
    """Run the checks of one target now and record them like a sweep."""
    from monitor.jobs import check_now as run_check

    if kind not in ("domain", "ip"):
        abort(404)
    run_check(db(), name, kind, datetime.now(UTC), settings())
    db().commit()
    clear()
    flash(f"Checked {name}.")
    return redirect(url_for(f"pages.{kind}", name=name))


def _alerts_context() -> dict[str, Any]:
    """The alerts page's filters, page and its alerts, from the query string."""
    state = request.args.get("state") or None
    if state not in (None, "open", "resolved"):
        abort(400)
    target = request.args.get("target") or None
    page = _page()
    found = list_alerts(db(), state=state, target=target)
    shown = found[(page - 1) * ALERTS_PAGE : page * ALERTS_PAGE]
    return {"alerts": shown, "state": state, "target": target, "page": page,
            "pages": max(1, -(-len(found) // ALERTS_PAGE))}  # fmt: skip


@blueprint.get("/alerts")
@roles_required(*ANY_ROLE)
def alerts() -> Any:
    return render_template("alerts.html", **_alerts_context())


@blueprint.get("/fragments/alerts")
@roles_required(*ANY_ROLE)
def alerts_fragment() -> Any:
    """The alerts table alone (same filters), fetched by live.js."""
    return _fragment("alerts_live.html", **_alerts_context())


@blueprint.post("/alerts/<int:alert_id>/acknowledge")
@roles_required("postmaster")
def acknowledge_alert(alert_id: int) -> Any:
    try:
        alert = acknowledge(db(), alert_id, current_user.username, datetime.now(UTC))
    except LookupError:
        abort(404)
    db().commit()
    flash(f"Acknowledged the {alert.check} alert on {alert.target}.")
    # Back to the page the form was on, if it is one of ours: never off-site.
    return redirect(local_path(request.form.get("back")) or url_for("pages.alerts"))


@blueprint.get("/rates")
@roles_required(*ANY_ROLE)
def rates() -> Any:
    days = int_arg("days", DEFAULT_DAYS, minimum=1, maximum=366, clamp=True)
    report = _rates(days)
    charts = profile_rate_charts(report)
    campaigns = campaign_rates(db(), as_of=datetime.now(UTC).date(), days=report.days)
    return render_template(
        "rates.html", report=report, charts=charts, campaigns=campaigns, source_names=SOURCE_NAMES
    )


@blueprint.get("/messages")
@roles_required(*ANY_ROLE)
def messages() -> Any:
    rows = db().scalars(select(MessageAudit).order_by(MessageAudit.id.desc()).limit(200))
    return render_template("messages.html", rows=list(rows))


@blueprint.get("/messages/<int:audit_id>")
@roles_required(*ANY_ROLE)
def message(audit_id: int) -> Any:
    """One audited message: each check with what is missing and how to fix it."""
    row = db().get(MessageAudit, audit_id)
    if row is None:
        abort(404)
    return render_template("message.html", row=row, catalogue=CATALOGUE)


@blueprint.route("/settings/targets", methods=["GET", "POST"])
@roles_required("postmaster")
def targets() -> Any:
    if request.method == "POST":
        action = request.form.get("action")
        name = request.form.get("name", "").strip()
        kind = request.form.get("kind", "domain")
        now = datetime.now(UTC)
        try:
            if action == "add" and kind == "domain":
                selectors = request.form.get("selectors", "").replace(",", " ").split()
                add_domain(db(), name, now, selectors=selectors)
            elif action == "add":
                add_ip(db(), name, now)
            elif action == "remove":
                remove_target(db(), kind, name)
            else:
                abort(400)
        except TargetError as error:
            flash(str(error))
            return redirect(url_for("pages.targets"))
        db().commit()
        clear()
        flash(f"{'Added' if action == 'add' else 'Removed'} {name}.")
        return redirect(url_for("pages.targets"))
    return render_template("targets.html", targets=list_targets(db()))
