"""The demo's conversions, touches on other channels and costs, derived from its events.

Some recipients who clicked buy within a few days (a purchase of 20 to 180
EUR), a few sign up for nothing, a few buy after an ad only or without any
touch; each campaign has an ESP fee and the month a tools cost, so every
model and every kind of row of ``postwarden roi`` has figures. Seeded:
the same day gives the same data.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from compliance.csv_files import CsvWriter
from web.demo.data import SEED

CONVERSION_COLUMNS = ("conversion_id", "email", "time", "value", "currency", "type")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def write_conversions(directory: Path, events: Path, today: date) -> list[Path]:
    """conversions.csv, touchpoints.csv and costs.csv beside the events; their paths."""
    rng = random.Random(SEED + 26)
    clicks: list[tuple[str, datetime]] = []
    campaigns: set[str] = set()
    recipients: set[str] = set()
    with events.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            campaigns.add(row["campaign"])
            recipients.add(row["recipient"])
            if row["type"] == "click":
                clicks.append((row["recipient"], _when(row["time"])))
    conversions, touches = [], []
    for number, (email, clicked) in enumerate(clicks):
        if rng.random() < 0.45:
            at = clicked + timedelta(hours=rng.randint(1, 96))
            if at.date() < today:
                kind, value = (
                    ("signup", 0) if rng.random() < 0.15 else ("purchase", rng.randint(20, 180))
                )
                conversions.append((f"demo-{number}", email, at, value, kind))
    others = sorted(recipients)
    for number in range(12):
        email = rng.choice(others)
        at = datetime.combine(
            today - timedelta(days=rng.randint(1, 25)), time(rng.randint(8, 20)), UTC
        )
        if number % 2:
            touches.append((email, at - timedelta(hours=rng.randint(2, 48)), "ads", "winter-sale"))
        conversions.append((f"demo-other-{number}", email, at, rng.randint(20, 120), "purchase"))
    paths = [directory / name for name in ("conversions.csv", "touchpoints.csv", "costs.csv")]
    with paths[0].open("w", newline="", encoding="utf-8") as handle:
        writer = CsvWriter(handle)
        writer.writerow(CONVERSION_COLUMNS)
        for conversion_id, email, at, value, kind in conversions:
            writer.writerow((conversion_id, email, at.isoformat(), value, "EUR", kind))
    with paths[1].open("w", newline="", encoding="utf-8") as handle:
        writer = CsvWriter(handle)
        writer.writerow(("email", "time", "channel", "campaign"))
        writer.writerows(
            (email, at.isoformat(), channel, name) for email, at, channel, name in touches
        )
    with paths[2].open("w", newline="", encoding="utf-8") as handle:
        writer = CsvWriter(handle)
        writer.writerow(("campaign", "cost", "currency", "month", "item"))
        for name in sorted(campaigns):
            writer.writerow((name, "40", "EUR", "", "esp"))
        writer.writerow(("", "150", "EUR", today.strftime("%Y-%m"), "tools"))
    return paths
