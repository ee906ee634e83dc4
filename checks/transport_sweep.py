"""The transport and brand probes of a domain, bound to one sweep's :class:`TransportPlan`."""

from __future__ import annotations

from collections.abc import Callable

from checks.bimi import check_bimi
from checks.dane import check_dane
from checks.dns import ProbeResolver
from checks.dnssec import AnchorError, Anchors, check_dnssec
from checks.mta_sts import check_mta_sts
from checks.results import CheckResult
from checks.starttls import check_starttls
from checks.targets import Target
from checks.tls_rpt import check_tls_rpt
from checks.transport import TransportPlan


def transport_probes(
    plan: TransportPlan,
) -> dict[str, Callable[[Target, ProbeResolver], CheckResult]]:
    """The probes of the transport checks, in the order they are shown."""
    return {
        "mta_sts": lambda t, r: check_mta_sts(t.name, r, plan),
        "tls_rpt": lambda t, r: check_tls_rpt(t.name, r),
        "starttls": lambda t, r: check_starttls(t.name, r, plan),
        "dnssec": lambda t, r: check_dnssec(
            t.name, r, _anchors_or_error(plan), plan.now, plan.signed_answers
        ),
        "dane": lambda t, r: check_dane(t.name, r, plan),
        "bimi": lambda t, r: check_bimi(t.name, r, plan),
    }


def _anchors_or_error(plan: TransportPlan) -> Anchors | AnchorError:
    try:
        return plan.anchors()
    except AnchorError as error:
        return error
