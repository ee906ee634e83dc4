"""The compliance pages: the latest audit, its trend, offenders (a paged table and CSV), erasure.

Addresses are masked on pages (``j***@example.com``) unless a compliance officer
asks for them; the CSV, a deliberate export, carries them in full.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from compliance.audit.exit_evidence import (
    EVIDENCE_COLUMNS,
    EXIT_RULES,
    exit_evidence,
    mailings_text,
)
from compliance.audit.list_audit import (
    OFFENDER_COLUMNS,
    offender_count,
    offender_page,
    offenders,
    run_audit,
)
from compliance.audit.rules import RULES
from compliance.contacts.erasure import erase, retention_purges
from compliance.csv_files import CsvWriter
from monitor.dashboard_data import audit_trend
from reports.charts import count_chart
from reports.erasure_wording import purge_sentence
from reports.masking import mask
from reports.times import display_time
from web.auth import ANY_ROLE, roles_required
from web.database import db
from web.query_args import MAX_ID, optional_int_arg
from web.settings import settings

blueprint = Blueprint("compliance", __name__, url_prefix="/compliance")
OFFENDERS_PAGE = 50


@blueprint.app_template_filter("masked")
def masked(address: str | None) -> str:
    """An address as pages show it by default (reports.masking.mask)."""
    return mask(address) if address else ""


@blueprint.app_template_filter("when")
def when(moment: Any) -> str:
    """A time as people read it: ``7 Dec 2026, 06:49 UTC`` (reports.times.display_time)."""
    return display_time(moment)


def latest_purge_sentence() -> str | None:
    """The last retention purge that erased anyone, in the words the PDF uses too."""
    purges = retention_purges(db())
    if not purges:
        return None
    at, erased = purges[-1]
    return purge_sentence(at, erased, settings().audit.retention_days)


@blueprint.get("/")
@roles_required(*ANY_ROLE)
def audit() -> Any:
    report = run_audit(db(), datetime.now(UTC).date(), settings().audit)
    trend = audit_trend(db())
    chart = None
    if len(trend) > 1:
        labels = [run.as_of.isoformat() for run in trend]
        # Every rule that flagged anyone in the trend or now: a count the purge took to
        # zero still shows its fall.
        series = {name: [run.rules.get(name, {}).get("count", 0) for run in trend]
                  for name in RULES}  # fmt: skip
        series = {name: counts for name, counts in series.items()
                  if any(counts) or report.rules[name].count}  # fmt: skip
        chart = Markup(count_chart("Offenders per rule, audit by audit", labels, series))
    return render_template("compliance.html", report=report, chart=chart,
                           purge=latest_purge_sentence())  # fmt: skip


@blueprint.get("/offenders/<rule>")
@roles_required("compliance")
def offenders_table(rule: str) -> Any:
    """A rule's offenders, a page at a time (keyset on the contact id), addresses masked
    unless ``addresses=full``."""
    if rule not in RULES:
        abort(404)
    after = optional_int_arg("after", minimum=0, maximum=MAX_ID)
    before = optional_int_arg("before", minimum=0, maximum=MAX_ID) if after is None else None
    full = request.args.get("addresses") == "full"
    day = datetime.now(UTC).date()
    thresholds = settings().audit
    page = offender_page(
        db(), rule, day, thresholds, after=after, before=before, size=OFFENDERS_PAGE
    )
    rows = [dict(zip(OFFENDER_COLUMNS, row, strict=True)) for row in page.rows]
    if rule in EXIT_RULES:
        # One lookup for the page's offenders, not one per person.
        evidence = exit_evidence(db(), rule, day, [(r["list_name"], r["address"]) for r in rows],
                                 thresholds)  # fmt: skip
        for row in rows:
            row["evidence"] = evidence.get((row["list_name"], row["address"]))
    if not full:
        for row in rows:
            row["address"] = masked(row["address"])
    return render_template(
        "compliance_offenders.html",
        rule=rule,
        level=RULES[rule][0],
        description=RULES[rule][1],
        count=offender_count(db(), rule, day, thresholds),
        page=page,
        rows=rows,
        full=full,
        as_of=day,
        exit_rule=rule in EXIT_RULES,
    )


@blueprint.get("/offenders/<rule>.csv")
@roles_required("compliance")
def offenders_csv(rule: str) -> Any:
    """Every offender of a rule as CSV, streamed."""
    if rule not in RULES:
        abort(404)
    day = datetime.now(UTC).date()
    thresholds = settings().audit
    rows: Iterable[tuple[Any, ...]] = list(offenders(db(), rule, day, thresholds))
    header: tuple[str, ...] = OFFENDER_COLUMNS
    if rule in EXIT_RULES:
        header = (*OFFENDER_COLUMNS, *EVIDENCE_COLUMNS)
        # Eager: the response streams after the request (and its session) has ended.
        rows = list(_with_evidence(list(rows), rule, day, thresholds))

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = CsvWriter(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    disposition = f'attachment; filename="{rule}-{day.isoformat()}.csv"'
    return Response(lines(), mimetype="text/csv", headers={"Content-Disposition": disposition})


def _with_evidence(
    rows: list[tuple[Any, ...]], rule: str, day: Any, thresholds: Any
) -> Iterator[tuple[Any, ...]]:
    """Offender rows with the exit and the mailings after it (one lookup for the rule)."""
    name, address = OFFENDER_COLUMNS.index("list_name"), OFFENDER_COLUMNS.index("address")
    evidence = exit_evidence(db(), rule, day, None, thresholds)
    for row in rows:
        found = evidence.get((row[name], row[address]))
        if found is None:
            yield (*row, None, None, None)
        else:
            yield (*row, found.exit_at, found.how, mailings_text(found.mailings))


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
