"""SVG charts rendered on the server with pygal (the PDF reports reuse them)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import pygal
from pygal.style import Style

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#222",
    foreground_subtle="#999",
    colors=("#1f5fa8", "#c0392b", "#e67e22", "#27ae60"),
    font_family="system-ui, sans-serif",
)


def rate_chart(
    title: str, days: Sequence[str], values: Sequence[float | None],
    warn: float | None, fail: float | None,
) -> str:  # fmt: skip
    """A daily rate as a line, with the profile's warn and fail lines; SVG text."""
    chart = pygal.Line(
        style=_STYLE, width=720, height=260, show_dots=False, x_label_rotation=30,
        show_minor_x_labels=False, value_formatter=lambda v: f"{v:.2%}", title=title,
        disable_xml_declaration=True, js=(),
    )  # fmt: skip
    chart.x_labels = list(days)
    chart.x_labels_major = list(days[:: max(1, len(days) // 6)])
    chart.add("rate", list(values))
    if fail is not None:
        chart.add("fail line", [fail] * len(days))
    if warn is not None:
        chart.add("warn line", [warn] * len(days))
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


def profile_rate_charts(report: Mapping[str, Any]) -> list[str]:
    """One chart per judged metric of each profile in a ``rates_report``, drawn on the
    traffic that profile judges (a mailbox provider's own recipients)."""
    labels = [row["day"] for row in report["daily"]]
    charts = []
    for profile in report["profiles"].values():
        series = report["daily_by_provider"].get(profile["scope"], report["daily"])
        for metric, judged in profile["metrics"].items():
            values = [row.get(metric) for row in series]
            title = f"{profile['title']}: {metric}"
            charts.append(rate_chart(title, labels, values, judged["warn"], judged["fail"]))
    return charts


def as_image(svg: str) -> str:
    """The SVG as a ``data:`` URI for an <img> (what WeasyPrint draws most faithfully)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
