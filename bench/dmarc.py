"""``postwarden import dmarc`` against parsedmarc's ``parse_report_file`` on the same reports.

Generates one 100,000-record aggregate report (gzip, as Google sends its
large ones) and 1,000 small ones (5 records each, plain XML), then measures,
each in its own process, wall time, CPU time (user + system) and peak RSS of:

- Postwarden: the real console script importing them into a new SQLite
  database (parse, validate, store, de-duplicate: more work than a parse);
- parsedmarc: ``parse_report_file(path, offline=True)`` on every file (no
  DNS, no IP database download: parsing only).

Usage: ``python -m bench.dmarc [--records 100000] [--small 1000]``.
"""

from __future__ import annotations

import argparse
import gzip
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
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.is_file():
        parsed = parsedmarc.parse_report_file(str(path), offline=True)
        records += len(parsed["report"]["records"])
print(records, file=sys.stderr)
"""

BEGIN = datetime(2026, 12, 1, tzinfo=UTC)


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
                rows=[_row(number * 5 + k) for k in range(5)],
            )
        )
        (folder / "small" / f"receiver!d{number}!{number}.xml").write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1000)
    options = parser.parse_args(argv)
    script = str(Path(sys.executable).with_name("postwarden"))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        write_reports(root / "reports", options.records, options.small)
        print(f"{options.records:,}-record report (gzip) and {options.small:,} small reports")
        for label, folder in (
            (f"one {options.records:,}-record report", root / "reports" / "large"),
            (f"{options.small:,} small reports", root / "reports" / "small"),
        ):
            database = f"sqlite:///{root / (folder.name + '.db')}"
            ours = measured_with_cpu([script, "import", "dmarc", str(folder), "--db", database])
            peer = measured_with_cpu([sys.executable, "-c", PARSEDMARC, str(folder)])
            print(
                f"{label}: postwarden import {ours[0]:.1f} s ({ours[1]:.1f} s CPU), peak "
                f"{ours[2]:.0f} MB; parsedmarc parse {peer[0]:.1f} s ({peer[1]:.1f} s CPU), "
                f"peak {peer[2]:.0f} MB; postwarden {peer[0] / ours[0]:.1f}x faster "
                f"({peer[1] / ours[1]:.1f}x in CPU time)"
            )


if __name__ == "__main__":
    main()
