"""The ROI model comparison as server-side SVG (pygal), for the dashboard and the PDF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pygal
from pygal.style import Style

from monitor.roi_output import compare_rows

# The rate charts' look (reports/charts.py), with a colour for each of the five models.
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#222",
    foreground_subtle="#999",
    colors=("#1f5fa8", "#c0392b", "#e67e22", "#27ae60", "#8e44ad"),
    # The reports' one family first: a chart in the PDF reads like the text around it.
    font_family="DejaVu Sans, system-ui, sans-serif",
)

# More bars than this make the labels unreadable; the table below the chart has them all.
MOST_ROWS = 8


def model_comparison_charts(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Per currency, (currency, SVG): revenue per campaign row under each model, side by side."""
    lines = compare_rows(dict(report))
    charts = []
    for currency in sorted({line["currency"] for line in lines}):
        shown = [line for line in lines if line["currency"] == currency][:MOST_ROWS]
        chart = pygal.Bar(
            style=STYLE, width=720, height=300, x_label_rotation=20,
            title=f"Revenue attributed per model ({currency})",
            value_formatter=lambda v: f"{v:,.2f}", disable_xml_declaration=True, js=(),
        )  # fmt: skip
        chart.x_labels = [line["label"] for line in shown]
        for model in report["models"]:
            chart.add(model, [line["revenue"].get(model, 0.0) for line in shown])
        charts.append((currency, str(chart.render(is_unicode=True))))
    return charts
