"""Benchmark: reading ARF complaint reports, against parsedmarc, in one run.

Generates REPORTS feedback reports in the three layouts Postwarden reads
(RFC 5965 with the original attached, Yahoo's CFL with headers only and the
recipient redacted, Microsoft's JMRP with a masked recipient), each with its
own Message-ID, then:

- parse: Postwarden's ``read_arf`` (the complaint event: recipient or
  provider, campaign, arrival time in UTC) against parsedmarc's
  ``parse_report_email`` (offline: no DNS, no downloads) on the same bytes;
- import: ``postwarden import arf`` of all of them as one mbox into SQLite
  (parse, de-duplicate, store, daily aggregates), for the end-to-end figure.

    python -m bench.arf                  # 2,000 reports
    python -m bench.arf --reports 500 5000
"""

from __future__ import annotations

import argparse
import mailbox
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

from compliance.events.arf import Complaint, read_arf
from compliance.events.arf_import import import_arf_file
from store.engine import open_database, session_factory

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "arf"
LAYOUTS = {
    "rfc5965.eml": b"<8787KJKJ3K4J3K4J3K4J3.mail@sender.example>",
    "yahoo-cfl.eml": b"<nov-weekly-0001@sender.example>",
    "jmrp.eml": b"<nov-weekly-0002@sender.example>",
}
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def reports(count: int) -> list[bytes]:
    """``count`` reports, the layouts in turn, each about its own original message."""
    templates = [((FIXTURES / name).read_bytes(), marker) for name, marker in LAYOUTS.items()]
    out = []
    for n in range(count):
        raw, marker = templates[n % len(templates)]
        out.append(raw.replace(marker, f"<bench-{n}@sender.example>".encode()))
    return out


def time_postwarden(raws: list[bytes]) -> tuple[float, int]:
    start = time.perf_counter()
    complaints = sum(isinstance(read_arf(raw, now=NOW), Complaint) for raw in raws)
    return time.perf_counter() - start, complaints


def time_parsedmarc(raws: list[bytes]) -> tuple[float, int]:
    import parsedmarc

    parsed = 0
    with warnings.catch_warnings():
        # dateutil warns about "EDT" on every report; the warning is not the work measured.
        warnings.simplefilter("ignore")
        parsedmarc.parse_report_email(raws[0], offline=True, always_use_local_files=True)  # warm
        start = time.perf_counter()
        for raw in raws:
            report = parsedmarc.parse_report_email(raw, offline=True, always_use_local_files=True)
            parsed += report["report_type"] == "failure"
    return time.perf_counter() - start, parsed


def time_import(raws: list[bytes], directory: Path) -> float:
    path = directory / "fbl.mbox"
    box = mailbox.mbox(path)
    for raw in raws:
        box.add(raw)
    box.close()
    engine = open_database(f"sqlite:///{directory / 'bench.db'}")
    try:
        with session_factory(engine)() as session:
            start = time.perf_counter()
            report = import_arf_file(session, path, now=NOW, max_bytes=1 << 30)
            session.commit()
            elapsed = time.perf_counter() - start
        assert report.inserted == len(raws), report
    finally:
        engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, nargs="+", default=[2000])
    args = parser.parse_args()
    print("| reports | postwarden parse | parsedmarc parse | ratio | postwarden import |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for count in args.reports:
        raws = reports(count)
        ours, complaints = time_postwarden(raws)
        theirs, parsed = time_parsedmarc(raws)
        assert complaints == parsed == count, (complaints, parsed)
        with tempfile.TemporaryDirectory() as scratch:
            imported = time_import(raws, Path(scratch))
        print(
            f"| {count:,} | {count / ours:,.0f} reports/s | {count / theirs:,.0f} reports/s "
            f"| {theirs / ours:.1f}x | {count / imported:,.0f} reports/s |"
        )


if __name__ == "__main__":
    main()
