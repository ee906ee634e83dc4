"""ROI on the dashboard, in the API and in the deliverability report (PDF parsed back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from compliance.events.importer import import_file
from compliance.roi.importer import import_conversions, import_costs, import_touchpoints
from store.engine import open_database, session_factory
from tests.conftest import postwarden
from tests.test_reports import pdf_text
from tests.test_roi import CONVERSIONS, COSTS, EVENTS, TOUCHPOINTS, write
from tests.test_web import client, logged_in, populated_app

NOW = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = "from=2026-11-01&to=2026-11-30"


def seed(tmp_path: Path, url: str) -> None:
    """Events, conversions, an ad touch and costs, through the importers."""
    sessions = session_factory(open_database(url))
    with sessions() as session:
        import_file(session, Path(write(tmp_path, "ev.csv", EVENTS)), source="csv", now=NOW)
        import_conversions(session, Path(write(tmp_path, "conv.csv", CONVERSIONS)), now=NOW)
        import_touchpoints(session, Path(write(tmp_path, "tp.csv", TOUCHPOINTS)), now=NOW)
        import_costs(session, Path(write(tmp_path, "c.csv", COSTS)), now=NOW)
        session.commit()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield from populated_app(tmp_path, seed)


def test_the_roi_page_draws_the_model_comparison_and_the_campaign_table(app: Flask) -> None:
    browser = logged_in(app, "compliance")
    page = browser.get(f"/roi?{WINDOW}&model=first_touch").get_data(as_text=True)
    assert 'href="/roi"' in page  # in the navigation
    # One server-side SVG chart per currency, a series per model.
    assert page.count('<figure class="chart"') == 2 and page.count("<svg") == 2
    assert all(model in page for model in ("first_touch", "time_decay", "position_based"))
    campaigns = page.split('id="roi-campaigns"')[1].split("</table>")[0]
    # Under first touch nov-a (Ann's first click) takes her 100 EUR; nov-b nothing.
    assert "<td>nov-a</td><td>EUR</td>" in campaigns and ">100.00<" in campaigns
    assert "<td>[ads] winter</td><td>USD</td>" in campaigns
    assert "<td>(no touch)</td><td>EUR</td>" in campaigns
    totals = page.split('id="roi-totals"')[1]
    assert '<td>EUR</td><td class="number">100.00</td><td class="number">50.00</td>' in totals


@pytest.mark.parametrize(
    "query", ["model=nobody", "from=yesterday", "from=2026-12-01&to=2026-11-01"]
)
def test_the_roi_page_refuses_bad_arguments(app: Flask, query: str) -> None:
    assert logged_in(app, "postmaster").get(f"/roi?{query}").status_code == 400


def test_the_api_answers_the_roi_contract_for_one_model_and_for_all(app: Flask) -> None:
    token = app.config["POSTWARDEN_TOKENS"]["postmaster"]
    api = client(app)
    assert api.get(f"/api/v1/roi?{WINDOW}").status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    one = api.get(f"/api/v1/roi?{WINDOW}&model=linear", headers=headers).get_json()
    assert (one["from"], one["to"], one["model"], one["lookback_days"]) == (
        "2026-11-01",
        "2026-11-30",
        "linear",
        30,
    )
    row = next(r for r in one["campaigns"] if r["campaign"] == "nov-a")
    assert set(row) >= {"campaign", "currency", "sends", "clicks", "conversions", "revenue",
                        "cost", "roi", "revenue_per_email"}  # fmt: skip
    assert (row["revenue"], row["conversions"]) == (50.0, 0.5)
    assert one["totals"]["EUR"]["revenue"] == 100.0
    every = api.get(f"/api/v1/roi?{WINDOW}&compare=1", headers=headers).get_json()
    # (Flask sorts the keys of what it serves.)
    assert sorted(every["models"]) == [
        "first_touch",
        "last_touch",
        "linear",
        "position_based",
        "time_decay",
    ]
    assert set(every["models"]["last_touch"]) == {"campaigns", "totals"}
    assert api.get(f"/api/v1/roi?{WINDOW}&model=x", headers=headers).status_code == 400
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert "revenue" in paths["/api/v1/roi"]["get"]["summary"].lower()


def test_the_deliverability_report_has_a_section_on_what_the_mail_earns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    seed(tmp_path, url)
    output = tmp_path / "deliverability.pdf"
    result = postwarden("report", "deliverability", "--from", "2026-11-01", "--to", "2026-11-30",
                        "-o", str(output), "--db", url)  # fmt: skip
    assert result.code == 0, result.stderr
    text = " ".join(" ".join(pdf_text(output)).split())
    assert "What the mail earns" in text
    assert "4 conversions in the period" in text
    assert "Total EUR: the mail earned 100.00 at a cost of 50.00, ROI 100%" in text
    assert "Total USD: the mail earned 0.00; no cost recorded, so no ROI" in text
    assert "(no touch)" in text and "position_based" in text
