"""Benchmark: `postwarden check` against checkdmarc on the same DNS data, in one run.

Generates DOMAINS sending domains (SPF with `mx` and a nested include to one
of a few shared ESP records, DMARC p=reject with reports, two 2048-bit DKIM
selectors, an MX host with an address), serves them from a DNS server on
loopback in a separate process, then, for each round-trip time asked for:

1. runs the real console script, `postwarden check d0 … dN --selector s1
   --selector s2 --format json`, and checks that every domain passed;
2. runs checkdmarc's own `check_spf` + `check_dmarc` one domain after the
   other, its process cache cleared first, against the same server, and
   checks that every record was valid;

and prints domains/s and CPU time (user + sys) per domain for both, and the
ratios. Postwarden does more per domain (DKIM and MX besides SPF and DMARC),
and its figures include starting the process (its CPU and peak RSS are the
child's, from ``wait4``; checkdmarc's CPU is this process's own, from
``getrusage``). It runs with `--no-blocklists --no-transport`: the blocklists
are bench/blocklists.py's, and the transport and brand checks are measured in
a phase of their own (bench/checks_transport.py), which reports their cost per
domain against the same domains checked without them.

`--rtt-ms` delays every reply by that much, standing in for the round trip
to a domain's authoritative servers that a monitor pays on the internet;
0 measures CPU alone (both sides then spend most of it in dnspython).

Run from the repository root (it imports the test suite's key maker):

    python -m bench.checks                      # 1,000 domains at 0 and 10 ms
    python -m bench.checks --rtt-ms 30 --domains 300 --concurrency 128
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import dns.nameserver

from checks.zoneserver import ZoneServer
from tests.keys import rsa_key, txt

ORIGIN = "bench.test"
ESPS = 4


def bench_zone(domains: int) -> str:
    """Zone text for ``domains`` well-configured sending domains and their ESPs."""
    key_s1 = txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))
    key_s2 = txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))
    lines = [
        "$TTL 3600",
        "@ SOA ns hostmaster 1 3600 600 86400 300",
        "@ NS ns",
        "ns A 192.0.2.53",
    ]
    for esp in range(ESPS):
        lines += [
            f'_spf.esp{esp} TXT "v=spf1 include:_a.esp{esp}.{ORIGIN} '
            f'include:_b.esp{esp}.{ORIGIN} -all"',
            f'_a.esp{esp} TXT "v=spf1 ip4:198.51.{esp}.0/24 -all"',
            f'_b.esp{esp} TXT "v=spf1 ip4:203.0.{esp}.0/24 ip6:2001:db8:{esp}::/48 -all"',
        ]
    for i in range(domains):
        name = f"d{i}"
        lines += [
            f'{name} TXT "v=spf1 mx include:_spf.esp{i % ESPS}.{ORIGIN} -all"',
            f"{name} MX 10 mx.{name}",
            f"mx.{name} A 192.0.2.{i % 250 + 1}",
            f'_dmarc.{name} TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{name}.{ORIGIN}"',
            f"s1._domainkey.{name} TXT {key_s1}",
            f"s2._domainkey.{name} TXT {key_s2}",
        ]
    return "\n".join(lines) + "\n"


def _serve(zone_text: str, delay: float, pipe: Connection) -> None:
    with ZoneServer({f"{ORIGIN}.": zone_text}, delay=delay) as server:
        pipe.send(server.port)
        pipe.recv()  # until the parent says stop


@dataclass
class Outcome:
    seconds: float
    domains: int
    cpu_seconds: float
    # Peak RSS of the postwarden process (None for checkdmarc, run in this one).
    peak_mb: float | None = None

    @property
    def per_second(self) -> float:
        return self.domains / self.seconds

    @property
    def cpu_ms_per_domain(self) -> float:
        return 1000 * self.cpu_seconds / self.domains


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def time_postwarden(names: list[str], port: int, concurrency: int | None) -> Outcome:
    """Time the console script over every domain; every one must pass."""
    script = Path(sys.executable).with_name("postwarden")
    command = [str(script), "check", *names, "--selector", "s1", "--selector", "s2"]
    # The four checks compared; blocklists and the transport checks have benchmarks of their own.
    command += ["--nameserver", f"127.0.0.1:{port}", "--format", "json"]
    command += ["--no-blocklists", "--no-transport"]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    results = json.loads(stdout)
    failed = [r["target"] for r in results if r["status"] != "pass"]
    if child.returncode != 0 or len(results) != len(names) or failed:
        raise SystemExit(f"postwarden did not pass every domain: {failed[:5]} {stderr}")
    return Outcome(seconds, len(names), _cpu(usage), usage.ru_maxrss / 1024)


def time_checkdmarc(names: list[str], port: int) -> Outcome:
    """Time checkdmarc's check_spf + check_dmarc, one domain after the other."""
    import checkdmarc.dmarc
    import checkdmarc.spf
    import checkdmarc.utils

    checkdmarc.utils.DNS_CACHE.clear()
    nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
    started = time.perf_counter()
    cpu_before = _cpu(resource.getrusage(resource.RUSAGE_SELF))
    for name in names:
        spf = checkdmarc.spf.check_spf(name, nameservers=nameservers)
        dmarc = checkdmarc.dmarc.check_dmarc(name, nameservers=nameservers)
        if not (spf["valid"] and dmarc["valid"]):
            raise SystemExit(f"checkdmarc found {name} invalid: {spf} {dmarc}")
    cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - cpu_before
    return Outcome(time.perf_counter() - started, len(names), cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[0.0, 10.0])
    parser.add_argument("--concurrency", type=int, help="postwarden --concurrency")
    parser.add_argument(
        "--transport-domains",
        type=int,
        default=200,
        help="domains of the transport phase (MTA-STS … BIMI); 0 skips it",
    )
    args = parser.parse_args()

    names = [f"d{i}.{ORIGIN}" for i in range(args.domains)]
    zone_text = bench_zone(args.domains)
    print(f"{args.domains} domains; SPF with mx + nested ESP include, DMARC, 2 DKIM, MX")
    print(
        f"{'rtt':>6}  {'postwarden':>16}  {'CPU':>12}  {'checkdmarc':>16}  {'CPU':>12}"
        f"  {'ratio':>6}  {'CPU ratio':>9}"
    )
    context = multiprocessing.get_context("spawn")
    for rtt in args.rtt_ms:
        parent, child = context.Pipe()
        server = context.Process(target=_serve, args=(zone_text, rtt / 1000, child), daemon=True)
        server.start()
        try:
            port = parent.recv()
            ours = time_postwarden(names, port, args.concurrency)
            theirs = time_checkdmarc(names, port)
        finally:
            parent.send("stop")
            server.join(timeout=10)
        print(
            f"{rtt:>4g}ms  {ours.per_second:>10.1f} dom/s  {ours.cpu_ms_per_domain:>6.2f} ms/dom"
            f"  {theirs.per_second:>10.1f} dom/s  {theirs.cpu_ms_per_domain:>6.2f} ms/dom"
            f"  {ours.per_second / theirs.per_second:>5.1f}x"
            f"  {ours.cpu_ms_per_domain / theirs.cpu_ms_per_domain:>8.2f}x"
            f"  postwarden peak RSS {ours.peak_mb:.0f} MB",
            flush=True,
        )
    if args.transport_domains:
        from bench.checks_transport import run_transport_phase

        run_transport_phase(args.transport_domains, args.rtt_ms, args.concurrency)


if __name__ == "__main__":
    main()
