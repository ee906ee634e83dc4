"""The ROI report as configured: what the CLI, the dashboard, the API and the PDF all ask for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from compliance.roi.attribution import MODELS
from compliance.roi.report import RoiOptions, roi_report
from monitor.settings import Settings

DEFAULT_MODEL = "last_touch"
DEFAULT_DAYS = 30


def window(end: date, start: date | None = None) -> tuple[date, date]:
    """The report's first and last day: ``start`` or the 30 days ending with ``end``."""
    return (start or end - timedelta(days=DEFAULT_DAYS - 1), end)


def configured_roi(
    session: Session,
    settings: Settings,
    start: date,
    end: date,
    models: Sequence[str] = MODELS,
    campaign: str | None = None,
) -> dict[str, Any]:
    """:func:`compliance.roi.report.roi_report` with the ``[roi]`` settings."""
    options = RoiOptions(
        start=start,
        end=end,
        lookback_days=settings.roi.lookback_days,
        half_life_days=settings.roi.half_life_days,
        opens=settings.roi.opens,
        campaign=campaign,
        monthly_costs=settings.roi.monthly_costs,
    )
    return roi_report(session, options, models)
