"""A/B of `postwarden check` between another checkout (BASE, e.g. main) and this one.

The same generated domains as bench/checks.py, one DNS server, runs
alternating between the two trees (base, this, base, this, …) so that what
else the machine does falls on both alike; prints the medians and their
ratio, of domains per second and of CPU per domain (user + system of the
process, start-up included, from ``wait4``). BASE is a plain copy of the
other tree (`git archive COMMIT | tar -x -C DIR`); both run with this
virtualenv's packages, blocklists off, and `--no-transport` (for a base
from before the transport checks, which has no such option, only this tree).

    python -m bench.checks_ab /tmp/base --domains 1000 --rtt-ms 0 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.checks import ORIGIN, _serve, bench_zone

HERE = Path(__file__).resolve().parent.parent


def _run(tree: Path, extra: list[str], port: int, names: list[str]) -> tuple[float, float]:
    """Seconds and CPU seconds of one check of ``names`` by the tree's console entry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    env["PYTHONPATH"] = str(tree)
    entry = "import sys; from web.cli import main; main(sys.argv[1:])"
    command = [sys.executable, "-c", entry, "check", *names, "--selector", "s1",
               "--selector", "s2", "--nameserver", f"127.0.0.1:{port}", "--format", "json",
               "--no-blocklists", *extra]  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env, cwd="/")
        _pid, _status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    results = json.loads(stdout or "[]")
    if len(results) != len(names) or any(r["status"] != "pass" for r in results):
        raise SystemExit(f"{tree}: not every domain passed: {stderr[-300:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    names = [f"d{i}.{ORIGIN}" for i in range(args.domains)]
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(
        target=_serve, args=(bench_zone(args.domains), args.rtt_ms / 1000, child), daemon=True
    )
    server.start()
    base: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    try:
        port = parent.recv()
        for _ in range(args.rounds):
            # A base with the transport checks (#24) skips them too.
            base_extra = ["--no-transport"] if (args.base / "checks/transport.py").exists() else []
            base.append(_run(args.base, base_extra, port, names))
            ours.append(_run(HERE, ["--no-transport"], port, names))
    finally:
        parent.send("stop")
        server.join(timeout=10)
    n = args.domains
    print(f"{n} domains at {args.rtt_ms:g} ms, {args.rounds} alternating rounds")
    for label, runs in (("base", base), ("this", ours)):
        rates = [n / seconds for seconds, _cpu in runs]
        cpus = [cpu * 1000 / n for _seconds, cpu in runs]
        print(
            f"{label} {statistics.median(rates):.1f} dom/s {[round(r, 1) for r in rates]}, "
            f"{statistics.median(cpus):.2f} ms CPU/domain {[round(c, 2) for c in cpus]}"
        )
    rate = statistics.median(s for s, _ in base) / statistics.median(s for s, _ in ours)
    cpu = statistics.median(c for _, c in ours) / statistics.median(c for _, c in base)
    print(f"this/base {rate:.2f} in domains/s, {cpu:.2f} in CPU per domain")


if __name__ == "__main__":
    main()
