"""The postmaster's pages through Flask's test client: the domain page's summary, order,
fixes and SPF include tree; pending targets and the provider cards' chips; audited
messages linked to their findings; blocklist lines; acknowledging an alert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from checks.blocklists import listed_finding, readable_time
from checks.findings import Finding, finding, name_the_record
from checks.results import (
    DkimResult,
    DkimSelectorResult,
    DmarcResult,
    Listing,
    SpfInclude,
    SpfResult,
    TargetResult,
)
from compliance.messages.results import DkimCheck, MessageAuditResult, OneClickCheck
from compliance.rates.limit_profiles import load_profiles
from compliance.rates.requirements import Verdict, provider_card
from compliance.rates.results import MetricResult, ProfileResult
from monitor.dashboard_data import check_verdicts
from monitor.history import record_run
from monitor.message_audits import AuditedMessage, save_audits
from monitor.targets import add_domain
from store.engine import open_database, session_factory
from store.messages import MessageAudit
from store.models import ListingState
from store.scheduling import APSCHEDULER_JOBS
from tests.test_web import csrf_of, logged_in, populated_app

CHECKED = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
NEXT_SWEEP = datetime(2026, 12, 7, 7, 15, tzinfo=UTC)
TREE = SpfInclude("broken.example", "v=spf1 include:esp.example mx -all", 2, 11, (
    SpfInclude("esp.example", "v=spf1 include:a.esp.example a mx ptr -all", 4, 9, (
        SpfInclude("a.esp.example", "v=spf1 a mx exists:x.example a:b.example a:c.example -all",
                   5, 5),
    )),
))  # fmt: skip
ONE_CLICK_FIX = "Add List-Unsubscribe-Post: List-Unsubscribe=One-Click and sign it with DKIM."


def postmaster_world(_: Path, url: str) -> None:
    """broken.example checked again: SPF over the limit, DKIM s1 missing, DMARC p=none;
    new.example never checked; a sweep scheduled; a listing; two audited messages."""
    engine = open_database(url)
    with session_factory(engine)() as session:
        missing = finding("DKIM_SELECTOR_MISSING", "No DKIM key record at s1._domainkey.")
        record_run(session, [TargetResult("broken.example", "domain", {
            "spf": SpfResult(findings=(finding("SPF_TOO_MANY_LOOKUPS", "11 lookups."),),
                             record=TREE.record, dns_lookups=11, include_tree=TREE),
            "dkim": DkimResult(selectors={"s1": DkimSelectorResult(findings=(missing,))}),
            "dmarc": DmarcResult(findings=(finding("DMARC_POLICY_NONE", "p=none."),),
                                 record="v=DMARC1; p=none", policy="none"),
        })], started_at=CHECKED, finished_at=CHECKED)  # fmt: skip
        add_domain(session, "new.example", CHECKED)
        job = {"id": "auth_sweep", "next_run_time": NEXT_SWEEP.timestamp(), "job_state": b"x"}
        session.execute(APSCHEDULER_JOBS.insert().values(**job))
        for zone, state in (("dbl.example", "listed"), ("other.example", "clear"),
                            ("broken-zone.example", "error")):  # fmt: skip
            session.add(ListingState(
                target="broken.example", zone=zone, name=zone, state=state,
                listed=state == "listed", codes=[], meanings=[], reason=None, impact="high",
                delist_url=None, since=datetime(2026, 12, 7, 6, 15, tzinfo=UTC), checked_at=CHECKED,
            ))  # fmt: skip
        one_click = Finding("ONE_CLICK_MISSING", "fail", "No List-Unsubscribe-Post header.",
                            ONE_CLICK_FIX)  # fmt: skip
        winter = MessageAuditResult(
            {"one_click": OneClickCheck((one_click,)), "dkim": DkimCheck()}, subject="Winter sale"
        )
        save_audits(session, [AuditedMessage("winter.eml", winter)], CHECKED)
        # A row stored before the findings were kept: codes only.
        session.add(MessageAudit(audited_at=CHECKED, source="old.eml", subject="Autumn",
                                 status="warn", checks={"body_unsubscribe": "pass"},
                                 findings=["POSTAL_ADDRESS_MISSING"]))  # fmt: skip
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    yield from populated_app(tmp_path_factory.mktemp("postmaster"), postmaster_world)


def test_the_domain_page_opens_with_status_check_times_and_failing_checks_first(
    app: Flask,
) -> None:
    page = logged_in(app, "postmaster").get("/domains/broken.example").get_data(as_text=True)
    summary = re.sub(r"\s+", " ", re.search(r'id="target-status">(.*?)</p>', page, re.S).group(1))  # type: ignore[union-attr]
    assert ">FAIL</span>" in summary
    assert "last checked 2026-12-07 06:30 UTC · next check 2026-12-07 07:15 UTC" in summary
    order = [page.index(f'id="check-{check}"') for check in ("dkim", "spf", "dmarc")]
    assert order == sorted(order)  # the failing ones (by name) before the warning


def test_fixes_name_the_real_record(app: Flask) -> None:
    page = logged_in(app, "postmaster").get("/domains/broken.example").get_data(as_text=True)
    assert "TXT at s1._domainkey.broken.example" in page
    assert "&lt;selector&gt;" not in page and "&lt;domain&gt;" not in page
    assert name_the_record("at <selector>._domainkey.<domain>", "a.example", "k1") == (
        "at k1._domainkey.a.example"
    )
    assert name_the_record("at _dmarc.<domain>", None) == "at _dmarc.<domain>"  # an IP: as it is


def test_spf_over_the_limit_shows_each_includes_lookup_cost(app: Flask) -> None:
    page = logged_in(app, "postmaster").get("/domains/broken.example").get_data(as_text=True)
    tree = page[page.index("Where the lookups go") :]
    text = re.sub(r"<[^>]+>", "", tree)
    assert "11 DNS lookups of 10 allowed" in re.sub(r"<[^>]+>", "", page)
    assert "broken.example: 11 lookups (2 in its own record)" in text
    assert "esp.example: 9 lookups (4 in its own record)" in text
    assert "a.esp.example: 5 lookups" in text
    # nested: a.esp.example's line is inside esp.example's list
    assert text.index("esp.example: 9") < text.index("a.esp.example: 5")


def test_a_domain_never_checked_is_pending_with_the_next_sweep(app: Flask) -> None:
    page = logged_in(app, "postmaster").get("/domains/new.example").get_data(as_text=True)
    assert "pending (next sweep at 07:15 UTC)" in page
    assert "last checked never" in page and "ERROR" not in page


def requirement_chips(page: str, card: str) -> dict[str, str]:
    body = re.search(rf'id="requirements-{card}">(.*?)</div>', page, re.S).group(1)  # type: ignore[union-attr]
    return dict(
        re.findall(r'data-requirement="(\w+)"><span class="status \w+">([^<]+)</span>', body)
    )


def test_provider_cards_say_pending_no_data_and_not_judged_and_pnone_meets_dmarc(
    app: Flask,
) -> None:
    chips = requirement_chips(logged_in(app, "postmaster").get("/").get_data(as_text=True),
                              "gmail")  # fmt: skip
    assert chips["dmarc"] == "PASS"  # p=none meets "DMARC (p=none at least)"
    assert chips["tls"] == "no data" and chips["rates"] == "not judged"
    assert chips["spf"] == "FAIL" and chips["dkim"] == "FAIL"


def test_a_requirement_without_data_does_not_count_against_the_card() -> None:
    gmail = load_profiles(None)["gmail"]
    evidence = {name: Verdict("pass", "all good") for name in gmail.requirements}
    del evidence["tls"]  # Postwarden cannot see it: "no data"
    judged = ProfileResult(
        "pass", "gmail", "Gmail", "mailbox-provider", True,
        {"complaint_rate": MetricResult(0.0, 0.001, 0.003, "pass")}, (), (), delivered=500,
    )  # fmt: skip
    card = provider_card(gmail, evidence, judged)
    tls = next(item for item in card.items if item.name == "tls")
    assert (tls.status, tls.chip) == ("error", "no data")  # JSON status kept, word shown
    assert card.status == "pass"


def test_with_no_target_checked_yet_each_check_is_pending(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'pw.db'}")
    with session_factory(engine)() as session:
        add_domain(session, "new.example", CHECKED)
        verdicts = check_verdicts(session, sweep_at=NEXT_SWEEP)
    engine.dispose()
    assert verdicts["spf"] == Verdict(
        "error", "1 of 1 domains pending (not checked yet); next sweep at 07:15 UTC", "pending"
    )
    assert verdicts["ptr"] == Verdict("error", "no IPs monitored")  # nothing to wait for


def test_the_messages_page_links_each_message_to_what_to_fix(app: Flask) -> None:
    browser = logged_in(app, "compliance")
    listing = browser.get("/messages").get_data(as_text=True)
    subjects = re.findall(r'<a href="(/messages/\d+)">([^<]+)</a>', listing)
    links = {path: subject for path, subject in subjects if subject != "what to fix"}
    assert set(links.values()) == {"Winter sale", "Autumn"}
    assert listing.count(">what to fix</a>") == 2  # both need work
    winter = next(path for path, subject in links.items() if subject == "Winter sale")
    assert f'href="{winter}#check-one_click"' in listing
    detail = browser.get(winter).get_data(as_text=True)
    assert "No List-Unsubscribe-Post header." in detail and f"Fix: {ONE_CLICK_FIX}" in detail
    autumn = next(path for path, subject in links.items() if subject == "Autumn")
    old = browser.get(autumn).get_data(as_text=True)
    assert "POSTAL_ADDRESS_MISSING" in old and "Fix: " in old  # the catalogue's fix
    assert browser.get("/messages/999999").status_code == 404


def test_the_overview_says_on_how_many_lists_and_since_when(app: Flask) -> None:
    page = logged_in(app, "compliance").get("/").get_data(as_text=True)
    card = re.search(r'id="blocklists-card">(.*?)</div>', page, re.S).group(1)  # type: ignore[union-attr]
    # The zone that could not answer is not one of the lists that judged.
    assert "listed on 1 of 2 lists since 2026-12-07 06:15 UTC" in card
    assert "dbl.example" in card and "other.example" not in card


def test_acknowledging_says_so_keeps_the_filter_and_shows_who_and_when(app: Flask) -> None:
    browser = logged_in(app, "postmaster")
    page = browser.get("/alerts?state=open").get_data(as_text=True)
    alert_id = re.search(r"/alerts/(\d+)/acknowledge", page).group(1)  # type: ignore[union-attr]
    back = re.search(r'name="back" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = browser.post(f"/alerts/{alert_id}/acknowledge",
                        data={"csrf_token": csrf_of(page), "back": back})  # fmt: skip
    assert done.headers["Location"] == "/alerts?state=open"
    after = browser.get(done.headers["Location"]).get_data(as_text=True)
    assert "Acknowledged the dmarc alert on broken.example." in after
    assert re.search(r"acknowledged by postmaster on \d{4}-\d\d-\d\d \d\d:\d\d UTC", after)


def test_times_in_findings_read_without_microseconds() -> None:
    assert readable_time("2026-12-07T06:15:42.123456+00:00") == "2026-12-07 06:15 UTC"
    assert readable_time("2026-12-07T07:15:00+01:00") == "2026-12-07 06:15 UTC"
    assert readable_time("yesterday") == "yesterday"
    listing = Listing("dbl.example", "dbl.example", True, meanings=("spam source",),
                      state="listed", cached_at="2026-12-07T06:15:42.123456+00:00")  # fmt: skip
    assert "(as checked at 2026-12-07 06:15 UTC;" in listed_finding(listing, "a.example").message


def test_the_overview_counts_a_target_never_checked_as_pending_not_error(app: Flask) -> None:
    page = logged_in(app, "compliance").get("/").get_data(as_text=True)
    counts = re.search(r"<h2>Targets</h2>\s*<p>(.*?)</p>", page, re.S).group(1)  # type: ignore[union-attr]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", counts))
    assert text.startswith("FAIL 1 ERROR 0 WARN 0 PASS 1 pending 1 ")
