"""``postwarden import dmarc`` against parsedmarc's ``parse_report_file`` on the same reports.

Generates one set of reports: one 100,000-record aggregate report (gzip, as
Google sends its large ones) and 1,000 small ones (5 records each, plain
XML). Then, in the same run, for the whole set and for each of its two parts:

- end to end, each tool in its own process (wall time, CPU time, peak RSS):
  Postwarden's real console script importing into a database whose schema
  exists (a first, unmeasured import of one other report made it: creating
  the schema is done once per installation), and parsedmarc's
  ``parse_report_file(path, offline=True)`` on every file (no DNS, no IP
  database download: parsing only, nothing stored). The small reports are
  imported into a new database too, as the first runs of this benchmark did;
- the small reports once more, each tool in a process that has already
  imported its modules and handled one report: the cost of the work itself,
  without the interpreter's and the libraries' start-up, which a thousand
  five-record reports do not amortise.

Postwarden does more than parse: it validates, de-duplicates, stores every
record and judges the alerts. Each end-to-end import's records are counted
in its database afterwards; the benchmark stops if one is missing.

Usage: ``python -m bench.dmarc [--records 100000] [--small 1000]``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.measure import measured_with_cpu
from compliance.dmarc_reports.generate import Row, aggregate_chunks

PARSEDMARC = """
import sys
from pathlib import Path
import parsedmarc
records = 0
for folder in sys.argv[1:]:
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            parsed = parsedmarc.parse_report_file(str(path), offline=True)
            records += len(parsed["report"]["records"])
print(records, file=sys.stderr)
"""

# Each tool warmed up on one report, then timed on a folder: prints wall and CPU seconds.
PARSEDMARC_WARM = """
import sys, time
from pathlib import Path
import parsedmarc
warmup, folder = sys.argv[1:3]
parsedmarc.parse_report_file(warmup, offline=True)
paths = [str(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()]
cpu, wall = time.process_time(), time.perf_counter()
for path in paths:
    parsedmarc.parse_report_file(path, offline=True)
print(time.perf_counter() - wall, time.process_time() - cpu)
"""
POSTWARDEN_WARM = """
import contextlib, io, sys, time
from web.cli import run
warmup, folder, url = sys.argv[1:4]
with contextlib.redirect_stdout(io.StringIO()):
    if run(["import", "dmarc", warmup, "--db", url]) != 0:
        sys.exit("the warm-up import failed")
    cpu, wall = time.process_time(), time.perf_counter()
    code = run(["import", "dmarc", folder, "--db", url])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
if code != 0:
    sys.exit("the import failed")
print(wall, cpu)
"""

BEGIN = datetime(2026, 12, 1, tzinfo=UTC)
SMALL_RECORDS = 5


def _row(number: int) -> Row:
    failing = number % 10 == 0
    return Row(
        f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}",
        1 + number % 5,
        dkim="fail" if failing else "pass",
        spf="fail" if failing else "pass",
        dkim_domain="sendgrid.net" if failing else "example.com",
    )


def write_reports(folder: Path, records: int, small: int) -> None:
    """The large report and the small ones under ``folder``."""
    large = folder / "large" / "google.com!example.com!1796083200!1796169599.xml.gz"
    large.parent.mkdir(parents=True)
    with gzip.open(large, "wt", encoding="utf-8") as handle:
        for chunk in aggregate_chunks(
            org_name="google.com",
            report_id="large-1",
            domain="example.com",
            begin=BEGIN,
            end=BEGIN + timedelta(days=1),
            rows=(_row(n) for n in range(records)),
        ):
            handle.write(chunk)
    (folder / "small").mkdir()
    for number in range(small):
        day = BEGIN + timedelta(days=number % 28)
        text = "".join(
            aggregate_chunks(
                org_name=f"receiver{number % 40}.example",
                report_id=f"small-{number}",
                domain=f"d{number % 50}.example",
                begin=day,
                end=day + timedelta(days=1),
                rows=[_row(number * SMALL_RECORDS + k) for k in range(SMALL_RECORDS)],
            )
        )
        (folder / "small" / f"receiver!d{number}!{number}.xml").write_text(text)


def _warmup_report(path: Path, report_id: str) -> Path:
    """One other one-record report: what makes a database's schema, or warms a process."""
    path.write_text(
        "".join(
            aggregate_chunks(
                org_name="warmup.example",
                report_id=report_id,
                domain="warmup.example",
                begin=BEGIN,
                end=BEGIN + timedelta(days=1),
                rows=[Row("192.0.2.1", 1)],
            )
        )
    )
    return path


def _line(label: str, ours: tuple[float, ...], peer: tuple[float, ...]) -> str:
    peaks = f"; peak {ours[2]:.0f} MB against {peer[2]:.0f} MB" if len(ours) > 2 else ""
    return (
        f"{label:44} postwarden {ours[0]:6.2f} s ({ours[1]:6.2f} s CPU), parsedmarc "
        f"{peer[0]:7.2f} s ({peer[1]:7.2f} s CPU): {peer[0] / ours[0]:4.1f}x wall, "
        f"{peer[1] / ours[1]:4.1f}x CPU{peaks}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1000)
    options = parser.parse_args(argv)
    script = str(Path(sys.executable).with_name("postwarden"))
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        reports = root / "reports"
        write_reports(reports, options.records, options.small)
        large, small = reports / "large", reports / "small"
        print(f"{options.records:,}-record report (gzip) and {options.small:,} small reports")

        def existing_database(name: str) -> str:
            url = f"sqlite:///{root / name}.db"
            warmup = _warmup_report(root / f"{name}-schema.xml", f"schema-{name}")
            measured_with_cpu([script, "import", "dmarc", str(warmup), "--db", url])
            return url

        in_small = options.small * SMALL_RECORDS
        for label, folders, records in (
            ("the whole set, end to end", [large, small], options.records + in_small),
            (f"one {options.records:,}-record report, end to end", [large], options.records),
            (f"{options.small:,} small reports, end to end", [small], in_small),
        ):
            url = existing_database(label.split(",")[0].replace(" ", "-"))
            paths = [str(folder) for folder in folders]
            ours = measured_with_cpu([script, "import", "dmarc", *paths, "--db", url])
            peer = measured_with_cpu([sys.executable, "-c", PARSEDMARC, *paths])
            _check_stored(url, records + 1)  # and the schema's one-record report
            print(_line(label, ours, peer), flush=True)
        new = f"sqlite:///{root / 'new.db'}"
        ours = measured_with_cpu([script, "import", "dmarc", str(small), "--db", new])
        peer = measured_with_cpu([sys.executable, "-c", PARSEDMARC, str(small)])
        print(_line("  the same, into a new database", ours, peer), flush=True)
        warmup = _warmup_report(root / "warmup.xml", "warmup")
        url = f"sqlite:///{root / 'warm.db'}"
        warm = _seconds([sys.executable, "-c", POSTWARDEN_WARM, str(warmup), str(small), url])
        warm_peer = _seconds([sys.executable, "-c", PARSEDMARC_WARM, str(warmup), str(small)])
        print(_line(f"{options.small:,} small reports, modules loaded", warm, warm_peer))
    print(f"load average after: {os.getloadavg()}")


def _check_stored(url: str, records: int) -> None:
    """Stop unless the import stored every record (a fast import of half is no result)."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM dmarc_records").fetchone()
    if stored != records:
        raise SystemExit(f"{url}: {stored:,} records stored, {records:,} expected")


def _seconds(command: list[str]) -> tuple[float, float]:
    """The wall and CPU seconds a warmed-up process printed for its timed part."""
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall, cpu = done.stdout.split()[-2:]
    return float(wall), float(cpu)


if __name__ == "__main__":
    main()
