"""Conversions, touchpoints and costs imported, attributed and reported through the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from store.conversions import Conversion, Touchpoint
from store.engine import session_factory, upgrade_database
from tests.conftest import postwarden

EVENTS = """event_id,type,bounce_type,recipient,time,campaign,message_id
s1,sent,,ann@example.org,2026-11-01T09:00:00Z,nov-a,m1
s2,sent,,bob@example.org,2026-11-01T09:00:00Z,nov-a,m2
s3,sent,,ann@example.org,2026-11-05T09:00:00Z,nov-b,m3
s4,sent,,dan@example.org,2026-11-05T09:00:00Z,nov-b,m4
c1,click,,ann@example.org,2026-11-01T10:00:00Z,nov-a,m1
c2,click,,ann@example.org,2026-11-05T10:00:00Z,nov-b,m3
o1,open,,bob@example.org,2026-11-01T10:00:00Z,nov-a,m2
o2,open,,dan@example.org,2026-11-05T10:00:00Z,nov-b,m4
c9,click,,eve@example.org,2026-09-01T10:00:00Z,aug,m9
"""
CONVERSIONS = """conversion_id,email,time,value,currency,type
k1,Ann@example.org,2026-11-06T10:00:00Z,100,EUR,purchase
k2,bob@example.org,2026-11-06T10:00:00Z,50,EUR,purchase
k3,carl@example.org,2026-11-06T10:00:00Z,30.5,USD,signup
k4,eve@example.org,2026-11-06T10:00:00Z,0,EUR,signup
"""
TOUCHPOINTS = """email,time,channel,campaign
carl@example.org,2026-11-04T10:00:00Z,ads,winter
"""
COSTS = """campaign,cost,currency,month
nov-a,20,EUR,
,30,EUR,2026-11
"""
WINDOW = ("--from", "2026-11-01", "--to", "2026-11-30")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def load(tmp_path: Path, db: str, costs: bool = True) -> None:
    assert postwarden("import", "events", write(tmp_path, "ev.csv", EVENTS), "--db", db).code == 0
    result = postwarden(
        "import", "conversions", write(tmp_path, "conv.csv", CONVERSIONS),
        "--touchpoints", write(tmp_path, "tp.csv", TOUCHPOINTS), "--db", db,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    if costs:
        assert postwarden("import", "costs", write(tmp_path, "c.csv", COSTS), "--db", db).code == 0


def rows_by_name(report: dict[str, Any]) -> dict[tuple[Any, Any, Any], dict[str, Any]]:
    return {(r["channel"], r["campaign"], r["currency"]): r for r in report["campaigns"]}


def test_roi_attributes_each_conversion_and_keeps_what_no_mail_earned(
    tmp_path: Path, database_url: str
) -> None:
    load(tmp_path, database_url)
    result = postwarden(
        "roi", *WINDOW, "--model", "linear", "--format", "json", "--db", database_url
    )
    assert result.code == 0, result.stderr
    report = result.json()
    assert (report["from"], report["to"], report["model"]) == ("2026-11-01", "2026-11-30", "linear")
    rows = rows_by_name(report)
    # Ann clicked nov-a then nov-b before buying for 100 EUR: 50 each under linear.
    assert rows[("email", "nov-a", "EUR")] == {
        "campaign": "nov-a", "channel": "email", "currency": "EUR", "sends": 2, "clicks": 1,
        "conversions": 0.5, "revenue": 50.0, "cost": 35.0, "roi": round(15 / 35, 4),
        "revenue_per_email": 25.0,
    }  # fmt: skip
    # The month's 30 EUR is spread by sends: nov-a 2 of 4 sends, nov-b 2 of 4.
    assert rows[("email", "nov-b", "EUR")]["cost"] == 15.0
    assert rows[("email", "nov-b", "EUR")]["roi"] == round((50 - 15) / 15, 4)
    # Carl only saw an ad; Bob only opened (opens are not touches by default); Eve's click
    # lies outside the 30-day lookback. Nothing is dropped.
    assert rows[("ads", "winter", "USD")]["revenue"] == 30.5
    unattributed = rows[(None, None, "EUR")]
    assert (unattributed["revenue"], unattributed["conversions"]) == (50.0, 2.0)
    assert report["totals"]["EUR"] == {
        "revenue": 100.0,
        "cost": 50.0,
        "roi": 1.0,
        "other_channels": 0.0,
        "unattributed": 50.0,
        "conversions": 3.0,
    }
    assert report["totals"]["USD"]["other_channels"] == 30.5
    assert report["totals"]["USD"]["cost"] is None and report["totals"]["USD"]["roi"] is None


def test_compare_shows_the_credit_moving_from_the_first_mail_to_the_last(
    tmp_path: Path, database_url: str
) -> None:
    load(tmp_path, database_url, costs=False)
    result = postwarden("roi", *WINDOW, "--compare", "--format", "json", "--db", database_url)
    assert result.code == 0, result.stderr
    models = result.json()["models"]
    assert list(models) == ["first_touch", "last_touch", "linear", "time_decay", "position_based"]
    revenue = {
        model: {r["campaign"]: r["revenue"] for r in data["campaigns"] if r["channel"] == "email"}
        for model, data in models.items()
    }
    assert revenue["first_touch"] == {"nov-a": 100.0, "nov-b": 0.0}
    assert revenue["last_touch"] == {"nov-a": 0.0, "nov-b": 100.0}
    assert revenue["position_based"] == {"nov-a": 50.0, "nov-b": 50.0}
    # Every model hands out all of each currency's value, no more, no less.
    for data in models.values():
        eur = sum(r["revenue"] for r in data["campaigns"] if r["currency"] == "EUR")
        usd = sum(r["revenue"] for r in data["campaigns"] if r["currency"] == "USD")
        assert (eur, usd) == (150.0, 30.5)
        assert sum(r["conversions"] for r in data["campaigns"]) == 4.0
    # Clicks 5 days and 1 day before the purchase, half-life 7 days: 2^(4/7) times more recent.
    decay = revenue["time_decay"]
    assert decay["nov-a"] + decay["nov-b"] == 100.0 and decay["nov-b"] > 59.0
    table = postwarden("roi", *WINDOW, "--compare", "--db", database_url)
    assert (
        "nov-b" in table.stdout and "(no touch)" in table.stdout and "[ads] winter" in table.stdout
    )


def test_opens_count_when_configured_and_machine_opens_never(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    events = EVENTS + "o3,open,,eve@example.org,2026-11-05T10:00:00Z,nov-b,m9,,,true\n"
    events = events.replace("campaign,message_id\n", "campaign,message_id,reason,url,machine\n")
    events = "\n".join(
        line if line.count(",") == 9 else line + ",,," for line in events.strip().split("\n")
    )
    write(tmp_path, "ev.csv", events + "\n")
    assert postwarden("import", "events", str(tmp_path / "ev.csv"), "--db", db).code == 0
    conv = write(tmp_path, "conv.csv", CONVERSIONS)
    assert postwarden("import", "conversions", conv, "--db", db).code == 0
    env = {"POSTWARDEN_ROI_OPENS": "true"}
    report = postwarden("roi", *WINDOW, "--format", "json", "--db", db, env=env).json()
    rows = rows_by_name(report)
    # Bob's open of nov-a now takes his 50 EUR; Eve's machine open of nov-b takes nothing.
    assert rows[("email", "nov-a", "EUR")]["revenue"] == 50.0
    assert rows[("email", "nov-b", "EUR")]["revenue"] == 100.0
    assert rows[(None, None, "EUR")]["conversions"] == 1.0


def test_the_campaign_filter_keeps_one_campaign(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    load(tmp_path, db)
    report = postwarden("roi", *WINDOW, "--campaign", "nov-b", "--format", "json", "--db", db)
    assert [r["campaign"] for r in report.json()["campaigns"]] == ["nov-b"]
    table = postwarden("roi", *WINDOW, "--db", db)
    assert table.code == 0
    assert "Total EUR: mail earned 100.00, cost 50.00, ROI 100%" in table.stdout


def test_configured_monthly_costs_are_spread_by_sends_and_a_short_lookback_drops_touches(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    load(tmp_path, db, costs=False)
    env = {"POSTWARDEN_ROI_MONTHLY_COSTS": "10 EUR, 3 USD", "POSTWARDEN_ROI_LOOKBACK_DAYS": "2"}
    report = postwarden("roi", *WINDOW, "--format", "json", "--db", db, env=env).json()
    rows = rows_by_name(report)
    assert report["lookback_days"] == 2
    # Two days back from Nov 6 reach only Ann's click of Nov 5 (nov-b); nov-a keeps its sends
    # and its share of the month's costs: 2 of 4 sends each.
    assert rows[("email", "nov-b", "EUR")]["revenue"] == 100.0
    assert rows[("email", "nov-a", "EUR")]["revenue"] == 0.0
    assert rows[("email", "nov-a", "EUR")]["cost"] == 5.0
    assert rows[("email", "nov-a", "USD")]["cost"] == 1.5
    assert report["totals"]["EUR"]["cost"] == 10.0 and report["totals"]["EUR"]["roi"] == 9.0


def test_model_and_compare_exclude_each_other(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    result = postwarden("roi", "--compare", "--model", "linear", "--db", db)
    assert result.code == 3
    assert result.stderr.strip() == ("postwarden: error: --model and --compare exclude each other")


HEADER = "conversion_id,email,time,value,currency,type\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HEADER + "k1,nobody,2026-11-01T00:00:00Z,10,EUR,purchase\n",
         "conv.csv:2: email 'nobody' is not an e-mail address"),
        (HEADER + "k1,a@b.example,2026-11-01 10:00,10,EUR,purchase\n",
         "conv.csv:2: time '2026-11-01 10:00' has no time zone"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,ten,EUR,purchase\n",
         "conv.csv:2: value 'ten' is not a number"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,-5,EUR,purchase\n",
         "conv.csv:2: value '-5' is not an amount from 0 to 1,000,000,000,000"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,NaN,EUR,purchase\n",
         "conv.csv:2: value 'NaN' is not an amount from 0 to 1,000,000,000,000"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,1.00001,EUR,purchase\n",
         "conv.csv:2: value '1.00001' has more than four decimals"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,1,euro,purchase\n",
         "conv.csv:2: currency 'euro' is not an ISO 4217 code such as EUR"),
        (HEADER + ",a@b.example,2026-11-01T00:00:00Z,1,EUR,purchase\n",
         "conv.csv:2: conversion_id is empty"),
        (HEADER + "=cmd(),a@b.example,2026-11-01T00:00:00Z,1,EUR,purchase\n",
         "conv.csv:2: conversion_id '=cmd()' starts like a formula or holds control codes"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,1,EUR,Big Sale!\n",
         "conv.csv:2: type 'Big Sale!' is not a short lower-case name such as purchase"),
        (HEADER + "k1,a@b.example,2026-11-01T00:00:00Z,1,EUR\n",
         "conv.csv:2: fewer fields than the header"),
        ("id,email,time,value,currency\nk1,a@b.example,2026-11-01T00:00:00Z,1,EUR\n",
         "conv.csv:1: header lacks the column(s) conversion_id; "
         "expected conversion_id,email,time,value,currency,type"),
        ("", "conv.csv: empty file, expected a header line"),
    ],
)  # fmt: skip
def test_bad_conversions_are_refused_in_one_line_naming_file_line_and_field(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, "conv.csv", body)
    result = postwarden("import", "conversions", path, "--db", f"sqlite:///{tmp_path / 'pw.db'}")
    assert result.code == 3
    assert result.stderr.strip() == f"postwarden: error: {message}"


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("costs", "campaign,cost,currency\n,10,EUR\n",
         "c.csv:2: campaign is empty: a cost names a campaign or a month"),
        ("costs", "campaign,cost,currency,month\n,10,EUR,2026-13\n",
         "c.csv:2: month '2026-13' is not YYYY-MM"),
        ("costs", "campaign,cost,currency\nx,10,EUR\nx,12,EUR\n",
         "c.csv:3: the same cost is given twice"),
        ("costs", "campaign,price,currency\nx,10,EUR\n",
         "c.csv:1: header lacks the column(s) cost; expected campaign,cost,currency,month,item"),
    ],
)  # fmt: skip
def test_bad_costs_are_refused_in_one_line(
    tmp_path: Path, name: str, body: str, message: str
) -> None:
    path = write(tmp_path, "c.csv", body)
    result = postwarden("import", name, path, "--db", f"sqlite:///{tmp_path / 'pw.db'}")
    assert (result.code, result.stderr.strip()) == (3, f"postwarden: error: {message}")


def test_a_bad_touchpoint_channel_is_refused(tmp_path: Path) -> None:
    conv = write(tmp_path, "conv.csv", CONVERSIONS)
    tp = write(tmp_path, "tp.csv", "email,time,channel\na@b.example,2026-11-01T00:00:00Z,email\n")
    result = postwarden("import", "conversions", conv, "--touchpoints", tp,
                        "--db", f"sqlite:///{tmp_path / 'pw.db'}")  # fmt: skip
    assert result.stderr.strip() == (
        "postwarden: error: tp.csv:2: channel 'email' comes from the events, not touchpoints"
    )


def count(engine: Engine, table: Any) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_an_error_late_in_a_file_leaves_nothing_and_a_second_import_adds_nothing(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    rows = "".join(
        f"k{n},r{n}@example.org,2026-11-01T00:00:00Z,{n}.5,EUR,purchase\n" for n in range(6000)
    )
    bad = write(tmp_path, "conv.csv", HEADER + rows + "kx,nobody,2026-11-01T00:00:00Z,1,EUR,\n")
    result = postwarden("import", "conversions", bad, "--db", database_url)
    assert result.code == 3 and "conv.csv:6002: email 'nobody'" in result.stderr
    upgrade_database(engine)
    assert count(engine, Conversion) == 0
    good = write(tmp_path, "conv.csv", HEADER + rows + "".join(rows.splitlines(True)[:5]))
    first = postwarden("import", "conversions", good, "--db", database_url, "--format", "json")
    assert first.json() == [{"file": "conv.csv", "status": "pass", "conversions": 6000,
                             "error": None, "rows": 6005, "duplicates": 5}]  # fmt: skip
    second = postwarden("import", "conversions", good, "--db", database_url)
    assert second.stdout.strip() == (
        "conv.csv: 6005 rows, 0 conversions imported, 6005 duplicates skipped"
    )
    with session_factory(engine)() as session:
        stored = session.scalar(select(Conversion).where(Conversion.conversion_id == "k7"))
        assert stored is not None and stored.value == 75_000  # 7.5 EUR in ten-thousandths


def test_an_erased_address_stays_erased_in_conversions_and_touchpoints(
    tmp_path: Path, engine: Engine, database_url: str
) -> None:
    load(tmp_path, database_url)
    erased = postwarden(
        "contacts", "erase", "ann@example.org", "carl@example.org", "--db", database_url
    )
    assert erased.code == 0, erased.stderr
    # Imported again after the erasure: stored under the token, never as the address.
    again = write(
        tmp_path, "conv2.csv", HEADER + "k9,ann@example.org,2026-11-07T10:00:00Z,8,EUR,\n"
    )
    tp = write(
        tmp_path, "tp2.csv", "email,time,channel\ncarl@example.org,2026-11-05T00:00:00Z,blog\n"
    )
    result = postwarden("import", "conversions", again, "--touchpoints", tp, "--db", database_url)
    assert result.code == 0, result.stderr
    with session_factory(engine)() as session:
        emails = set(session.scalars(select(Conversion.email)))
        touched = set(session.scalars(select(Touchpoint.email)))
    assert "ann@example.org" not in emails and "carl@example.org" not in touched
    assert "bob@example.org" in emails
    tokens = {e for e in emails if e.startswith("erased:")}
    # Ann and Carl, each under one token, in both tables alike.
    assert len(tokens) == 2 and {t for t in touched if t.startswith("erased:")} <= tokens
    # The token is the one in the events, so the mail Ann clicked keeps its credit.
    report = postwarden("roi", *WINDOW, "--format", "json", "--db", database_url).json()
    assert rows_by_name(report)[("email", "nov-b", "EUR")]["revenue"] == 108.0
