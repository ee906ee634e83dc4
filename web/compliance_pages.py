"""The compliance pages: the latest audit, its trend, offenders as CSV, erasure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from compliance.audit import OFFENDER_COLUMNS, offenders, run_audit
from compliance.audit_rules import RULES
from compliance.erasure import erase
from monitor.dashboard_data import audit_trend
from reports.charts import count_chart
from web.auth import ANY_ROLE, roles_required
from web.database import db
from web.settings import settings

blueprint = Blueprint("compliance", __name__, url_prefix="/compliance")


@blueprint.get("/")
@roles_required(*ANY_ROLE)
def audit() -> Any:
    report = run_audit(db(), datetime.now(UTC).date(), settings().audit)
    trend = audit_trend(db())
    chart = None
    if len(trend) > 1:
        labels = [run.as_of.isoformat() for run in trend]
        series = {name: [run.rules.get(name, {}).get("count", 0) for run in trend]
                  for name in RULES if report["rules"][name]["count"]}  # fmt: skip
        chart = Markup(count_chart("Offenders per rule, audit by audit", labels, series))
    return render_template("compliance.html", report=report, chart=chart)


@blueprint.get("/offenders/<rule>.csv")
@roles_required("compliance")
def offenders_csv(rule: str) -> Any:
    """Every offender of a rule as CSV, streamed."""
    if rule not in RULES:
        abort(404)
    day = datetime.now(UTC).date()
    rows = list(offenders(db(), rule, day, settings().audit))

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(OFFENDER_COLUMNS)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    disposition = f'attachment; filename="{rule}-{day.isoformat()}.csv"'
    return Response(lines(), mimetype="text/csv",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@blueprint.post("/erase")
@roles_required()  # admin only
def erase_address() -> Any:
    """Right to erasure, confirmed by typing the address twice."""
    address = request.form.get("address", "").strip().lower()
    if not address or address != request.form.get("confirm", "").strip().lower():
        flash("Type the address twice to confirm the erasure.")
        return redirect(url_for("compliance.audit"))
    removed = erase(db(), [address], "erased", datetime.now(UTC))
    db().commit()
    flash(f"Erased {address}: {removed} contact record(s) removed; the address is suppressed.")
    return redirect(url_for("compliance.audit"))
