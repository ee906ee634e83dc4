"""The dashboard's DMARC pages: each policy domain's pass rate, sources, verdict and TLS figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, render_template
from markupsafe import Markup

from web.auth import ANY_ROLE, roles_required
from web.cache import cached
from web.database import db
from web.query_args import int_arg
from web.settings import settings

blueprint = Blueprint("dmarc", __name__)


def dmarc_window() -> tuple[date, date]:
    """The days the page covers: ``?days=N`` (30 by default) up to today, UTC."""
    days = int_arg("days", 30, minimum=1, maximum=366)
    end = datetime.now(UTC).date()
    return end - timedelta(days=days - 1), end


def verdict_status(verdict: dict[str, Any]) -> str | None:
    """The verdict as a status for a badge: enforced or ready pass, not ready warns."""
    if verdict["policy"] is None:
        return None
    return "pass" if verdict["policy"] == "reject" or verdict["ready"] else "warn"


def dmarc_overview(start: date, end: date) -> dict[str, Any]:
    """Every policy domain's figures and verdict in the window (no PTR lookups from the web)."""
    from compliance.dmarc_reports.summary import dmarc_summary

    return dmarc_summary(db(), start=start, end=end)


@blueprint.get("/dmarc")
@roles_required(*ANY_ROLE)
def index() -> Any:
    start, end = dmarc_window()
    summary = cached(("dmarc", start, end), lambda: dmarc_overview(start, end))
    return render_template(
        "dmarc.html", summary=summary, status=verdict_status, days=(end - start).days + 1
    )


@blueprint.get("/dmarc/<domain>")
@roles_required(*ANY_ROLE)
def domain(domain: str) -> Any:
    from compliance.dmarc_reports.summary import daily_pass_rates, dmarc_summary, tls_summary
    from reports.charts import rate_chart

    start, end = dmarc_window()
    name = domain.lower().rstrip(".")
    summary = dmarc_summary(db(), start=start, end=end, domain=name)
    tls = tls_summary(db(), start=start, end=end, domain=name)
    if name not in summary["domains"] and name not in tls:
        abort(404)
    daily = daily_pass_rates(db(), start=start, end=end, domain=name)
    chart = None
    if daily:
        chart = Markup(
            rate_chart(
                f"{name}: DMARC pass rate per day",
                [day.isoformat() for day, _, _ in daily],
                [passing / messages if messages else None for _, messages, passing in daily],
                None,
                settings().dmarc.min_pass_rate,
            )
        )
    return render_template(
        "dmarc_domain.html", name=name, figures=summary["domains"].get(name), tls=tls.get(name),
        chart=chart, daily=daily, summary=summary, status=verdict_status,
        min_pass_rate=settings().dmarc.min_pass_rate,
    )  # fmt: skip
