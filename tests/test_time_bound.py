"""`--timeout` bounds the whole check of a target, not only one query.

A monitoring plugin that runs ``postwarden check DOMAIN --timeout T`` must get
its answer within a time that follows from ``T`` and ``retries``, even when
every lookup the domain leads to is dropped and another process keeps the CPU
busy; and that answer is ``error``, never ``fail``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from checks.dns import DnsError, DnsSettings, DnsSweep, parse_nameserver
from checks.zoneserver import ZoneServer
from tests.conftest import CliResult, postwarden, zone
from tests.keys import rsa_key, txt

TIMEOUT = 2.0
RETRIES = 1
LIFETIME = TIMEOUT * (RETRIES + 1)
BUDGET = 2 * LIFETIME
# Printing the answer and leaving; generous, the machine is shared.
MARGIN = 2.0


@pytest.fixture
def busy_cpu() -> Iterator[None]:
    """A second process spinning on the CPU for as long as the test runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


@pytest.fixture
def dropping(dns_server: ZoneServer) -> ZoneServer:
    hosts = "\n".join(f"slow MX {10 * n} mx{n}.dead.test." for n in range(1, 6))
    dns_server.set_zone(
        "example.test.",
        zone(
            f"""
slow                TXT "v=spf1 include:_spf.dead.test -all"
{hosts}
_dmarc.slow         TXT "v=DMARC1; p=reject; rua=mailto:d@slow.example.test"
s1._domainkey.slow  TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
healthy             TXT "v=spf1 -all"
healthy             MX  0 .
_dmarc.healthy      TXT "v=DMARC1; p=reject; rua=mailto:d@healthy.example.test"
s1._domainkey.healthy TXT {txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))}
"""
        ),
    )
    dns_server.set_zone("bl.example.test.", zone("2.0.0.127 A 127.0.0.2"))
    # Every name under these is dropped: the include, the MX hosts, a whole
    # domain, and a domain blocklist.
    for name in ("dead.test", "gone.example.test", "dbl.dead.test"):
        dns_server.set_fault(name, "timeout")
    return dns_server


def timed_check(server: ZoneServer, domain: str) -> tuple[float, CliResult]:
    started = time.monotonic()
    result = postwarden(
        "check",
        domain,
        "--selector",
        "s1",
        "--nameserver",
        server.nameserver,
        "--timeout",
        str(TIMEOUT),
        "--retries",
        str(RETRIES),
        "--zone",
        "bl.example.test",
        "--domain-zone",
        "dbl.dead.test",
        "--format",
        "json",
    )
    return time.monotonic() - started, result


def test_a_check_whose_lookups_are_dropped_answers_error_within_its_bound(
    dropping: ZoneServer, busy_cpu: None
) -> None:
    # The same command on a domain that answers at once: start-up under the
    # same load, which the bound allows for when it exceeds a budget.
    baseline, healthy = timed_check(dropping, "healthy.example.test")
    assert healthy.json()[0]["checks"]["spf"]["status"] == "pass", healthy.stderr
    bound = max(BUDGET, baseline + LIFETIME) + MARGIN
    for domain in ("slow.example.test", "gone.example.test"):
        elapsed, result = timed_check(dropping, domain)
        assert elapsed < bound, (domain, elapsed, bound, baseline)
        [target] = result.json()
        assert result.code == 3, result.stdout
        assert target["status"] == "error"
        statuses = {name: check["status"] for name, check in target["checks"].items()}
        assert "fail" not in statuses.values(), statuses
        assert statuses["spf"] == "error"
        assert statuses["mx"] == "error"
    # Without a bound, the five MX hosts alone cost a lifetime each.
    assert bound - baseline < 5 * LIFETIME


def test_a_lookup_past_the_targets_deadline_is_not_asked(dns_server: ZoneServer) -> None:
    dns_server.set_fault("dead.test", "timeout")
    settings = DnsSettings((parse_nameserver(dns_server.nameserver),), timeout=0.3, retries=1)
    sweep = DnsSweep(settings)
    resolver = sweep.resolver(time.monotonic() + 0.45)
    with pytest.raises(DnsError, match=r"a\.dead\.test A: timeout"):
        resolver.lookup("a.dead.test", "A")
    with pytest.raises(DnsError, match="ran out of time"):
        resolver.lookup("b.dead.test", "A")
    assert ("b.dead.test.", "A") not in dns_server.log
    # Cut short by one target's budget, the lookup is not a failure of the
    # name for the next target, which asks again with its own budget.
    asked = dns_server.log[("a.dead.test.", "A")]
    fresh = sweep.resolver(time.monotonic() + 10)
    with pytest.raises(DnsError, match=r"a\.dead\.test A: timeout"):
        fresh.lookup("a.dead.test", "A")
    assert dns_server.log[("a.dead.test.", "A")] > asked


def test_the_budget_is_two_lookup_lifetimes() -> None:
    settings = DnsSettings(timeout=1.5, retries=2)
    assert settings.lookup_lifetime == 4.5
    assert settings.target_budget == 9.0
