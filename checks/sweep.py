"""Run the checks of many targets concurrently over one shared DNS sweep."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from checks.blocklists import BlocklistPlan, check_blocklists
from checks.dkim import check_dkim
from checks.dmarc import check_dmarc
from checks.dns import DnsSweep, ProbeResolver
from checks.dns_exchange import UdpSockets
from checks.dns_settings import DEFAULT_CONCURRENCY, DnsSettings
from checks.findings import finding
from checks.mx import check_mx
from checks.ptr import check_ptr
from checks.results import BlocklistResult, CheckResult, TargetResult
from checks.spf import check_spf
from checks.targets import Target

if TYPE_CHECKING:
    from checks.transport import TransportPlan

logger = logging.getLogger(__name__)

Probe = Callable[[Target, ProbeResolver], CheckResult]

# The checks each kind of target gets, in the order they are shown.
DOMAIN_CHECKS: dict[str, Probe] = {
    "spf": lambda t, r: check_spf(t.name, r),
    "dmarc": lambda t, r: check_dmarc(t.name, r),
    "dkim": lambda t, r: check_dkim(t.name, t.selectors, r, t.reported_selectors),
    "mx": lambda t, r: check_mx(t.name, r),
}
IP_CHECKS: dict[str, Probe] = {
    "ptr": lambda t, r: check_ptr(t.name, r),
}


def checks_for(
    target: Target, transport: TransportPlan | None = None, *, authentication: bool = True
) -> dict[str, Probe]:
    """The probes that apply to ``target`` (with ``transport``, a domain's transport checks
    too; without ``authentication``, a domain's transport checks alone)."""
    if target.kind != "domain":
        return IP_CHECKS
    if transport is None:
        return DOMAIN_CHECKS
    # Imported here: certificates, DNSSEC and SVG parsing are not paid for by runs without them.
    from checks.transport_sweep import transport_probes

    if not authentication:
        return transport_probes(transport)
    return {**DOMAIN_CHECKS, **transport_probes(transport)}


def _run_probe(
    name: str,
    probe: Probe,
    target: Target,
    sweep: DnsSweep,
    deadline: float,
    sockets: UdpSockets,
) -> CheckResult:
    try:
        return probe(target, sweep.resolver(deadline, sockets))
    except Exception as error:  # a library bug must not sink the whole sweep
        logger.exception("check %s of %s raised", name, target.name)
        return CheckResult(
            findings=(
                finding(
                    "CHECK_INTERNAL_ERROR",
                    f"The {name} check of {target.name} raised {type(error).__name__}: {error}",
                ),
            )
        )


def check_targets(
    targets: Sequence[Target],
    settings: DnsSettings | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    sweep: DnsSweep | None = None,
    blocklists: BlocklistPlan | None = None,
    transport: TransportPlan | None = None,
    authentication: bool = True,
    started: float | None = None,
) -> list[TargetResult]:
    """Check every target; all probes of all targets run concurrently.

    Every probe shares ``sweep`` (a new one when not given): one cache, one
    set of in-flight lookups, one memory of failed names. The probes of a
    target share its DNS time budget (``DnsSettings.target_budget``),
    counted from when its first probe starts; for the first target, from
    ``started`` (a ``time.monotonic()`` value: the CLI passes its process's
    start, so start-up counts against the budget) but never leaving it less
    than one lookup's lifetime. With a
    ``blocklists`` plan, every target also gets a ``blocklists`` check, run
    on the asyncio side of the DNS seam while the probes run in threads.
    With a ``transport`` plan, domains also get the transport and brand
    checks (MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE, BIMI); without
    ``authentication`` they get those alone (the transport sweep, whose
    authentication checks the authentication sweep runs).
    """
    sweep = sweep or DnsSweep(settings)
    jobs = [
        (target, name, probe)
        for target in targets
        for name, probe in checks_for(target, transport, authentication=authentication).items()
    ]
    outcomes: list[CheckResult | None] = [None] * len(jobs)
    taken = iter(range(len(jobs)))
    taking = threading.Lock()
    budget = sweep.settings.target_budget
    # The jobs of a target are next to each other, so its budget starts
    # when the first of them is taken.
    started_at: list[tuple[Target | None, float]] = [(None, 0.0)]
    first_deadline = None if started is None else started + budget
    lifetime = sweep.settings.lookup_lifetime

    def work() -> None:
        # The thread's sockets, reused by the probes it runs one after the other.
        sockets = UdpSockets()
        try:
            _work(sockets)
        finally:
            sockets.close()

    def _work(sockets: UdpSockets) -> None:
        while True:
            with taking:
                index = next(taken, None)
                if index is None:
                    return
                target, name, probe = jobs[index]
                if started_at[0][0] is not target:
                    now = time.monotonic()
                    deadline = now + budget
                    if index == 0 and first_deadline is not None:
                        deadline = max(first_deadline, now + lifetime)
                    started_at[0] = (target, deadline)
                deadline = started_at[0][1]
            outcomes[index] = _run_probe(name, probe, target, sweep, deadline, sockets)

    listed: dict[str, BlocklistResult] = {}
    workers = max(1, min(concurrency, len(jobs)))
    # One task per worker thread, each taking the next probe when done, not
    # one task per probe: a Future weighs 1.6 KB, and with every probe
    # submitted at once a sweep held one per check of every target to its end.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        running = [pool.submit(work) for _ in range(workers)]
        if blocklists is not None:
            listed = check_blocklists(targets, blocklists, sweep.settings)
        for worker in running:
            worker.result()
    by_target: dict[int, dict[str, CheckResult]] = {}
    for (target, name, _probe), outcome in zip(jobs, outcomes, strict=True):
        assert outcome is not None  # every worker ran until no probe was left
        by_target.setdefault(id(target), {})[name] = outcome
    for target in targets:
        if target.name in listed:
            by_target.setdefault(id(target), {})["blocklists"] = listed[target.name]
    return [TargetResult(t.name, t.kind, by_target.get(id(t), {})) for t in targets]
