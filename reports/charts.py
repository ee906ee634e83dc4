"""SVG charts rendered on the server with pygal (the PDF reports reuse them)."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pygal
from pygal.style import Style

from compliance.rates.limit_profiles import METRICS
from compliance.rates.results import DayFigures, RatesResult
from compliance.rates.wording import format_rate, metric_name

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#222",
    foreground_subtle="#999",
    colors=("#1f5fa8", "#c0392b", "#e67e22", "#27ae60"),
    # The reports' one family first: a chart in the PDF reads like the text around it.
    font_family="DejaVu Sans, system-ui, sans-serif",
    guide_stroke_color="#e6e6e6",
    major_guide_stroke_color="#d6d6d6",
)


# Threshold lines are drawn heavier than the grid (which is a thin light dash).
_LINE_WIDTH = {"rate": 2.0, "fail": 3.0, "warn": 2.5}
_STEPS = (1.0, 2.0, 2.5, 5.0)


def rate_axis(
    values: Sequence[float | None], warn: float | None, fail: float | None
) -> list[float]:
    """Tick values from 0 to a round top that holds every value and both lines, with
    headroom, so the fail line never leaves the chart (pure)."""
    highest = max([v for v in (*values, warn, fail) if v is not None] or [0.0])
    if highest <= 0:
        highest = 0.001
    wanted = highest * 1.15
    magnitude = 10 ** math.floor(math.log10(wanted / 5))
    step = next(
        (m * magnitude for m in (*_STEPS, 10.0) if wanted / (m * magnitude) <= 5), 10 * magnitude
    )
    count = math.ceil(wanted / step - 1e-9)
    return [round(step * index, 10) for index in range(count + 1)]


def _with_lines(ticks: list[float], warn: float | None, fail: float | None) -> list[float]:
    """The ticks plus each threshold's value on the axis, where it does not crowd a tick
    (the legend names every line's value in any case)."""
    room = ticks[-1] * 0.1
    labels = list(ticks)
    for line in (fail, warn):
        if line and all(abs(line - other) > room for other in labels):
            labels.append(line)
    return sorted(labels)


def rate_chart(
    title: str,
    days: Sequence[str],
    values: Sequence[float | None],
    warn: float | None,
    fail: float | None,
) -> str:
    """A daily rate as a line (days without mail are gaps), with the profile's warn and
    fail lines labelled with their values; the y axis holds the data and both lines. SVG."""
    ticks = rate_axis(values, warn, fail)
    chart = pygal.Line(
        style=_STYLE, width=720, height=260, show_dots=True, dots_size=2, x_label_rotation=30,
        show_minor_x_labels=False, value_formatter=format_rate, title=title,
        disable_xml_declaration=True, js=(), allow_interruptions=True,
        range=(0, ticks[-1]), y_labels=_with_lines(ticks, warn, fail),
        legend_at_bottom=True, truncate_legend=-1,
    )  # fmt: skip
    chart.x_labels = list(days)
    chart.x_labels_major = list(days[:: max(1, len(days) // 6)])
    chart.add("daily rate", list(values), stroke_style={"width": _LINE_WIDTH["rate"]})
    if fail is not None:
        chart.add(
            f"fail line {format_rate(fail)}",
            [fail] * len(days),
            show_dots=False,
            stroke_style={"width": _LINE_WIDTH["fail"]},
        )
    if warn is not None:
        chart.add(
            f"warn line {format_rate(warn)}",
            [warn] * len(days),
            show_dots=False,
            stroke_style={"width": _LINE_WIDTH["warn"], "dasharray": "8, 4"},
        )
    return str(chart.render(is_unicode=True))


def count_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]]) -> str:
    """Counts over time (audit rules between audits); SVG text."""
    chart = pygal.Line(
        style=_STYLE, width=720, height=260, title=title, x_label_rotation=30,
        disable_xml_declaration=True, js=(),
    )  # fmt: skip
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return str(chart.render(is_unicode=True))


@dataclass(frozen=True)
class RatePanel:
    """One metric of one profile: a chart, or a one-line note when there is nothing to draw."""

    title: str
    svg: str | None = None
    note: str | None = None
    # The chart's text alternative: (day, rate, volume) for each day with mail, where the
    # volume is what the rate is a share of (delivered for complaints, sent for bounces).
    rows: tuple[tuple[str, float | None, int], ...] = ()
    volume: str = "sent"


def profile_rate_charts(report: RatesResult) -> list[RatePanel]:
    """One panel per daily metric of each profile in a ``rates_report``, drawn on the
    traffic that profile judges (a mailbox provider's own recipients). A metric that is
    zero on every day with mail, or has no such day, is a one-line note instead."""
    labels = [row.day.isoformat() for row in report.daily]
    by_provider = report.daily_by_provider or {}
    panels = []
    for profile in report.profiles.values():
        series = by_provider.get(profile.scope, report.daily)
        for metric, judged in profile.metrics.items():
            if metric not in METRICS:
                continue  # receivers' own figures (Gmail, SNDS) have no daily series here
            title = f"{profile.title}: {metric_name(metric)}"
            values = [row.figures.rate(metric) for row in series]
            volume = "delivered" if metric == "complaint_rate" else "sent"
            rows = tuple((row.day.isoformat(), row.figures.rate(metric), _volume(row, volume))
                         for row in series if _volume(row, volume))  # fmt: skip
            seen = [v for v in values if v is not None]
            if not seen:
                panels.append(RatePanel(title, note=f"{title}: no mail in the window."))
            elif not any(seen):
                days = f"{len(seen)} day{'s' if len(seen) > 1 else ''} with mail"
                panels.append(RatePanel(title, note=f"{title}: 0.00% on every day ({days})."))
            else:
                svg = rate_chart(title, labels, values, judged.warn, judged.fail)
                panels.append(RatePanel(title, svg=svg, rows=rows, volume=volume))
    return panels


def _volume(row: DayFigures, volume: str) -> int:
    """The day's count a rate is a share of ("delivered" or "sent")."""
    return row.figures.delivered if volume == "delivered" else row.figures.sent


def as_image(svg: str) -> str:
    """The SVG as a ``data:`` URI for an <img> (what WeasyPrint draws most faithfully)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
