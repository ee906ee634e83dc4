"""Benchmark: dashboard latency under load, against a static file from the same server.

Fills a SQLite database with DOMAINS domains and IPS IPs checked every 30
minutes for DAYS days (the history a year of `serve` leaves, at DAYS=365),
starts `postwarden serve` (waitress) on loopback, logs in, and drives each
page with ApacheBench (`ab`, Debian's apache2-utils) at CONCURRENCY clients:
the overview, a domain page (checks, fixes, history timeline, alerts) and
the static stylesheet, all in the same run. Prints p50/p95 and the ratio to
the static file.

    python -m bench.dashboard                      # 1,000 domains, 200 IPs, 30 days
    python -m bench.dashboard --days 365           # a year (about 95 million results)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from monitor.users import add_user
from store.engine import open_database, session_factory

DOMAIN_CHECKS = ("spf", "dmarc", "dkim", "mx", "blocklists")
IP_CHECKS = ("ptr", "blocklists")
PASSWORD = "benchmark password"


def stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def fill(db_path: Path, domains: int, ips: int, days: int) -> int:
    """Targets, runs, results and status changes as the scheduler writes them; results written."""
    generator = random.Random(5)
    start = datetime(2026, 11, 25, tzinfo=UTC) - timedelta(days=days)
    runs = days * 48
    targets: list[tuple[str, str, tuple[str, ...]]] = [
        (f"d{n}.example", "domain", DOMAIN_CHECKS) for n in range(domains)
    ]
    targets += [
        (f"192.0.2.{n % 250}" if n < 250 else f"198.51.100.{n - 250}", "ip", IP_CHECKS)
        for n in range(ips)
    ]
    # A few targets flap: their status changes now and then; the rest pass.
    flapping = {name for name, _, _ in targets if generator.random() < 0.05}
    detail = {
        check: json.dumps({"status": "pass", "findings": [], "record": f"v={check} example"})
        for check in DOMAIN_CHECKS + IP_CHECKS
    }
    problem = {
        "code": "DMARC_MISSING",
        "level": "fail",
        "message": "No DMARC record.",
        "fix": "Publish one.",
    }
    failing = json.dumps({"status": "fail", "findings": [problem]})
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA journal_mode=WAL")
    created = stamp(start)
    connection.executemany(
        "INSERT INTO domains (name, created_at, paused) VALUES (?, ?, 0)",
        [(name, created) for name, kind, _ in targets if kind == "domain"],
    )
    connection.executemany(
        "INSERT INTO sending_ips (address, created_at, paused) VALUES (?, ?, 0)",
        [(name, created) for name, kind, _ in targets if kind == "ip"],
    )
    written = 0
    state: dict[tuple[str, str], str] = {}
    changes: list[tuple[str, str, str, str | None, str, int]] = []
    for run in range(1, runs + 1):
        at = stamp(start + timedelta(minutes=30 * run))
        connection.execute(
            "INSERT INTO check_runs (id, started_at, finished_at, trigger, status, target_count) "
            "VALUES (?, ?, ?, 'auth_sweep', 'pass', ?)",
            (run, at, at, len(targets)),
        )
        rows = []
        for name, kind, checks in targets:
            for check in checks:
                status = "pass"
                if name in flapping and check == checks[0]:
                    status = state.get((name, check), "pass")
                    if generator.random() < 0.02:
                        status = "fail" if status == "pass" else "pass"
                before = state.get((name, check))
                if before != status:
                    changes.append((name, check, status, before, at, run))
                state[(name, check)] = status
                rows.append(
                    (run, name, kind, check, status, failing if status == "fail" else detail[check])
                )
        connection.executemany(
            'INSERT INTO check_results (run_id, target, kind, "check", status, detail) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        written += len(rows)
    connection.executemany(
        'INSERT INTO status_changes (target, "check", status, previous, at, run_id) '
        "VALUES (?, ?, ?, ?, ?, ?)",
        changes,
    )
    last = stamp(start + timedelta(minutes=30 * runs))
    connection.executemany(
        'INSERT INTO target_status (target, kind, "check", status, since, consecutive, '
        "checked_at, last_run_id) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        [
            (name, kind, check, state[(name, check)], created, last, runs)
            for name, kind, checks in targets
            for check in checks
        ],
    )
    connection.commit()
    connection.close()
    return written


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentiles(ab_output: str) -> tuple[float, float]:
    """p50 and p95 (ms) from ab's "Percentage of the requests served" table."""
    found = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", ab_output, re.MULTILINE))
    if "50" not in found:
        raise SystemExit(f"ab gave no percentiles:\n{ab_output}")
    return float(found["50"]), float(found["95"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--ips", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("ab") is None:
        raise SystemExit("bench/dashboard.py needs ab: apt-get install apache2-utils")
    with tempfile.TemporaryDirectory(prefix="pw-dash-") as tmp:
        directory = Path(tmp)
        db_path = directory / "pw.db"
        url = f"sqlite:///{db_path}"
        engine = open_database(url)
        with session_factory(engine)() as session:
            add_user(session, "bench", PASSWORD, "admin", datetime.now(UTC))
            session.commit()
        engine.dispose()
        started = time.perf_counter()
        rows = fill(db_path, args.domains, args.ips, args.days)
        print(
            f"{args.domains} domains, {args.ips} IPs, {args.days} days of 30-minute runs: "
            f"{rows:,} results written in {time.perf_counter() - started:.0f} s"
        )
        config = directory / "pw.toml"
        config.write_text('[web]\nsecure_cookies = false\nsecret_key = "bench"\n')
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("postwarden")), "serve", "--no-scheduler",
             "--port", str(port), "--db", url, "--config", str(config)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            # Flask-Login's strong session protection ties the session to the
            # client's address and User-Agent: log in as ab will present itself.
            with httpx.Client(base_url=base, headers={"User-Agent": "ApacheBench/2.3"}) as client:
                for _ in range(100):
                    try:
                        client.get("/healthz")
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                page = client.get("/login").text
                found = re.search(r'name="csrf_token" value="([^"]+)"', page)
                if found is None:
                    raise SystemExit("no CSRF token on the login page")
                token = found.group(1)
                client.post(
                    "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
                )
                cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
                for path in ("/", "/domains/d1.example"):
                    if client.get(path).status_code != 200:
                        raise SystemExit(f"{path} did not answer 200")
            results = {}
            for label, path in (
                ("static file", "/static/style.css"),
                ("overview", "/"),
                ("domain page", "/domains/d1.example"),
            ):
                output = subprocess.run(
                    ["ab", "-q", "-n", str(args.requests), "-c", str(args.concurrency),
                     "-C", cookie, f"{base}{path}"],
                    capture_output=True, text=True, check=True,
                ).stdout  # fmt: skip
                if "Non-2xx responses" in output:
                    raise SystemExit(f"{path}: ab got non-2xx answers (not logged in?)\n{output}")
                results[label] = percentiles(output)
        finally:
            server.terminate()
            server.wait(timeout=10)
        static_p95 = results["static file"][1] or 1.0
        print(f"{args.requests} requests per page, {args.concurrency} concurrent clients (ab):")
        for label, (p50, p95) in results.items():
            print(
                f"  {label:<12} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  "
                f"p95 / static p95 {p95 / static_p95:5.1f}x"
            )


if __name__ == "__main__":
    main()
