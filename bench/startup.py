"""Start-up time of the console script against a bare interpreter, in one run.

    .venv/bin/python -m bench.startup [--runs 9]

Each command runs as its own process, ``--runs`` times, the commands taken in turn
(round robin) so that load on a shared machine falls on all of them alike:

- ``python -c pass``: the peer, a bare interpreter of the same venv;
- ``postwarden --version`` and ``postwarden --help``;
- ``postwarden check`` of one domain (SPF, DMARC, a DKIM selector, MX and a domain
  blocklist) against a loopback DNS server (:class:`checks.zoneserver.ZoneServer`, in a
  process of its own), with ``--no-transport``: the transport checks connect to the MX's
  port 25 and fetch over HTTPS, which is network time, not start-up;
- ``postwarden alerts list`` on an empty SQLite database (its schema created by a first,
  unmeasured run).

Prints min / median / max wall seconds of each, its median minus the interpreter's, and
the target of issue 20 for it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from pathlib import Path

from checks.zoneserver import ZoneServer
from tests.keys import rsa_key, txt

ORIGIN = "startup.test"
DOMAIN = f"mail.{ORIGIN}"
BLOCKLIST = f"dbl.{ORIGIN}"


def zone_text() -> str:
    """One well-configured sending domain, and a domain blocklist that is healthy."""
    key = txt("v=DKIM1; k=rsa; p=" + rsa_key(2048))
    return "\n".join([
        "$TTL 3600",
        "@ SOA ns hostmaster 1 3600 600 86400 300",
        "@ NS ns",
        "ns A 192.0.2.53",
        'mail TXT "v=spf1 mx -all"',
        "mail MX 10 mx.mail",
        "mx.mail A 192.0.2.25",
        f'_dmarc.mail TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}"',
        f"s1._domainkey.mail TXT {key}",
        # RFC 5782 test point: a healthy list lists `test` and not `invalid`.
        "test.dbl A 127.0.0.2",
    ]) + "\n"  # fmt: skip


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``command``, which must exit 0.

    CPU time is printed beside wall time because on a shared machine the wall time
    of a short process is mostly the wait for a core.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}: {errors!r}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="Runs of each command.")
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("postwarden"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    parent, child = Pipe()
    server = Process(target=_serve_zone, args=(child,), daemon=True)
    server.start()
    port = parent.recv()
    with tempfile.TemporaryDirectory(prefix="postwarden-bench-") as directory:
        db = f"sqlite:///{Path(directory) / 'empty.db'}"
        check = [script, "check", DOMAIN, "--selector", "s1", "--domain-zone", BLOCKLIST,
                 "--no-transport", "--nameserver", f"127.0.0.1:{port}",
                 "--format", "json"]  # fmt: skip
        commands: dict[str, tuple[list[str], str]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], "the peer"),
            "postwarden --version": ([script, "--version"], "python + 0.3 s"),
            "postwarden --help": ([script, "--help"], "python + 0.3 s"),
            "postwarden check (1 domain)": (check, "under 0.8 s"),
            "postwarden alerts list (empty)": (
                [script, "alerts", "list", "--db", db],
                "under 0.6 s",
            ),
        }
        timed(commands["postwarden alerts list (empty)"][0], env)  # creates the schema
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (command, _) in commands.items():
                wall, used = timed(command, env)
                times[name].append(wall)
                cpu[name].append(used)
    parent.send("stop")
    server.join()
    bare = statistics.median(times["python -c pass"])
    print(f"{args.runs} runs each, round robin; seconds (wall; CPU = user + system, median)")
    print(f"{'command':<32} {'min':>6} {'median':>7} {'max':>6} {'- python':>9} {'CPU':>6}  target")
    for name, (_, target) in commands.items():
        median = statistics.median(times[name])
        print(
            f"{name:<32} {min(times[name]):>6.3f} {median:>7.3f} {max(times[name]):>6.3f} "
            f"{median - bare:>+9.3f} {statistics.median(cpu[name]):>6.3f}  {target}"
        )


def _serve_zone(pipe: Connection) -> None:
    """The zone on loopback, in a process of its own, until the parent says stop."""
    with ZoneServer({f"{ORIGIN}.": zone_text()}) as server:
        pipe.send(server.port)
        pipe.recv()


if __name__ == "__main__":
    main()
