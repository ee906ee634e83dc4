"""Wall time, CPU time and peak memory of a command, as its own process."""

from __future__ import annotations

import subprocess
import sys
import time

# Runs a command and prints its peak RSS (KB). The command is started from this small
# process: Linux counts a parent's pages into a child's peak (at fork, and at exec
# after vfork), so started from the benchmark every reading would be at least the
# benchmark's own size.
LAUNCHER = """
import os, subprocess, sys
pid = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL).pid
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def measured(command: list[str], allowed_exit_codes: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    wall, _cpu, peak = measured_with_cpu(command, allowed_exit_codes)
    return wall, peak


def measured_with_cpu(
    command: list[str], allowed_exit_codes: tuple[int, ...] = (0,)
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one child process.

    On a shared machine the CPU time moves less than the wall time with the others' load.
    """
    started = time.perf_counter()
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], check=True, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    status, peak, cpu = launched.stdout.split()
    if int(status) not in allowed_exit_codes:
        raise SystemExit(f"{command[0]} failed ({status})")
    return elapsed, float(cpu), int(peak) / 1024
