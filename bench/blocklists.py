"""Benchmark: Postwarden's blocklist sweep against pydnsbl's bulk_check, in one run.

10,000 IP addresses against 5 zones, served by NSD (Debian's authoritative
server) on loopback: a real server that answers far faster than either
client asks, so the clients are what is measured. Each zone lists 1% of the
addresses (an A record and a TXT reason). One zone is named
``zen.spamhaus.org`` (served locally, nothing leaves the machine) and answers
another 1% with 127.255.255.255, Spamhaus's "too many queries" code, as a
list does once a sweep exceeds its free-use quota.

- **Postwarden**: ``checks.blocklists.stream_blocklists`` over the
  addresses (test points first, TXT reasons of listings, verdicts).
- **pydnsbl 1.1.7**: ``DNSBLIpChecker.bulk_check`` over the same addresses
  and zones. It takes no nameserver port, so its aiodns resolver is replaced
  by one built with the server's port (a private attribute).

Both print lookups (address x zone) per second, wire queries per second,
and their verdicts; the ratio is of lookups per second. Memory is peak RSS
of a separate process per size, so growth with the address count shows.

    apt-get install nsd && pip install -e '.[test,bench]'
    python -m bench.blocklists                      # 10,000 addresses
    python -m bench.blocklists --ips 10000 100000   # and the memory growth
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ZONES = ["bl1.bench.test", "bl2.bench.test", "bl3.bench.test", "bl4.bench.test", "zen.spamhaus.org"]
THROTTLED = "zen.spamhaus.org"


def addresses(count: int) -> Iterator[str]:
    """``count`` distinct IPv4 addresses in 10.0.0.0/8."""
    for index in range(count):
        yield str(ipaddress.IPv4Address(0x0A000000 + index * 7 + 1))


def _reverse(address: str) -> str:
    return ".".join(reversed(address.split(".")))


def zone_header(zone: str, test_point: str) -> list[str]:
    """The SOA, NS and RFC 5782 test point every benchmark blocklist zone starts with."""
    return [
        f"$ORIGIN {zone}.",
        "$TTL 300",
        "@ SOA ns hostmaster 1 3600 600 86400 60",
        "@ NS ns",
        "ns A 192.0.2.53",
        f"{test_point} A 127.0.0.2",
        f'{test_point} TXT "RFC 5782 test point"',
    ]


def write_zones(directory: Path, count: int) -> None:
    """Zone files: each zone lists every 100th address, shifted per zone."""
    for number, zone in enumerate(ZONES):
        lines = zone_header(zone, "2.0.0.127")
        for index, address in enumerate(addresses(count)):
            if index % 100 == number:
                code = "127.0.0.4" if zone == THROTTLED else "127.0.0.2"
                lines += [f"{_reverse(address)} A {code}", f'{_reverse(address)} TXT "trap hit"']
            elif zone == THROTTLED and index % 100 == 50:
                lines.append(f"{_reverse(address)} A 127.255.255.255")
        (directory / f"{zone}.zone").write_text("\n".join(lines) + "\n", encoding="utf-8")


def free_port() -> int:
    """A UDP port on loopback that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(port: int, name: str, timeout: float = 0.2) -> bool:
    """Whether a DNS server on loopback ``port`` answers a question about ``name``."""
    from checks.dns_bulk import encode_question

    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + encode_question(name, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout)
        probe.sendto(query, ("127.0.0.1", port))
        try:
            probe.recv(512)
        except (TimeoutError, ConnectionRefusedError):
            return False
        return True


def wait_until_answering(
    process: subprocess.Popen[bytes], port: int, name: str, what: str, seconds: float = 60
) -> None:
    """Wait for ``process`` to answer on ``port``; stop the benchmark if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        if answers(port, name):
            return
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{what} did not answer within {seconds:g} s")


def start_nsd(
    directory: Path, zones: Sequence[str] = ZONES, probe: str = "2.0.0.127.bl1.bench.test"
) -> tuple[subprocess.Popen[bytes], int]:
    """NSD serving ``zones`` (each from ``directory/<zone>.zone``) on a free loopback port.

    It is ready when it answers a question about ``probe``.
    """
    nsd = shutil.which("nsd") or "/usr/sbin/nsd"
    if not Path(nsd).exists():
        raise SystemExit("this benchmark needs NSD: apt-get install nsd")
    port = free_port()
    config = [
        "server:",
        f"  ip-address: 127.0.0.1@{port}",
        '  username: ""',
        '  chroot: ""',
        f"  zonesdir: {directory}",
        f"  pidfile: {directory}/nsd.pid",
        f"  zonelistfile: {directory}/zone.list",
        f"  xfrdfile: {directory}/xfrd.state",
        '  database: ""',
        "  server-count: 1",
        "  verbosity: 0",
        # NSD limits answers per client by default; the benchmark is one client.
        "  rrl-ratelimit: 0",
        "  rrl-whitelist-ratelimit: 0",
        "remote-control:",
        "  control-enable: no",
    ]
    for zone in zones:
        config += ["zone:", f"  name: {zone}", f"  zonefile: {zone}.zone"]
    (directory / "nsd.conf").write_text("\n".join(config) + "\n", encoding="utf-8")
    process = subprocess.Popen([nsd, "-d", "-c", str(directory / "nsd.conf")])
    wait_until_answering(process, port, probe, "NSD")
    return process, port


def run_postwarden(port: int, count: int) -> dict[str, float]:
    """Postwarden's sweep; verdicts are counted, not kept (memory stays flat)."""
    from checks.blocklist_catalogue import load_catalogue, select_zones
    from checks.blocklists import BlocklistPlan, stream_blocklists
    from checks.dns import DnsSettings, parse_nameserver
    from checks.dns_bulk import BulkResolver
    from checks.targets import Target

    plan = BlocklistPlan(ip_zones=select_zones(load_catalogue(), "ip", ZONES))
    settings = DnsSettings((parse_nameserver(f"127.0.0.1:{port}"),), timeout=2.0, retries=1)
    counts = {"listed": 0, "error": 0, "clear": 0, "unhealthy": 0}

    async def sweep() -> int:
        async with BulkResolver(settings) as resolver:
            targets = (Target(address, "ip") for address in addresses(count))
            async for _target, result in stream_blocklists(targets, plan, resolver):
                for listing in result.listings:
                    counts[listing.state] += 1
            return resolver.queries

    started = time.perf_counter()
    queries = asyncio.run(sweep())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "queries": queries, **counts}


def run_pydnsbl(port: int, count: int) -> dict[str, float]:
    """pydnsbl's bulk_check, pointed at the server."""
    import aiodns
    from pydnsbl import DNSBLIpChecker
    from pydnsbl.providers import Provider

    # pydnsbl takes its loop at construction but gathers on the current one;
    # both must be this fresh loop (it raises "no current event loop" in a
    # process that already ran asyncio.run()).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    checker = DNSBLIpChecker(providers=[Provider(z) for z in ZONES], timeout=2, tries=2, loop=loop)
    checker._resolver = aiodns.DNSResolver(
        nameservers=["127.0.0.1"], timeout=2, tries=2, loop=loop, udp_port=port, tcp_port=port
    )
    started = time.perf_counter()
    results = checker.bulk_check(list(addresses(count)))
    seconds = time.perf_counter() - started
    listed = sum(len(result.detected_by) for result in results)
    failed = sum(len(result.failed_providers) for result in results)
    return {
        "seconds": seconds,
        "queries": count * len(ZONES),
        "listed": listed,
        "error": failed,
        "clear": count * len(ZONES) - listed - failed,
    }


def _worker(which: str, port: int, count: int) -> None:
    run = run_postwarden if which == "postwarden" else run_pydnsbl
    outcome = run(port, count)
    outcome["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(outcome))


def measure(which: str, port: int, count: int) -> dict[str, float]:
    """Run one side in its own process, so its peak memory is its own."""
    command = [sys.executable, "-m", "bench.blocklists", "--worker", which]
    command += ["--port", str(port), "--ips", str(count)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ips", type=int, nargs="+", default=[10_000])
    parser.add_argument("--worker", choices=["postwarden", "pydnsbl"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.port, args.ips[0])
        return
    with tempfile.TemporaryDirectory(prefix="pw-bench-") as tmp:
        directory = Path(tmp)
        write_zones(directory, max(args.ips))
        nsd, port = start_nsd(directory)
        try:
            print(f"{len(ZONES)} zones on NSD (loopback); 1% listed per zone; ", end="")
            print(f"{THROTTLED} answers 1% with 127.255.255.255 (quota exceeded)")
            header = f"{'addresses':>9}  {'':10}  {'lookups/s':>9}  {'queries/s':>9}"
            print(f"{header}  {'listed':>6}  {'error':>6}  {'RSS MB':>6}")
            for count in args.ips:
                ours = measure("postwarden", port, count)
                theirs = measure("pydnsbl", port, count)
                for name, outcome in (("postwarden", ours), ("pydnsbl", theirs)):
                    lookups = count * len(ZONES) / outcome["seconds"]
                    print(
                        f"{count:>9}  {name:10}  {lookups:>9.0f}  "
                        f"{outcome['queries'] / outcome['seconds']:>9.0f}  "
                        f"{outcome['listed']:>6.0f}  {outcome['error']:>6.0f}  "
                        f"{outcome['max_rss_mb']:>6.1f}"
                    )
                ratio = theirs["seconds"] / ours["seconds"]
                wrong = theirs["listed"] - ours["listed"]
                print(
                    f"{'':>9}  ratio {ratio:.2f}x; pydnsbl reports {wrong:.0f} listings that "
                    "are the list's error code, not listings"
                )
        finally:
            nsd.terminate()
            nsd.wait(timeout=10)


if __name__ == "__main__":
    main()
