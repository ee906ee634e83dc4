"""`postwarden serve`: the web app and the scheduler in one process."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port
from tests.waiting import eventually
from web.serving import _AtMostEvery


def test_serve_answers_health_checks_runs_the_schedule_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    script = Path(sys.executable).with_name("postwarden")
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(script), "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'pw.db'}"],
            stderr=sink,
            env=env,
        )
    try:

        def scheduled() -> dict[str, Any]:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            assert response.status_code == 200
            health: dict[str, Any] = response.json()
            return health if "auth_sweep" in health.get("jobs", {}) else {}

        health = eventually(
            scheduled, interval=0.3, ignoring=(httpx.TransportError,), describe=log.read_text
        )
        assert health["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert f"serving on http://127.0.0.1:{port}/" in log.read_text()


def test_a_warning_repeated_under_load_is_logged_once_a_period_with_a_count() -> None:
    now = [100.0]
    once = _AtMostEvery(0.2, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        return logging.LogRecord(
            "waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d", (3,), None
        )

    assert [once.filter(record()) for _ in range(3)] == [True, False, False]
    now[0] += 0.25
    later = record()
    assert once.filter(later)
    assert later.getMessage() == "Task queue depth is 3 (2 more such warnings not logged)"
