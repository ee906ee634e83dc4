"""The alert evaluation after an import against the ``dmarc`` summary, on the same reports.

Imports two days of generated aggregate reports into a new SQLite database
(day 1: the first half of the sources; day 2: all of them, so half are new
and a tenth of those fail in volume), then times, in this process:

- Postwarden's alert evaluation (``evaluate_reports``: the day's figures,
  new failing sources by anti-join, TLS figures), what every import now adds;
- the peer: ``dmarc_summary`` over the same two days without PTR lookups, what
  ``postwarden dmarc`` and the dashboard compute on the same records.

Usage: ``python -m bench.dmarc_alerts [--records 100000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.dmarc import _row
from compliance.dmarc_reports.generate import aggregate_xml
from compliance.dmarc_reports.importer import import_report_file
from compliance.dmarc_reports.summary import dmarc_summary
from monitor.dmarc_alerts import evaluate_reports
from monitor.settings import DmarcSettings
from store.engine import open_database, session_factory

DAY1 = datetime(2026, 12, 1, tzinfo=UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        engine = open_database(f"sqlite:///{root / 'bench.db'}")
        sessions = session_factory(engine)
        with sessions() as session:
            for number, (day, count) in enumerate(
                ((DAY1, options.records // 2), (DAY1 + timedelta(days=1), options.records))
            ):
                rows = [
                    replace(_row(n), count=200 if n % 10 == 0 else 1 + n % 5) for n in range(count)
                ]
                path = root / f"r{number}.xml"
                end = day + timedelta(hours=23)
                path.write_bytes(aggregate_xml(org_name="google.com", report_id=f"r{number}",
                                               domain="example.com", begin=day, end=end,
                                               rows=rows))  # fmt: skip
                import_report_file(session, path, now=day)
            session.commit()
        at = DAY1 + timedelta(days=2, hours=6)
        with sessions() as session:
            started = time.perf_counter()
            results = evaluate_reports(session, at, DmarcSettings())
            ours = time.perf_counter() - started
            started = time.perf_counter()
            summary = dmarc_summary(session, start=DAY1.date(), end=at.date())
            peer = time.perf_counter() - started
        engine.dispose()
    new = len(results[0].checks["dmarc_reports"].new_failing_sources)  # type: ignore[attr-defined]
    print(
        f"{options.records // 2 + options.records:,} records, {new:,} new failing sources, "
        f"{len(summary['domains']['example.com']['sources']):,} sources: "
        f"alert evaluation {ours:.2f} s; dmarc summary {peer:.2f} s; "
        f"evaluation {peer / ours:.1f}x faster"
    )


if __name__ == "__main__":
    main()
