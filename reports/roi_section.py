"""The deliverability report's ROI section: what the mail earned in the period, per model."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from monitor.roi import DEFAULT_MODEL, configured_roi
from monitor.roi_output import compare_rows, row_label
from monitor.settings import Settings
from reports.roi_charts import model_comparison_charts


def roi_section(session: Session, settings: Settings, start: date, end: date) -> dict[str, Any]:
    """Every model over the period: the comparison chart and rows, and last touch's table."""
    report = configured_roi(session, settings, start, end)
    rows = report["models"][DEFAULT_MODEL]["campaigns"]
    return {
        "report": report,
        "model": DEFAULT_MODEL,
        "campaigns": [{**row, "label": row_label(row)} for row in rows],
        "totals": report["models"][DEFAULT_MODEL]["totals"],
        "comparison": compare_rows(report),
        "charts": [svg for _currency, svg in model_comparison_charts(report)],
        "has_data": bool(report["conversions_counted"] or any(r["cost"] for r in rows)),
    }
