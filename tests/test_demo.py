"""`postwarden demo` as a newcomer runs it: every example problem on the dashboard, then gone."""

from __future__ import annotations

import html
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import postwarden_process
from tests.servers import free_port

# The example problems, by where the dashboard shows them.
FAILING_RULES = (
    "consent_missing",
    "optin_unconfirmed",
    "consent_stale",
    "mailed_after_unsubscribe",
    "mailed_after_hard_bounce",
    "mailed_after_complaint",
)


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    url: str
    password: str
    nameserver: str
    output: list[str]


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put(None)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """The demo's TMPDIR: whatever it creates lands here, so what it leaves behind shows."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return directory


def _environment(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
    env["TMPDIR"] = str(scratch)
    return env


@pytest.fixture
def demo(scratch: Path, tmp_path: Path) -> Iterator[RunningDemo]:
    script = Path(sys.executable).with_name("postwarden")
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [str(script), "demo", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=_environment(scratch),
        cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not any(line.startswith("Ctrl-C stops") for line in output):
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "".join(output) + (tmp_path / "demo.log").read_text()
            output.append(line)
        text = "".join(output)
        url = re.search(r"^Dashboard: (\S+)$", text, re.MULTILINE)
        login = re.search(r"^Login:\s+demo / (\S+)", text, re.MULTILINE)
        nameserver = re.search(r"Example zones served on (\S+)", text)
        assert url and login and nameserver, text
        yield RunningDemo(process, url.group(1), login.group(1), nameserver.group(1), output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def _text(page: str) -> str:
    """A page's visible text, one space between words."""
    without_styles = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", without_styles)).split())


@contextmanager
def _signed_in(demo: RunningDemo) -> Iterator[httpx.Client]:
    """A browser-like client logged in with the login the demo printed."""
    with httpx.Client(base_url=demo.url, follow_redirects=True, timeout=30) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        assert token, form
        page = client.post(
            "/login",
            data={"username": "demo", "password": demo.password, "csrf_token": token.group(1)},
        )
        assert page.status_code == 200 and "Log out" in page.text
        yield client


def _closed(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, port)) != 0


def test_the_demo_shows_every_example_problem_and_leaves_nothing_behind(
    demo: RunningDemo, scratch: Path
) -> None:
    with _signed_in(demo) as client:
        overview = _text(client.get("/").text)
        # The targets, worst first, and the alerts the two sweeps opened.
        for name in ("spf-overlimit.example", "192.0.2.20", "weak-dkim.example",
                     "monitoring-only.example", "healthy.example", "192.0.2.10"):  # fmt: skip
            assert name in overview
        for code in ("SPF_TOO_MANY_LOOKUPS", "PTR_MISSING", "DNSBL_LISTED"):
            assert code in overview
        # Gmail's card: its complaint rate fails (the spike), Yahoo's passes.
        gmail = overview.split("Gmail bulk-sender")[1].split("Yahoo (and AOL) bulk-sender")[0]
        assert re.search(r"FAIL Complaint rate", gmail), gmail
        assert re.search(r"FAIL One-click unsubscribe", gmail), gmail
        assert re.search(r"List audit FAIL", overview), overview

        weak = _text(client.get("/domains/weak-dkim.example").text)
        assert "DKIM_KEY_WEAK" in weak and "1024 bits" in weak
        assert "DMARC_POLICY_NONE" in _text(client.get("/domains/monitoring-only.example").text)
        listed = _text(client.get("/ips/192.0.2.20").text)
        assert "bl.example" in listed and "spam traps" in listed

        rates = _text(client.get("/rates").text)
        gmail_row = re.search(r"gmail (\d+) (\d+) [\d.]+% ([\d.]+)%", rates)
        assert gmail_row and float(gmail_row.group(3)) > 0.3, rates

        messages = client.get("/messages").text
        flash = next(row for row in messages.split("<tr") if "flash-sale" in row)
        assert "FAIL" in _text(flash).upper()
        newsletters = [row for row in messages.split("<tr") if "newsletter-" in row]
        assert len(newsletters) == 2 and all("FAIL" not in _text(r) for r in newsletters)

        compliance = client.get("/compliance/").text
        for rule in FAILING_RULES:
            row = next(row for row in compliance.split("<tr") if f">{rule}<" in row)
            assert "FAIL" in _text(row), row

        reports = client.get("/reports").text
        pdfs = re.findall(r'href="([^"]+\.pdf)"', reports)
        assert len(pdfs) == 2, reports
        assert all(client.get(html.unescape(href)).content.startswith(b"%PDF") for href in pdfs)

    port = int(demo.url.rstrip("/").rsplit(":", 1)[1])
    dns_host, dns_port = demo.nameserver.rsplit(":", 1)
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=60) == 0
    assert list(scratch.iterdir()) == []
    assert _closed("127.0.0.1", port)
    assert _closed(dns_host, int(dns_port))


def test_no_serve_runs_everything_once_prints_the_verdicts_and_exits_by_the_worst(
    scratch: Path, tmp_path: Path
) -> None:
    result = postwarden_process(
        "demo", "--no-serve", "--format", "json", cwd=tmp_path, env={"TMPDIR": str(scratch)}
    )
    assert result.code == 2, result.stderr
    found = result.json()
    by_target = {t["target"]: t for t in found["checks"]}
    assert by_target["healthy.example"]["status"] == "pass"
    assert by_target["weak-dkim.example"]["checks"]["dkim"]["selectors"]["s1"]["key_bits"] == 1024
    assert by_target["monitoring-only.example"]["checks"]["dmarc"]["policy"] == "none"
    spf = by_target["spf-overlimit.example"]["checks"]["spf"]
    assert [f["code"] for f in spf["findings"]] == ["SPF_TOO_MANY_LOOKUPS"]
    ip = by_target["192.0.2.20"]["checks"]
    assert [f["code"] for f in ip["ptr"]["findings"]] == ["PTR_MISSING"]
    assert [(x["zone"], x["listed"]) for x in ip["blocklists"]["listings"]] == [
        ("bl.example", True)
    ]
    assert by_target["192.0.2.10"]["status"] == "pass"

    messages = {Path(m["file"]).name: m for m in found["messages"]}
    assert messages["flash-sale.eml"]["status"] == "fail"
    for name in ("newsletter-latest.eml", "newsletter-previous.eml"):
        # Signed at demo time with the bundled key, verified over the demo's DNS.
        assert {c: v["status"] for c, v in messages[name]["checks"].items()} == dict.fromkeys(
            ("list_unsubscribe", "one_click", "dkim", "body_unsubscribe"), "pass"
        )

    rules = found["audit"]["rules"]
    assert all(rules[rule]["status"] == "fail" for rule in FAILING_RULES)
    assert rules["retention_exceeded"]["count"] > 0

    profiles = found["rates"]["profiles"]
    # The spike is at Gmail: judged on Gmail's recipients it fails. Diluted in all traffic
    # the ESP's complaints only warn; the two that only the feedback loops saw tip it over.
    assert profiles["gmail"]["status"] == "fail"
    esp_only = (found["rates"]["complaints"] - 2) / found["rates"]["delivered"]
    assert 0.001 <= esp_only < 0.003 and profiles["default"]["status"] == "fail"
    assert profiles["yahoo"]["status"] == "pass"
    # Each receivers' source shows, with its date: Gmail's own spam rate is what Gmail is
    # judged on, SNDS's complaint rate sits beside Microsoft's, ARF complaints are counted.
    sources = found["rates"]["sources"]
    assert sources["arf"] == {"complaints": 2}
    assert sources["gmail_postmaster"]["as_of"] and sources["snds"]["as_of"]
    assert profiles["gmail"]["metrics"]["spam_rate"]["source"] == "gmail_postmaster"
    assert profiles["microsoft"]["metrics"]["snds_complaint_rate"]["status"] == "fail"
    ips = {t["target"]: t["checks"] for t in found["checks"] if t["kind"] == "ip"}
    assert [f["code"] for f in ips["192.0.2.20"]["snds"]["findings"]] == [
        "SNDS_FILTER_RED",
        "SNDS_TRAP_HITS",
        "SNDS_IP_BLOCKED",
    ]
    assert sorted(Path(p).suffix for p in found["reports"]) == [".csv", ".csv", ".pdf", ".pdf"]
    # A week of generated DMARC reports: two healthy sources and one failing ESP.
    dmarc = found["dmarc"]["domains"]["monitoring-only.example"]
    assert (dmarc["messages"], dmarc["dmarc_pass"]) == (
        sum(900 + 10 * d + 400 + 120 for d in range(1, 8)),
        sum(900 + 10 * d + 400 for d in range(1, 8)),
    )
    assert dmarc["verdict"]["ready"] is False
    assert [s["name"] for s in dmarc["verdict"]["failing_sources"]] == ["SendGrid"]
    assert list(scratch.iterdir()) == []


def test_the_demo_data_is_the_same_for_the_same_day(tmp_path: Path) -> None:
    from datetime import date

    from web.demo.data import write_events, write_list_export

    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):
        directory.mkdir()
        write_list_export(directory, date(2026, 11, 30))
        write_events(directory, date(2026, 11, 30))
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes()


def test_a_busy_port_is_one_line_and_exit_3_and_still_cleans_up(
    scratch: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = postwarden_process(
            "demo", "--port", str(port), cwd=tmp_path, env={"TMPDIR": str(scratch)}
        )
    assert result.code == 3
    assert result.stderr.strip().splitlines()[-1] == (
        f"postwarden: error: cannot serve on 127.0.0.1:{port}: Address already in use"
    )
    assert list(scratch.iterdir()) == []


def test_sigterm_stops_it_as_ctrl_c_does(demo: RunningDemo, scratch: Path) -> None:
    demo.process.send_signal(signal.SIGTERM)
    assert demo.process.wait(timeout=60) == 0
    assert list(scratch.iterdir()) == []
    assert _closed("127.0.0.1", int(demo.url.rstrip("/").rsplit(":", 1)[1]))
