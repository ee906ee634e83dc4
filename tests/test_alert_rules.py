"""When alerts open, escalate and resolve: the pure rules, on literal streaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.alert_rules import (
    AlertPolicy,
    CheckState,
    Decision,
    OpenAlert,
    Problem,
    decide,
    problem_keys,
)

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
POLICY = AlertPolicy(confirmations=2, cannot_check_after=timedelta(hours=6))


def state(status: str, runs: int = 1, keys: set[str] | None = None, **kwargs: object) -> CheckState:
    since = kwargs.pop("since", NOW)
    return CheckState(status, runs, since, frozenset(keys or set()), **kwargs)  # type: ignore[arg-type]


def open_alert(
    severity: str, *codes: str, problem: Problem = "degraded"
) -> dict[Problem, OpenAlert]:
    return {problem: OpenAlert(severity, frozenset(codes))}


def actions(decisions: list[Decision]) -> list[tuple[str, str, str]]:
    return [(d.action, d.problem, d.severity) for d in decisions]


def test_one_failing_run_is_not_an_incident() -> None:
    assert decide(state("fail", 1), {}, POLICY, NOW) == []


def test_it_opens_after_the_confirmations() -> None:
    assert actions(decide(state("fail", 2, {"DKIM_KEY_REVOKED"}), {}, POLICY, NOW)) == [
        ("open", "degraded", "fail")
    ]


def test_an_open_alert_is_not_opened_again() -> None:
    current = open_alert("fail", "DKIM_KEY_REVOKED")
    assert decide(state("fail", 5, {"DKIM_KEY_REVOKED"}), current, POLICY, NOW) == []


def test_it_resolves_on_the_first_good_run() -> None:
    current = open_alert("fail")
    assert actions(decide(state("pass"), current, POLICY, NOW)) == [("resolve", "degraded", "pass")]


def test_warnings_alert_only_where_configured() -> None:
    assert decide(state("warn", 3), {}, POLICY, NOW) == []
    assert actions(decide(state("warn", 3), {}, AlertPolicy(alert_on_warn=True), NOW)) == [
        ("open", "degraded", "warn")
    ]
    # the target's own option wins over the policy
    assert (
        decide(state("warn", 3, alert_on_warn=False), {}, AlertPolicy(alert_on_warn=True), NOW)
        == []
    )
    assert actions(decide(state("warn", 3, alert_on_warn=True), {}, POLICY, NOW))[0][0] == "open"


def test_a_warning_does_not_resolve_a_warning_alert_but_does_resolve_a_fail_one() -> None:
    on_warn = AlertPolicy(alert_on_warn=True)
    assert decide(state("warn", 1), open_alert("warn"), on_warn, NOW) == []
    assert actions(decide(state("warn", 1), open_alert("fail"), POLICY, NOW)) == [
        ("resolve", "degraded", "warn")
    ]


def test_it_escalates_when_it_gets_worse_after_the_confirmations() -> None:
    current = open_alert("warn", "DMARC_POLICY_NONE")
    on_warn = AlertPolicy(alert_on_warn=True)
    assert decide(state("fail", 1, {"SPF_PASS_ALL"}), current, on_warn, NOW) == []
    decisions = decide(state("fail", 2, {"SPF_PASS_ALL"}), current, on_warn, NOW)
    assert actions(decisions) == [("escalate", "degraded", "fail")]
    assert decisions[0].codes == {"SPF_PASS_ALL", "DMARC_POLICY_NONE"}


def test_a_new_listing_escalates_at_once() -> None:
    current = open_alert("fail", "DNSBL_LISTED", "listed:a.test")
    keys = {"DNSBL_LISTED", "listed:a.test", "listed:b.test"}
    assert actions(decide(state("fail", 4, keys), current, POLICY, NOW)) == [
        ("escalate", "degraded", "fail")
    ]


def test_error_never_opens_nor_resolves_a_degraded_alert() -> None:
    assert decide(state("error", 10), {}, POLICY, NOW) == []
    assert decide(state("error", 10), open_alert("fail"), POLICY, NOW) == []


def test_a_check_that_stays_error_opens_a_cannot_check_alert() -> None:
    early = state("error", 3, since=NOW - timedelta(hours=5))
    assert decide(early, {}, POLICY, NOW) == []
    late = state("error", 13, since=NOW - timedelta(hours=6))
    assert actions(decide(late, {}, POLICY, NOW)) == [("open", "cannot_check", "error")]
    stuck = open_alert("error", problem="cannot_check")
    assert decide(late, stuck, POLICY, NOW) == []
    assert actions(decide(state("fail", 1), stuck, POLICY, NOW)) == [
        ("resolve", "cannot_check", "fail")
    ]


def test_problem_keys_are_codes_and_listed_zones() -> None:
    detail = {
        "status": "fail",
        "findings": [
            {"code": "DNSBL_LISTED", "level": "fail"},
            {"code": "DKIM_SELECTORS_DISCOVERED", "level": "info"},
        ],
        "listings": [{"zone": "a.test", "listed": True}, {"zone": "b.test", "listed": False}],
        "selectors": {"s1": {"findings": [{"code": "DKIM_KEY_WEAK", "level": "warn"}]}},
    }
    assert problem_keys(detail) == {"DNSBL_LISTED", "listed:a.test", "DKIM_KEY_WEAK"}


def test_an_expiring_mx_certificate_alerts_though_warnings_do_not() -> None:
    expiring = state("warn", 2, {"STARTTLS_CERT_EXPIRING"})
    assert actions(decide(expiring, {}, POLICY, NOW)) == [("open", "degraded", "warn")]
    assert decide(state("warn", 2, {"MTA_STS_MODE_NONE"}), {}, POLICY, NOW) == []


def test_an_enforce_policy_gone_unreachable_alerts_as_error_and_resolves_when_back() -> None:
    gone = state("error", 2, {"MTA_STS_ENFORCE_UNREACHABLE"})
    assert actions(decide(gone, {}, POLICY, NOW)) == [("open", "degraded", "error")]
    current = open_alert("error", "MTA_STS_ENFORCE_UNREACHABLE")
    assert actions(decide(state("pass", 1), current, POLICY, NOW)) == [
        ("resolve", "degraded", "pass")
    ]
    # A plain undeterminable run neither opens nor resolves a failure's alert.
    assert decide(state("error", 1, {"DNS_LOOKUP_FAILED"}), open_alert("fail"), POLICY, NOW) == []
