"""Benchmark: the compliance report for a large list, against WeasyPrint alone.

Imports CONTACTS contacts (a Mailchimp export, as bench/audit.py writes it)
and EVENTS events into SQLite, then in the same run:

- `postwarden report compliance -o report.pdf` as its own process (queries,
  offender CSV of every rule, charts-free templates, WeasyPrint): wall time
  and peak RSS;
- WeasyPrint rendering a plain HTML table with as many rows as the report's
  PDF has table rows, as its own process: wall time and peak RSS.

    python -m bench.reports                       # 1,000,000 contacts, 500,000 events
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.audit import write_contacts, write_events
from bench.measure import measured
from compliance.contacts.importer import import_contacts
from compliance.events.importer import import_file
from store.engine import open_database, session_factory

PLAIN = """
import sys
from weasyprint import HTML
rows = int(sys.argv[1])
row = "<tr><td>row {0}</td><td>u{0}@example.org</td><td>pass</td></tr>"
body = "".join(row.format(n) for n in range(rows))
HTML(string="<table><thead><tr><th>n</th><th>address</th><th>status</th></tr></thead>"
     f"<tbody>{body}</tbody></table>").write_pdf(sys.argv[2])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pw-reports-") as tmp:
        directory = Path(tmp)
        contacts_csv, events_csv = directory / "subscribed.csv", directory / "events.csv"
        write_contacts(contacts_csv, args.contacts)
        write_events(events_csv, args.contacts, args.events)
        url = f"sqlite:///{directory / 'pw.db'}"
        engine = open_database(url)
        with session_factory(engine)() as session:
            import_contacts(session, contacts_csv, now=datetime.now(UTC))
            import_file(session, events_csv, source="csv", now=datetime.now(UTC))
            session.commit()
        engine.dispose()
        script = str(Path(sys.executable).with_name("postwarden"))
        report = directory / "report.pdf"
        command = [script, "report", "compliance", "--from", "2026-11-01", "--to", "2026-11-30",
                   "--db", url, "-o"]  # fmt: skip
        ours, ours_rss = measured([*command, str(report)])
        html = directory / "report.html"
        subprocess.run([*command, str(html)], check=True, stdout=subprocess.DEVNULL)
        rows = html.read_text().count("<tr")
        plain_pdf = directory / "plain.pdf"
        plain, plain_rss = measured([sys.executable, "-c", PLAIN, str(rows), str(plain_pdf)])
        csv_rows = sum(1 for _ in (directory / "report-offenders.csv").open()) - 1
        print(
            f"{args.contacts:,} contacts, {args.events:,} events; the report's PDF has {rows} "
            f"table rows; the CSV beside it {csv_rows:,} offender rows"
        )
        print(f"report compliance : {ours:6.2f} s  peak RSS {ours_rss:5.0f} MB")
        print(
            f"plain table ({rows} rows): {plain:6.2f} s  peak RSS {plain_rss:5.0f} MB  "
            f"ratio {ours / plain:.2f}x"
        )


if __name__ == "__main__":
    main()
