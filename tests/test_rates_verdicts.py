"""Rates: a verdict before a chart — the sender's own ESPs only, "not judged" below volume,
one rate format and metric names everywhere, the latest day beside the window, charts whose
axis holds the fail line and whose gaps are gaps. The same data through the CLI, the page
and the PDF."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from checks.findings import Finding
from compliance.rates.requirements import rate_verdict
from compliance.rates.results import (
    DayFigures,
    Figures,
    Freshness,
    LatestDay,
    MetricResult,
    ProfileResult,
    RateSources,
    RatesResult,
)
from compliance.rates.wording import (
    format_rate,
    latest_sentence,
    metric_name,
    metric_verdict,
    rate_sentence,
    verdict,
)
from monitor.dashboard_data import check_verdicts
from monitor.settings import RatesSettings, Settings, WebSettings
from monitor.targets import add_domain
from reports.charts import _with_lines, profile_rate_charts, rate_axis, rate_chart
from store.engine import open_database, session_factory
from store.scheduling import APSCHEDULER_JOBS
from tests.conftest import postwarden
from tests.dashboard_data import populate
from tests.servers import free_port
from tests.test_browser import ARTIFACTS, _answers, chromium, sign_in
from tests.test_web import logged_in
from tests.waiting import eventually
from web.app import create_app

AS_OF = date(2026, 11, 30)
HEADER = "event_id,type,bounce_type,recipient,time,campaign,message_id"
# The contract's keys of `rates --format json` (DESIGN.md): kept whatever `esps` says.
CONTRACT_KEYS = {
    "as_of", "days", "sent", "delivered", "bounced_hard", "bounced_soft", "complaints",
    "unsubscribes", "bounce_rate", "hard_bounce_rate", "complaint_rate", "profiles",
}  # fmt: skip


def write_events(path: Path, today: date) -> Path:
    """Gmail: 60 delivered on each of four days (none on two days between), 1 complaint
    six days ago and 2 yesterday (3 of 240 = 1.25%; yesterday 2 of 60 = 3.33%). Yahoo:
    42 delivered yesterday, too few to judge. example.org: 300 delivered, 3 hard bounces."""
    rows = [HEADER]
    number = 0

    def add(kind: str, domain: str, day: date, bounce: str = "") -> None:
        nonlocal number
        number += 1
        at = datetime(day.year, day.month, day.day, 9, number % 60, tzinfo=UTC).isoformat()
        rows.append(f"e{number},{kind},{bounce},u{number}@{domain},{at},winter,m{number}")

    for back in (6, 5, 3, 1):
        day = today - timedelta(days=back)
        for _ in range(60):
            add("delivered", "gmail.com", day)
        for _ in range({6: 1, 1: 2}.get(back, 0)):
            add("complaint", "gmail.com", day)
    for _ in range(42):
        add("delivered", "yahoo.com", today - timedelta(days=1))
    for n in range(300):
        add("delivered", "example.org", today - timedelta(days=n % 7))
    for _ in range(3):
        add("bounce", "example.org", today - timedelta(days=2), "hard")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def config_with_esps(path: Path, esps: str) -> Path:
    path.write_text(f"[rates]\nesps = {esps}\n", encoding="utf-8")
    return path


# --- pure: the wording and the axis ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "—"), (0.0, "0.00%"), (0.0059, "0.59%"), (0.003, "0.30%"), (0.02, "2.00%"),
     (0.000049, "<0.01%"), (0.0001, "0.01%"), (1.0, "100.00%")],
)  # fmt: skip
def test_a_rate_reads_as_percent_with_two_decimals(value: float | None, text: str) -> None:
    assert format_rate(value) == text


def test_metric_ids_read_as_names() -> None:
    assert metric_name("complaint_rate") == "complaint rate"
    assert metric_name("hard_bounce_rate") == "hard bounce rate"
    assert metric_name("spam_rate") == "Gmail spam rate"
    assert metric_name("new_rate") == "new rate"


def judged_profile(
    title: str, status: Any, delivered: int, needed: int, *findings: Finding
) -> ProfileResult:
    return ProfileResult(
        status, "all", title, "mailbox-provider", True, {}, findings, (), delivered, needed
    )


def test_a_judged_rate_reads_as_a_sentence_with_its_lines_status_and_volume() -> None:
    profile = judged_profile("Gmail", "fail", 675, 100)
    metric = MetricResult(0.0059, None, 0.003, "fail")
    assert rate_sentence(profile, "complaint_rate", metric) == (
        "Gmail complaint rate 0.59% — fail line 0.30% — FAIL, 675 delivered"
    )
    # the profile's title is not repeated in front of a name that carries it already
    spam = MetricResult(0.0004, 0.001, 0.003, "pass")
    assert rate_sentence(profile, "spam_rate", spam).startswith("Gmail spam rate 0.04% — warn")


def test_below_its_volume_a_profile_is_not_judged_never_error_or_fail() -> None:
    profile = judged_profile("Yahoo (and AOL)", "error", 42, 100)
    metric = MetricResult(None, 0.001, 0.003, "error")
    assert verdict(profile) == "not judged: 42 delivered, 100 needed"
    assert metric_verdict(profile, metric) == "not judged"
    sentence = rate_sentence(profile, "complaint_rate", metric)
    assert sentence == (
        "Yahoo complaint rate — warn line 0.10% — fail line 0.30% — "
        "not judged: 42 delivered, 100 needed"
    )
    assert "ERROR" not in sentence and "FAIL" not in sentence
    # an error with enough volume (could not determine) stays ERROR
    assert verdict(judged_profile("Yahoo", "error", 500, 100)) == "ERROR"


def test_the_latest_day_reads_against_the_fail_line() -> None:
    metric = MetricResult(None, 0.001, 0.003, "pass")
    over = LatestDay(date(2026, 11, 29), "yesterday", 0.022, 500)
    assert latest_sentence(over, metric) == "yesterday: 2.20%, over 0.30%"
    earlier = LatestDay(date(2026, 11, 20), "2026-11-20", 0.0, 500)
    assert latest_sentence(earlier, metric) == ("2026-11-20: 0.00%, under 0.30%")
    assert latest_sentence(None, metric) is None


@pytest.mark.parametrize(
    ("values", "warn", "fail"),
    [([0.001, 0.022], 0.001, 0.003), ([0.0001, None, 0.0002], 0.001, 0.003),
     ([0.5], 0.02, 0.05), ([0.0, 0.0], None, None), ([0.0004], None, 0.002)],
)  # fmt: skip
def test_the_y_axis_holds_the_data_and_the_fail_line_with_little_waste(
    values: list[float | None], warn: float | None, fail: float | None
) -> None:
    ticks = rate_axis(values, warn, fail)
    highest = max(v for v in (*values, warn, fail, 0.0) if v is not None)
    assert ticks[0] == 0 and ticks == sorted(ticks) and 3 <= len(ticks) <= 7
    assert ticks[-1] > highest  # headroom: the line never sits on the frame
    if highest:
        assert ticks[-1] <= highest * 2.5  # and the data is not squashed to the bottom


def test_the_fail_line_is_inside_a_chart_of_low_rates() -> None:
    # Rates of 0.01%-0.02% against a 0.30% line: the axis reaches past the line.
    assert rate_axis([0.0001, 0.0002], 0.001, 0.003)[-1] >= 0.003


def test_days_without_mail_are_gaps_and_lines_are_labelled_and_heavier() -> None:
    svg = rate_chart("Gmail: complaint rate", ["d1", "d2", "d3", "d4", "d5"],
                     [0.01, 0.015, None, 0.02, 0.03], 0.001, 0.003)  # fmt: skip
    lines = re.findall(r'<path d="([^"]+)" class="line reactive nofill"', svg)
    # the daily rate is two pieces (before and after the gap), then the fail and warn lines
    assert len(lines) == 4
    points = [re.findall(r"([\d.]+) [\d.]+", piece) for piece in lines[:2]]
    assert [len(p) for p in points] == [2, 2]  # d1-d2 and d4-d5: no slope across d3
    assert float(points[0][-1]) < float(points[1][0])
    assert "fail line 0.30%" in svg and "warn line 0.10%" in svg
    widths = dict(re.findall(r"\.series\.serie-(\d)\{stroke-width:([\d.]+)", svg))
    assert float(widths["1"]) > 1 and float(widths["2"]) > 1  # grid guides are 1


def day_figures(day: date, complaint_rate: float | None) -> DayFigures:
    return DayFigures(day, Figures(*(0,) * 9, None, None, complaint_rate))


def test_a_flat_zero_series_is_a_note_not_a_panel() -> None:
    days = tuple(day_figures(date(2026, 11, d), r) for d, r in ((1, 0.0), (2, None), (3, 0.0)))
    yahoo = ProfileResult(
        "pass",
        "yahoo",
        "Yahoo",
        "mailbox-provider",
        True,
        {
            "complaint_rate": MetricResult(0.0, 0.001, 0.003, "pass"),
            "spam_rate": MetricResult(0.0, 0.001, 0.003, "pass"),  # no daily series: no panel
        },
        (),
        (),
    )
    empty = Figures(*(0,) * 9, None, None, None)
    report = RatesResult(
        date(2026, 11, 3),
        3,
        date(2026, 11, 1),
        empty,
        {},
        {"yahoo": yahoo},
        RateSources(Freshness(None), 0),
        days,
        {"yahoo": days},
    )
    [panel] = profile_rate_charts(report)
    assert panel.svg is None
    assert panel.note == "Yahoo: complaint rate: 0.00% on every day (2 days with mail)."


def test_a_chart_carries_its_figures_and_their_volume_as_a_table() -> None:
    def day(d: int, rate: float | None, delivered: int, sent: int) -> DayFigures:
        figures = Figures(sent, delivered, *(0,) * 7, None, None, rate)
        return DayFigures(date(2026, 11, d), figures)

    days = (day(1, 0.004, 500, 510), day(2, None, 0, 0), day(3, 0.0, 250, 260))
    default = ProfileResult(
        "pass", "all", "Default", "esp", True,
        {"complaint_rate": MetricResult(0.002, 0.001, 0.003, "warn")}, (), (),
    )  # fmt: skip
    empty = Figures(*(0,) * 9, None, None, None)
    report = RatesResult(
        date(2026, 11, 3), 3, date(2026, 11, 1), empty, {}, {"default": default},
        RateSources(Freshness(None), 0), days, {},
    )  # fmt: skip
    [panel] = profile_rate_charts(report)
    assert panel.svg is not None and panel.volume == "delivered"
    # days without mail are no row: the table says what the chart's gap means
    assert panel.rows == (("2026-11-01", 0.004, 500), ("2026-11-03", 0.0, 250))


# --- the CLI, on SQLite and PostgreSQL --------------------------------------------------


def imported(tmp_path: Path, database_url: str, today: date = AS_OF) -> str:
    events = write_events(tmp_path / "events.csv", today)
    result = postwarden("import", "events", str(events), "--db", database_url)
    assert result.code == 0, result.stderr
    return database_url


def test_only_the_senders_esps_are_judged_and_the_json_keeps_its_keys(
    tmp_path: Path, database_url: str
) -> None:
    db = imported(tmp_path, database_url)
    config = config_with_esps(tmp_path / "pw.toml", '["sendgrid"]')
    result = postwarden(
        "rates", "--as-of", "2026-11-30", "--config", str(config), "--db", db, "--format", "json"
    )
    assert result.code == 2, result.stderr
    report = result.json()
    assert set(report) >= CONTRACT_KEYS
    assert list(report["profiles"]) == ["default", "gmail", "yahoo", "microsoft", "sendgrid"]
    gmail = report["profiles"]["gmail"]["metrics"]["complaint_rate"]
    assert (gmail["value"], gmail["status"]) == (0.0125, "fail")
    assert gmail["latest"] == {
        "day": "2026-11-29",
        "label": "yesterday",
        "value": 0.033333,
        "delivered": 60,
    }
    yahoo = report["profiles"]["yahoo"]
    # the contract: below the volume the status is error with a finding
    assert (yahoo["status"], yahoo["delivered"], yahoo["needed"]) == ("error", 42, 100)
    assert "RATES_LOW_VOLUME" in {f["code"] for f in yahoo["findings"]}
    # without the setting every ESP profile is still there (nothing breaks)
    everything = postwarden("rates", "--as-of", "2026-11-30", "--db", db, "--format", "json")
    assert {"ses", "brevo", "mailchimp", "sendgrid"} <= set(everything.json()["profiles"])


def test_the_table_gives_verdicts_in_words(tmp_path: Path, database_url: str) -> None:
    db = imported(tmp_path, database_url)
    config = config_with_esps(tmp_path / "pw.toml", '["sendgrid"]')
    result = postwarden("rates", "--as-of", "2026-11-30", "--config", str(config), "--db", db)
    assert result.code == 2, result.stderr
    text = result.stdout
    assert (
        "Gmail complaint rate 1.25% — warn line 0.10% — fail line 0.30% — FAIL, 240 delivered; "
        "yesterday: 3.33%, over 0.30%" in text
    )
    [yahoo] = [line for line in text.splitlines() if " yahoo " in line]
    assert "not judged: 42 delivered, 100 needed (complaint rate)" in yahoo
    assert "ERROR" not in yahoo and "FAIL" not in yahoo
    [microsoft] = [line for line in text.splitlines() if " microsoft " in line]
    assert "not judged: 0 delivered, 100 needed" in microsoft
    assert "RATES_LOW_VOLUME" not in text and "complaint_rate" not in text
    assert "ses" not in text.split() and "Amazon SES" not in text


def test_an_unknown_esp_is_one_line_and_exit_3(tmp_path: Path) -> None:
    config = config_with_esps(tmp_path / "pw.toml", '["sendgird"]')
    result = postwarden("rates", "--config", str(config), "--db", f"sqlite:///{tmp_path}/pw.db")
    assert result.code == 3
    assert (
        result.stderr.strip().splitlines() == [result.stderr.strip()]
        and "[rates] esps: 'sendgird' is not an ESP profile" in result.stderr
    )


# --- the PDF ------------------------------------------------------------------------------


def test_the_pdf_judges_only_the_senders_esps_in_words(tmp_path: Path) -> None:
    db = imported(tmp_path, f"sqlite:///{tmp_path / 'pw.db'}")
    config = config_with_esps(tmp_path / "pw.toml", '["sendgrid"]')
    output = tmp_path / "november.pdf"
    result = postwarden("report", "deliverability", "--from", "2026-11-01", "--to", "2026-11-30",
                        "-o", str(output), "--config", str(config), "--db", db)  # fmt: skip
    assert result.code == 0, result.stderr
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(output).pages).split())
    assert (
        "Gmail complaint rate 1.25% — warn line 0.10% — fail line 0.30% — FAIL, 240 delivered"
        in text
    )
    assert "yesterday: 3.33%, over 0.30%" in text
    assert "not judged: 42 delivered, 100 needed" in text
    assert "Amazon SES" not in text and "Brevo" not in text and "SendGrid" in text
    assert "complaint_rate" not in text
    assert "Yahoo (and AOL): complaint rate: 0.00% on every day (1 day with mail)." in text


# --- the page: Flask's client, and a screenshot from the real browser ----------------------


class _ProfileRows(HTMLParser):
    """The rows of the Rates page's verdict table: (profile, metric, [cell texts])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._inside = found.get("class") == "profiles"
        elif tag == "tr" and self._inside and "data-profile" in found:
            self.rows.append((found["data-profile"] or "", found.get("data-metric") or "", []))
        elif tag == "td" and self._inside and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1][2].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def seeded(tmp_path: Path) -> str:
    """A database with the test's traffic up to today (the page looks back from now)."""
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    populate(session_factory(engine))
    engine.dispose()
    return imported(tmp_path, url, datetime.now(UTC).date())


def test_the_rates_page_gives_each_rate_its_lines_verdict_and_latest_day(tmp_path: Path) -> None:
    url = seeded(tmp_path)
    engine = open_database(url)
    settings = Settings(
        database_url=url,
        web=WebSettings(secret_key="test-key"),
        rates=RatesSettings(esps=("sendgrid",)),
    )
    app = create_app(settings, session_factory(engine))
    try:
        page = logged_in(app, "compliance").get("/rates").get_data(as_text=True)
    finally:
        app.extensions["postwarden_inbox"].close()
        engine.dispose()
    parser = _ProfileRows()
    parser.feed(page)
    rows = {(profile, metric): cells for profile, metric, cells in parser.rows}
    assert {profile for profile, _ in rows} == {"default", "gmail", "yahoo", "microsoft",
                                                "sendgrid"}  # fmt: skip
    gmail = rows[("gmail", "complaint_rate")]
    assert gmail[1] == (
        "Gmail complaint rate 1.25% — warn line 0.10% — fail line 0.30% — FAIL, 240 delivered"
    )
    assert gmail[2] == "FAIL" and gmail[3] == "yesterday: 3.33%, over 0.30%"
    yahoo = rows[("yahoo", "complaint_rate")]
    assert yahoo[2] == "not judged" and yahoo[1].endswith("not judged: 42 delivered, 100 needed")
    assert all("ERROR" not in cell and "FAIL" not in cell for cell in yahoo)
    assert "not published; judged by default" in rows[("sendgrid", "")][1]
    assert "complaint_rate" not in page.replace('data-metric="complaint_rate"', "")
    assert 'class="chart-note">Yahoo (and AOL): complaint rate: 0.00% on every day' in page


def test_the_rates_page_in_chromium(tmp_path: Path) -> None:
    url = seeded(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    env["POSTWARDEN_RATES_ESPS"] = "sendgrid"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("postwarden")), "serve", "--no-scheduler",
         "--port", str(port), "--db", url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://localhost:{port}"
    try:
        eventually(
            lambda: _answers(f"{base}/healthz"), timeout=60, interval=0.1, ignoring=(OSError,)
        )
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, base, "compliance")
            page.goto(f"{base}/rates")
            gmail = page.locator('tr[data-profile="gmail"][data-metric="complaint_rate"]')
            assert "yesterday: 3.33%, over 0.30%" in gmail.inner_text()
            yahoo = page.locator('tr[data-profile="yahoo"]')
            assert "not judged" in yahoo.inner_text() and "ERROR" not in yahoo.inner_text()
            assert page.locator('tr[data-profile="ses"]').count() == 0
            assert page.locator("figure.chart svg").first.is_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "rates-verdicts.png"), full_page=True)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_threshold_value_joins_the_axis_only_where_it_does_not_crowd_a_tick() -> None:
    assert _with_lines([0.0, 0.02, 0.04, 0.06], 0.02, 0.05) == [0.0, 0.02, 0.04, 0.05, 0.06]
    assert _with_lines([0.0, 0.01, 0.02, 0.03], 0.001, 0.003) == [0.0, 0.01, 0.02, 0.03]


def test_a_provider_card_says_its_rate_is_not_judged_below_the_volume() -> None:
    low = Finding("RATES_LOW_VOLUME", "error", "Yahoo: 42 delivered messages in scope", "")
    judged = judged_profile("Yahoo", "error", 42, 100, low)
    assert rate_verdict(judged).note == "not judged: 42 delivered, 100 needed"


# --- a target never checked yet is pending --------------------------------------------------


def test_a_target_never_checked_is_pending_and_leaves_the_verdicts_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    engine = open_database(url)
    sessions = session_factory(engine)
    populate(sessions)
    with sessions() as session:
        before = check_verdicts(session)["spf"]
        add_domain(session, "new.example", datetime(2026, 12, 7, 6, 50, tzinfo=UTC))
        next_run = datetime(2026, 12, 7, 7, 15, tzinfo=UTC).timestamp()
        job = {"id": "auth_sweep", "next_run_time": next_run, "job_state": b"the scheduler's"}
        session.execute(APSCHEDULER_JOBS.insert().values(**job))
        session.commit()
        after = check_verdicts(session)["spf"]
    # both checked domains pass SPF: the new one does not turn the verdict to error
    assert (before.status, after.status) == ("pass", "pass")
    assert after.note == "2 of 3 domains pass; 1 of 3 pending (not checked yet)"
    settings = Settings(database_url=url, web=WebSettings(secret_key="test-key"))
    app = create_app(settings, sessions)
    try:
        page = logged_in(app, "postmaster").get("/").get_data(as_text=True)
    finally:
        app.extensions["postwarden_inbox"].close()
        engine.dispose()
    row = page[page.index(">new.example</a>") :]
    row = row[: row.index("</tr>")]
    assert '<span class="status pending">pending (next sweep at 07:15 UTC)</span>' in row
    assert "ERROR" not in row


def test_the_compliance_pdf_gives_the_same_verdicts(tmp_path: Path) -> None:
    db = imported(tmp_path, f"sqlite:///{tmp_path / 'pw.db'}")
    config = config_with_esps(tmp_path / "pw.toml", '["ses"]')
    output = tmp_path / "compliance.pdf"
    result = postwarden("report", "compliance", "--from", "2026-11-01", "--to", "2026-11-30",
                        "-o", str(output), "--config", str(config), "--db", db)  # fmt: skip
    assert result.code == 0, result.stderr
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(output).pages).split())
    assert "not judged: 42 delivered, 100 needed" in text
    assert "Amazon SES hard bounce rate 0.51% — warn line 5.00% — fail line 10.00% — PASS" in text
    assert "SendGrid" not in text and "hard_bounce_rate" not in text
