"""Benchmark: how many domains and IPs one worker sweeps per hour, through a recursive resolver.

The authoritative data is served by NSD on loopback: ``bench.checks``'s
20,000 sending domains (SPF with ``mx`` and nested ESP includes, DMARC,
DKIM selectors s1 and s2, MX with an address), a reverse zone with a
forward-confirmed PTR for each of 2,000 sending IPs, two IP blocklists that
list 1% of the IPs each and one domain blocklist that lists 0.1% of the
domains. Debian's unbound runs in front of it as the recursive resolver
(stub zones to NSD), on another loopback port, as a worker's resolver would.

The targets go into a fresh SQLite database through ``monitor.targets``
(one transaction), and the worker's own jobs run against it with
``[dns] nameservers`` set to unbound and the bench zones as the blocklists
(unthrottled): ``monitor.jobs.sweep_authentication`` and
``monitor.jobs.sweep_blocklists``, each timed whole (DNS, recording the
results, alerts), first with unbound's cache cold (what a fresh sweep
faces), then again warm, dated one schedule interval later. Every domain and
IP must pass its authentication checks and exactly the listed ones must be
listed: a sweep that is not as the data says is marked NOT VALID with what
went wrong, and the benchmark exits non-zero. Per sweep it prints wall and
CPU seconds, the DNS part's seconds, targets per hour, from
``unbound-control stats`` its queries per second, share of cache misses,
median time to resolve a miss and SERVFAIL answers, the queries the kernel
dropped at unbound's and NSD's sockets (receive buffer full), the RSS at
the job's start (what earlier jobs left) and the peak RSS of the DNS part
and of the whole job.

The peer, in the same run through the same (flushed) unbound: checkdmarc's
``check_spf`` + ``check_dmarc`` over a sample of the domains, one after the
other, as ``bench.checks`` drives it.

    apt-get install nsd unbound
    python -m bench.capacity                          # 20,000 domains, 2,000 IPs
    python -m bench.capacity --concurrency 64 16 256  # and more [dns] concurrency values
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.blocklists import free_port, start_nsd, wait_until_answering, zone_header
from bench.checks import ORIGIN, bench_zone, time_checkdmarc

REVERSE_ZONE = "18.198.in-addr.arpa"  # 198.18.0.0/16, RFC 2544's benchmarking range
IP_BLOCKLISTS = ("bl1.capacity.test", "bl2.capacity.test")
DOMAIN_BLOCKLISTS = ("dbl.capacity.test",)
SELECTORS = ("s1", "s2")


def sending_ips(count: int) -> list[str]:
    """``count`` addresses in 198.18.0.0/16."""
    if count > 250 * 256:
        raise SystemExit("at most 64,000 sending IPs")
    return [f"198.18.{index // 250}.{index % 250 + 1}" for index in range(count)]


def domain_names(count: int) -> list[str]:
    return [f"d{index}.{ORIGIN}" for index in range(count)]


def _reverse(address: str) -> str:
    return ".".join(reversed(address.split(".")))


def listed_ips(ips: Sequence[str]) -> dict[str, set[str]]:
    """Which IPs each IP blocklist lists: 1% each, different ones."""
    return {zone: set(ips[n::100]) for n, zone in enumerate(IP_BLOCKLISTS)}


def listed_domains(domains: Sequence[str]) -> dict[str, set[str]]:
    """Which domains each domain blocklist lists: 0.1%."""
    return {zone: set(domains[7::1000]) for zone in DOMAIN_BLOCKLISTS}


def _blocklist_zone(zone: str, test_point: str, listed: set[str]) -> str:
    lines = zone_header(zone, test_point)
    for name in sorted(listed):
        lines += [f"{name} A 127.0.0.2", f'{name} TXT "capacity bench: trap hit"']
    return "\n".join(lines) + "\n"


def write_zones(directory: Path, domains: int, ips: Sequence[str]) -> list[str]:
    """The zone files NSD serves; returns the zone names."""
    forward = [f"mail{index}.ips A {address}" for index, address in enumerate(ips)]
    zones = {ORIGIN: bench_zone(domains) + "\n".join(forward) + "\n"}
    reverse = [
        f"$ORIGIN {REVERSE_ZONE}.",
        "$TTL 3600",
        "@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300",
        "@ NS ns.bench.test.",
    ]
    reverse += [
        f"{_reverse(address).removesuffix('.18.198')} PTR mail{index}.ips.{ORIGIN}."
        for index, address in enumerate(ips)
    ]
    zones[REVERSE_ZONE] = "\n".join(reverse) + "\n"
    for zone, listed in listed_ips(ips).items():
        zones[zone] = _blocklist_zone(zone, "2.0.0.127", {_reverse(ip) for ip in listed})
    for zone, listed in listed_domains(domain_names(domains)).items():
        # Relative names: d7.bench.test is listed as d7.bench.test.dbl.capacity.test.
        zones[zone] = _blocklist_zone(zone, "test", listed)
    for zone, text in zones.items():
        (directory / f"{zone}.zone").write_text(text, encoding="utf-8")
    return list(zones)


@dataclass
class Unbound:
    """Debian's unbound on loopback, recursing to NSD through stub zones."""

    process: subprocess.Popen[bytes]
    port: int
    config: Path
    nsd_port: int

    def control(self, *command: str) -> str:
        done = subprocess.run(
            ["unbound-control", "-c", str(self.config), *command],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"unbound-control {' '.join(command)}: {done.stderr or done.stdout}")
        return done.stdout

    def stats(self) -> dict[str, float]:
        """Counters since the last call (``stats`` resets them)."""
        values: dict[str, float] = {}
        for line in self.control("stats").splitlines():
            key, _, value = line.partition("=")
            with contextlib.suppress(ValueError):
                values[key] = float(value)
        return values

    def flush(self) -> None:
        """A cold cache: ``reload`` drops every cached answer and the counters."""
        self.control("reload")
        wait_until_answering(self.process, self.port, f"{ORIGIN}", "unbound")
        self.stats()

    def peak_rss_mb(self) -> float:
        return memory_mb("VmHWM", self.process.pid)

    def drops(self) -> tuple[int, int]:
        """Queries the kernel has dropped so far at unbound's and at NSD's sockets."""
        return udp_drops(self.port), udp_drops(self.nsd_port)


def udp_drops(port: int) -> int:
    """Datagrams dropped at the loopback UDP sockets bound to ``port`` (receive buffer full).

    A query dropped there is answered late or never: the client (or, in
    front of NSD, unbound) only learns of it by its timeout.
    """
    dropped = 0
    for line in Path("/proc/net/udp").read_text(encoding="ascii").splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rpartition(":")[2], 16) == port:
            dropped += int(fields[-1])
    return dropped


def memory_mb(which: str = "VmRSS", pid: int | str = "self") -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    for line in status.splitlines():
        if line.startswith(f"{which}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_memory() -> None:
    """Start ``VmHWM`` of this process again from its current RSS (Linux 4.0+)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def start_unbound(directory: Path, nsd_port: int, zones: Sequence[str]) -> Unbound:
    """unbound on a free loopback port, every zone a stub zone pointing to NSD."""
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    if not Path(binary).exists() or not shutil.which("unbound-control"):
        raise SystemExit("this benchmark needs unbound: apt-get install unbound")
    port = free_port()
    config = [
        "server:",
        f"  interface: 127.0.0.1@{port}",
        "  do-ip6: no",
        # NSD is on loopback, which unbound refuses to ask by default.
        "  do-not-query-localhost: no",
        "  access-control: 127.0.0.0/8 allow",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{directory}"',
        f'  pidfile: "{directory}/unbound.pid"',
        "  use-syslog: no",
        '  logfile: ""',
        "  verbosity: 0",
        "  num-threads: 2",
        # Large enough that nothing of a 20,000-domain sweep is evicted.
        "  msg-cache-size: 256m",
        "  rrset-cache-size: 512m",
        "  extended-statistics: yes",
        # unbound answers names under .test itself (RFC 6761) unless told not to.
        '  local-zone: "test." nodefault',
        "remote-control:",
        "  control-enable: yes",
        f'  control-interface: "{directory}/unbound.ctl"',
    ]
    for zone in zones:
        config += ["stub-zone:", f'  name: "{zone}"', f"  stub-addr: 127.0.0.1@{nsd_port}"]
    path = directory / "unbound.conf"
    path.write_text("\n".join(config) + "\n", encoding="utf-8")
    checked = subprocess.run(
        ["unbound-checkconf", str(path)], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        raise SystemExit(f"unbound-checkconf: {checked.stdout}{checked.stderr}")
    process = subprocess.Popen([binary, "-d", "-c", str(path)])
    wait_until_answering(process, port, ORIGIN, "unbound")
    return Unbound(process, port, path, nsd_port)


def add_targets(url: str, domains: Sequence[str], ips: Sequence[str]) -> float:
    """Every domain (selectors s1, s2) and IP, through ``monitor.targets``, one transaction."""
    from monitor.targets import add_domain, add_ip
    from store.engine import open_database, session_factory

    engine = open_database(url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with session_factory(engine)() as session:
        for name in domains:
            add_domain(session, name, now, selectors=SELECTORS)
        for address in ips:
            add_ip(session, address, now)
        session.commit()
    engine.dispose()
    return time.perf_counter() - started


@dataclass
class Timed:
    """Wall time spent inside the wrapped function, and peak memory when it returned."""

    seconds: float = 0.0
    peak_mb: float = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.peak_mb = memory_mb("VmHWM")

        return timed


@contextlib.contextmanager
def dns_timer(name: str) -> Iterator[Timed]:
    """Time the DNS part of a job: ``monitor.jobs.<name>``, wrapped, not replaced."""
    import monitor.jobs

    timed = Timed()
    original = getattr(monitor.jobs, name)
    setattr(monitor.jobs, name, timed.wrap(original))
    try:
        yield timed
    finally:
        setattr(monitor.jobs, name, original)


@dataclass
class SweepFigure:
    job: str
    cache: str
    concurrency: int
    domains: int
    ips: int
    seconds: float
    dns_seconds: float
    cpu_seconds: float
    outcome: str
    # Resident when the job began (what earlier jobs left), then the peaks.
    start_mb: float = 0.0
    dns_peak_mb: float = 0.0
    peak_mb: float = 0.0
    resolver: dict[str, float] = field(default_factory=dict)
    # Queries dropped at unbound's and NSD's sockets during the job.
    drops: tuple[int, int] = (0, 0)

    @property
    def targets(self) -> int:
        return self.domains + self.ips

    def per_hour(self, count: int) -> float:
        return count * 3600 / self.seconds


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Clock:
    """The times the scheduler would run each job at: every run one interval after the last.

    A blocklist sweep reuses verdicts younger than ``[blocklists] recheck_minutes``
    (60) and a sweep scheduled one interval later asks again, so the warm
    run is dated one interval after the cold one, as the schedule would.
    """

    start: datetime
    runs: Counter[str] = field(default_factory=Counter)

    def next(self, job: str, settings: Any) -> datetime:
        minutes = {
            "auth": settings.schedule.auth_minutes,
            "blocklists": settings.schedule.blocklist_minutes,
        }[job]
        at = self.start + timedelta(minutes=minutes * self.runs[job])
        self.runs[job] += 1
        return at


def run_job(
    url: str, job: str, cache: str, settings: Any, now: datetime, unbound: Unbound
) -> SweepFigure:
    """One of the worker's sweeps, timed whole as the scheduler runs it."""
    import monitor.jobs
    from store.engine import open_database, session_factory

    function, inner = {
        "auth": (monitor.jobs.sweep_authentication, "check_targets"),
        "blocklists": (monitor.jobs.sweep_blocklists, "check_blocklists"),
    }[job]
    engine = open_database(url)
    sessions = session_factory(engine)
    unbound.stats()
    dropped = unbound.drops()
    reset_peak_memory()
    start_mb = memory_mb("VmRSS")
    with dns_timer(inner) as timed, sessions() as session:
        cpu = _cpu_seconds()
        started = time.perf_counter()
        outcome = function(session, now, settings)
        # A job leaves its results to its caller to commit, as the scheduler
        # does (with the run's ok): part of the job's cost.
        session.commit()
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu
        peak = memory_mb("VmHWM")
        domains, ips = _target_counts(session)
    engine.dispose()
    figure = SweepFigure(
        job, cache, settings.concurrency, domains, ips, seconds, timed.seconds, cpu, outcome
    )
    figure.start_mb, figure.dns_peak_mb, figure.peak_mb = start_mb, timed.peak_mb, peak
    figure.resolver = unbound.stats()
    after = unbound.drops()
    figure.drops = (after[0] - dropped[0], after[1] - dropped[1])
    return figure


def _target_counts(session: Any) -> tuple[int, int]:
    from sqlalchemy import func, select

    from store.models import Domain, SendingIp

    domains = session.scalar(select(func.count()).select_from(Domain))
    ips = session.scalar(select(func.count()).select_from(SendingIp))
    return int(domains), int(ips)


def verify_apart(url: str, job: str, domains: Sequence[str], ips: Sequence[str]) -> str | None:
    """:func:`verify` in a process of its own: it reads every result of the run (at
    110,000 targets hundreds of MB), and in this process that memory, freed but kept
    by the allocator, was counted in the next job's RSS."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(verify, (url, job, list(domains), list(ips)))


def verify(url: str, job: str, domains: Sequence[str], ips: Sequence[str]) -> str | None:
    """What of the latest run of ``job`` is not as the data says (None: all of it is).

    Every domain and IP passes its authentication checks; exactly the listed
    ones fail their blocklists check.
    """
    from sqlalchemy import func, select

    from store.engine import open_database, session_factory
    from store.models import CheckRecord, CheckRun

    trigger = {"auth": "auth_sweep", "blocklists": "blocklist_sweep"}[job]
    if job == "auth":
        expected = {(d, c): "pass" for d in domains for c in ("spf", "dmarc", "dkim", "mx")}
        expected.update({(ip, "ptr"): "pass" for ip in ips})
    else:
        listed = set().union(*listed_ips(ips).values(), *listed_domains(domains).values())
        expected = {
            (target, "blocklists"): "fail" if target in listed else "pass"
            for target in (*domains, *ips)
        }
    engine = open_database(url)
    with session_factory(engine)() as session:
        run_id = session.scalar(select(func.max(CheckRun.id)).where(CheckRun.trigger == trigger))
        rows = session.execute(
            select(
                CheckRecord.target, CheckRecord.check, CheckRecord.status, CheckRecord.detail
            ).where(CheckRecord.run_id == run_id)
        ).all()
    engine.dispose()
    found = {(target, check): (status, detail) for target, check, status, detail in rows}
    wrong = [key for key, want in expected.items() if found.get(key, ("missing",))[0] != want]
    extra = set(found) - set(expected)
    if not (wrong or extra):
        return None
    statuses = Counter(found.get(key, ("missing",))[0] for key in wrong)
    # "Could not resolve NAME TYPE: timeout." -> "timeout"
    reasons = Counter(
        item["message"].rpartition(": ")[2].rstrip(".") if ": " in item["message"] else item["code"]
        for key in wrong
        if key in found
        for item in (found[key][1] or {}).get("findings", [])
    )
    examples = ", ".join(f"{target} {check}" for target, check in wrong[:3])
    return (
        f"{len(wrong):,} of {len(expected):,} results not as the data says "
        f"({dict(statuses)}; findings {dict(reasons.most_common(4))}; e.g. {examples})"
        + (f", {len(extra)} unexpected" if extra else "")
    )


def make_settings(unbound_port: int, concurrency: int) -> Any:
    from checks.dns import DnsSettings, parse_nameserver
    from monitor.settings import BlocklistSettings, Settings

    return Settings(
        database_url="unused",
        dns=DnsSettings(nameservers=(parse_nameserver(f"127.0.0.1:{unbound_port}"),)),
        concurrency=concurrency,
        blocklists=BlocklistSettings(
            zones=IP_BLOCKLISTS, domain_zones=DOMAIN_BLOCKLISTS, queries_per_second=0
        ),
    )


def _describe(figure: SweepFigure) -> str:
    queries = figure.resolver.get("total.num.queries", 0)
    misses = figure.resolver.get("total.num.cachemiss", 0)
    servfail = figure.resolver.get("num.answer.rcode.SERVFAIL", 0)
    miss_ms = figure.resolver.get("total.recursion.time.median", 0) * 1000
    return (
        f"{figure.job:<10} {figure.cache:<4} {figure.concurrency:>4}  {figure.targets:>7,}  "
        f"{figure.seconds:>8.1f}  {figure.dns_seconds:>7.1f}  {figure.cpu_seconds:>7.1f}  "
        f"{figure.per_hour(figure.domains):>11,.0f}  {figure.per_hour(figure.ips):>9,.0f}  "
        f"{figure.per_hour(figure.targets):>11,.0f}  {queries / figure.seconds:>7,.0f}  "
        f"{misses / max(queries, 1):>5.0%}  {miss_ms:>7.1f}  {servfail:>4.0f}  "
        f"{figure.drops[0]:>5}/{figure.drops[1]:<5}  "
        f"{figure.start_mb:>6,.0f}  {figure.dns_peak_mb:>6,.0f}  "
        f"{figure.peak_mb:>6,.0f}  | {figure.outcome}"
    )


def _tool_version(command: Sequence[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in (done.stdout + done.stderr).splitlines():
        if line.strip().lower().startswith(("version", "nsd version")):
            return line.strip()
    return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=20_000)
    parser.add_argument("--ips", type=int, default=2_000)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[64], help="[dns] concurrency values"
    )
    parser.add_argument("--sample", type=int, default=1_000, help="domains checkdmarc checks")
    parser.add_argument(
        "--jobs", nargs="+", choices=("auth", "blocklists"), default=["auth", "blocklists"]
    )
    parser.add_argument(
        "--caches",
        nargs="+",
        choices=("cold", "warm"),
        default=["cold", "warm"],
        help="for the first concurrency value (further ones run cold only)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="instead: the sweep shared by this many worker processes on PostgreSQL, "
        "against the single-process sweep (bench/capacity_workers.py)",
    )
    parser.add_argument("--chunk-size", type=int, default=500, help="[schedule] chunk_size")
    args = parser.parse_args()

    domains = domain_names(args.domains)
    ips = sending_ips(args.ips)
    print(
        f"{platform.python_version()} on {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"unbound {_tool_version(['unbound', '-V'])}; {_tool_version(['nsd', '-v'])}"
    )
    with tempfile.TemporaryDirectory(prefix="pw-capacity-") as tmp:
        directory = Path(tmp)
        zones = write_zones(directory, args.domains, ips)
        nsd, nsd_port = start_nsd(directory, zones, probe=f"d0.{ORIGIN}")
        unbound: Unbound | None = None
        try:
            unbound = start_unbound(directory, nsd_port, zones)
            if args.workers:
                shared_sweeps(args, directory, unbound, domains, ips)
                return
            url = f"sqlite:///{directory}/capacity.db"
            setup = add_targets(url, domains, ips)
            print(
                f"{args.domains:,} domains (selectors s1, s2) and {args.ips:,} IPs added in "
                f"{setup:.1f} s; NSD on :{nsd_port}, unbound on :{unbound.port}"
            )
            print(
                f"{'job':<10} {'cache':<4} {'conc':>4}  {'targets':>7}  {'seconds':>8}  "
                f"{'dns s':>7}  {'cpu s':>7}  {'domains/h':>11}  {'IPs/h':>9}  "
                f"{'targets/h':>11}  {'q/s':>7}  {'miss':>5}  {'miss ms':>7}  {'SERV':>4}  "
                f"{'drops u/nsd':<11}  "
                f"{'now MB':>6}  {'dns MB':>6}  {'MB':>6}  | job's outcome"
            )
            figures: list[SweepFigure] = []
            problems: list[str] = []
            clock = Clock(datetime.now(UTC))
            for number, concurrency in enumerate(args.concurrency):
                settings = make_settings(unbound.port, concurrency)
                # [dns] concurrency is the authentication sweep's; the blocklist
                # sweep's is fixed, so it is measured once.
                jobs = args.jobs if number == 0 else ("auth",)
                unbound.flush()
                # The default is also measured warm; further values cold only.
                caches = args.caches if number == 0 else ("cold",)
                for job in jobs:
                    for cache in caches:
                        figure = run_job(
                            url, job, cache, settings, clock.next(job, settings), unbound
                        )
                        print(_describe(figure), flush=True)
                        problem = verify_apart(url, job, domains, ips)
                        if problem is not None:
                            print(f"  ^ NOT VALID: {problem}", flush=True)
                            problems.append(f"{job} {cache} concurrency {concurrency}: {problem}")
                        figures.append(figure)
            # Each job's peak was measured from a reset (which resets ru_maxrss too).
            ours_rss = max(figure.peak_mb for figure in figures)
            print(f"peak RSS of this process in the sweeps: {ours_rss:.0f} MB; ", end="")
            print(f"unbound's: {unbound.peak_rss_mb():.0f} MB")

            sample = domains[: args.sample]
            print(f"checkdmarc 6 check_spf + check_dmarc, {len(sample):,} domains in turn:")
            measured = {f.cache for f in figures if f.job == "auth"}
            for cache in [cache for cache in ("cold", "warm") if cache in measured]:
                if cache == "cold":
                    unbound.flush()
                unbound.stats()
                theirs = time_checkdmarc(sample, unbound.port)
                asked = unbound.stats().get("total.num.queries", 0)
                ours = next(f for f in figures if f.job == "auth" and f.cache == cache)
                ours_rate = ours.per_hour(ours.domains)
                ours_asked = ours.resolver.get("total.num.queries", 0) / ours.targets
                theirs_rate = theirs.per_second * 3600
                print(
                    f"  {cache}: {theirs.seconds:.1f} s, {theirs_rate:,.0f} domains/h, "
                    f"{asked / len(sample):.1f} queries/domain; "
                    f"the worker's authentication sweep {ours_rate:,.0f} domains/h, "
                    f"{ours_asked:.1f} queries/target "
                    f"(with its IPs, DKIM, MX, recording): {ours_rate / theirs_rate:.1f}x",
                    flush=True,
                )
            print(
                f"load average now {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[2]:.2f} (15)"
            )
            if problems:
                raise SystemExit("sweeps not as the data says:\n" + "\n".join(problems))
        finally:
            if unbound is not None:
                unbound.process.terminate()
                unbound.process.wait(timeout=10)
            nsd.terminate()
            nsd.wait(timeout=10)


def shared_sweeps(
    args: argparse.Namespace,
    directory: Path,
    unbound: Unbound,
    domains: Sequence[str],
    ips: Sequence[str],
) -> None:
    """``--workers``: see :mod:`bench.capacity_workers`."""
    from dataclasses import replace
    from urllib.parse import parse_qs, urlparse

    from bench.capacity_workers import HEADER, run_shared
    from tests.postgres import postgres_bindir, running_postgres

    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("--workers needs PostgreSQL: apt-get install postgresql")
    settings = make_settings(unbound.port, args.concurrency[0])
    settings = replace(settings, schedule=replace(settings.schedule, chunk_size=args.chunk_size))
    with running_postgres(bindir) as url:
        data = Path(parse_qs(urlparse(url).query)["host"][0]) / "data"
        setup = add_targets(url, domains, ips)
        print(f"{len(domains):,} domains and {len(ips):,} IPs added to PostgreSQL "
              f"in {setup:.1f} s; chunks of {args.chunk_size}, [dns] concurrency "
              f"{args.concurrency[0]} per process; load {os.getloadavg()[0]:.2f}")  # fmt: skip
        print(HEADER)
        figures = run_shared(url, data, settings, args.workers, unbound, directory, domains, ips)
    print(f"load average now {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[2]:.2f} (15)")
    if any("NOT VALID" in figure.outcome for figure in figures):
        raise SystemExit("sweeps not as the data says")


if __name__ == "__main__":
    main()
