"""The dashboard's ROI page: the model comparison chart and the campaign table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from compliance.roi.attribution import MODELS
from monitor.roi import DEFAULT_MODEL, configured_roi, window
from monitor.roi_output import compare_rows, row_label
from reports.roi_charts import model_comparison_charts
from web.auth import ANY_ROLE, roles_required
from web.cache import cached
from web.database import db
from web.settings import settings

blueprint = Blueprint("roi", __name__)


def _day(name: str) -> date | None:
    """A ``YYYY-MM-DD`` query argument, or None; 400 for anything else."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400)


def roi_arguments() -> tuple[date, date, str | None]:
    """The window and campaign the page or API call asks for (?from, ?to, ?campaign)."""
    first, last = window(_day("to") or datetime.now(UTC).date(), _day("from"))
    if first > last or (last - first).days > 3660:
        abort(400)
    return first, last, request.args.get("campaign") or None


@blueprint.get("/roi")
@roles_required(*ANY_ROLE)
def roi() -> Any:
    first, last, campaign = roi_arguments()
    model = request.args.get("model", DEFAULT_MODEL)
    if model not in MODELS:
        abort(400)

    def compute() -> dict[str, Any]:
        return configured_roi(db(), settings(), first, last, MODELS, campaign)

    report = cached(("roi", first, last, campaign, datetime.now(UTC).date()), compute)
    charts = [(currency, Markup(svg)) for currency, svg in model_comparison_charts(report)]
    return render_template(
        "roi.html", report=report, model=model, models=MODELS, data=report["models"][model],
        charts=charts, comparison=compare_rows(report), label=row_label, campaign=campaign,
    )  # fmt: skip
