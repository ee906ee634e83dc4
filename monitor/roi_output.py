"""The ROI report for machines (the JSON contract of DESIGN.md) and for people (tables)."""

from __future__ import annotations

from typing import Any

_NONE = "—"


def model_json(report: dict[str, Any], model: str) -> dict[str, Any]:
    """``roi --format json``: one model's campaigns and totals."""
    return {
        "from": report["from"],
        "to": report["to"],
        "model": model,
        "lookback_days": report["lookback_days"],
        "half_life_days": report["half_life_days"],
        "conversions_counted": report["conversions_counted"],
        **report["models"][model],
    }


def compare_json(report: dict[str, Any]) -> dict[str, Any]:
    """``roi --compare --format json``: every model's campaigns and totals."""
    return {
        "from": report["from"],
        "to": report["to"],
        "lookback_days": report["lookback_days"],
        "half_life_days": report["half_life_days"],
        "conversions_counted": report["conversions_counted"],
        "models": report["models"],
    }


def row_label(row: dict[str, Any]) -> str:
    """How a row is named for people: its campaign, or what took the credit instead."""
    if row["channel"] is None:
        return "(no touch)"
    if row["channel"] == "email":
        return row["campaign"] or "(no campaign)"
    return f"[{row['channel']}] {row['campaign'] or ''}".rstrip()


def _number(value: float | None, digits: int = 2) -> str:
    return _NONE if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return _NONE if value is None else f"{value:.0%}"


def render_model(report: dict[str, Any], model: str) -> str:
    """One model's campaign table and totals."""
    data = report["models"][model]
    lines = [
        f"{report['from']} .. {report['to']}: {report['conversions_counted']} conversions, "
        f"model {model}, lookback {report['lookback_days']} days",
        f"{'campaign':<28} {'cur':<4} {'sends':>9} {'clicks':>7} {'conv.':>9} "
        f"{'revenue':>13} {'cost':>11} {'ROI':>7} {'per email':>9}",
    ]
    for row in data["campaigns"]:
        lines.append(
            f"{row_label(row)[:28]:<28} {row['currency'] or _NONE:<4} {row['sends']:>9} "
            f"{row['clicks']:>7} {row['conversions']:>9.2f} {_number(row['revenue']):>13} "
            f"{_number(row['cost']):>11} {_percent(row['roi']):>7} "
            f"{_number(row['revenue_per_email'], 3):>9}"
        )
    if not data["campaigns"]:
        lines.append("No conversions, sends or costs in the window.")
    for currency, total in sorted(data["totals"].items()):
        lines.append(
            f"Total {currency}: mail earned {_number(total['revenue'])}, cost "
            f"{_number(total['cost'])}, ROI {_percent(total['roi'])}; other channels "
            f"{_number(total['other_channels'])}, no touch {_number(total['unattributed'])}"
        )
    return "\n".join(lines)


def compare_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per campaign row (label, currency) with its revenue under each model."""
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    for model, data in report["models"].items():
        for row in data["campaigns"]:
            if row["currency"] is None:
                continue
            key = (row_label(row), row["currency"])
            line = lines.setdefault(key, {"label": key[0], "currency": key[1], "revenue": {}})
            line["revenue"][model] = row["revenue"]
    return sorted(
        lines.values(), key=lambda line: (line["currency"], -max(line["revenue"].values()))
    )


def render_compare(report: dict[str, Any]) -> str:
    """Revenue per campaign under each model: where the credit moves."""
    models = list(report["models"])
    lines = [
        f"{report['from']} .. {report['to']}: {report['conversions_counted']} conversions, "
        f"revenue attributed per model, lookback {report['lookback_days']} days",
        f"{'campaign':<28} {'cur':<4} " + " ".join(f"{m:>14}" for m in models),
    ]
    for line in compare_rows(report):
        lines.append(
            f"{line['label'][:28]:<28} {line['currency']:<4} "
            + " ".join(f"{_number(line['revenue'].get(m, 0.0)):>14}" for m in models)
        )
    return "\n".join(lines)
