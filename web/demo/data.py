"""The demo's list export and delivery events: made up, deterministic, dated relative to today.

The demo imports these files through the same importers a user runs (``import contacts``,
``import events``), so what the dashboard shows is computed, not stored. They are written
at demo time rather than shipped because rates and audits look back from today: a file
with fixed dates would show an empty month a few weeks after a release. The same ``today``
always gives the same files.

What the list holds, on purpose:

- about 330 subscribed contacts in the Mailchimp layout, most with full double opt-in
  evidence; a few without any consent record, a few single opt-ins, a few confirmations
  without the IP; a segment not mailed for years (dormant, consent gone stale);
- unsubscribed and cleaned (hard-bounced) contacts, most of them kept well past
  retention; three unsubscribed ten days ago and two cleaned twelve days ago who were
  still mailed;
- five weekly newsletter sends with deliveries, bounces, opens, clicks and unsubscribes,
  and a complaint spike at Gmail in the latest one (one complainer of the week before is
  mailed again).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from compliance.csv_files import CsvWriter

SEED = 2026
CAMPAIGN_DAYS = (27, 20, 13, 6, 1)  # days before today, oldest first
SENDER_DOMAIN = "healthy.example"

_FIRST = (
    "Ada", "Alan", "Barbara", "Claude", "Dennis", "Donald", "Edsger", "Frances", "Grace",
    "Hedy", "Ivan", "Jean", "John", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Shafi",
    "Tim", "Tony", "Whitfield", "Adele", "Butler", "Carl", "Cynthia", "David", "Evelyn",
    "Fernando", "Gordon", "Ida", "Joan", "Karen", "Lynn", "Martin", "Mary", "Peter", "Robin",
    "Sophie", "Vint"
)  # fmt: skip
_LAST = (
    "Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Knuth", "Dijkstra", "Allen",
    "Hopper", "Lamarr", "Sutherland", "Bartik", "Backus", "Thompson", "Lamport", "Hamilton",
    "Wirth", "Perlman", "Goldwasser", "Berners-Lee", "Hoare", "Diffie", "Goldberg", "Lampson",
    "Hewitt", "Dwork", "Clark", "Stein", "Corbato", "Bell", "Rhodes", "Clarke", "Jones",
    "Conway", "Hellman", "Keller", "Naur", "Milner", "Wilson", "Cerf"
)  # fmt: skip
# Weighted like a consumer list: Gmail first, then Yahoo, Microsoft, company domains.
_DOMAINS = (
    ("gmail.com", 38), ("googlemail.com", 2), ("yahoo.com", 9), ("aol.com", 3),
    ("ymail.com", 2), ("outlook.com", 8), ("hotmail.com", 6), ("live.com", 2),
    ("example.com", 12), ("example.org", 10), ("example.net", 8),
)  # fmt: skip
_IP_RANGES = ("198.51.100", "203.0.113")

_COMMON = [
    "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
    "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "GMTOFF",
    "DSTOFF", "TIMEZONE", "CC", "REGION",
]  # fmt: skip
_TAIL = ["LEID", "EUID", "NOTES", "TAGS"]
_HEADERS = {
    "subscribed": [*_COMMON, "LAST_CHANGED", *_TAIL],
    "unsubscribed": [*_COMMON, "UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", "UNSUB_CAMPAIGN_ID",
                     "UNSUB_REASON", "UNSUB_REASON_OTHER", *_TAIL],
    "cleaned": [*_COMMON, "CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID", *_TAIL],
}  # fmt: skip
EVENT_COLUMNS = ("event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id")


@dataclass
class Person:
    """One address on the list and what the demo makes happen to it."""

    address: str
    first: str
    last: str
    status: str  # subscribed | unsubscribed | cleaned, as the export files say
    optin_time: datetime | None
    optin_ip: str | None
    confirm_time: datetime | None
    confirm_ip: str | None
    left_at: datetime | None = None  # UNSUB_TIME / CLEAN_TIME
    mailed: bool = True  # in the newsletter segment
    engagement: float = 0.5  # chance to open a delivered newsletter
    bounces: bool = False  # a typo domain: every send bounces hard
    complains_in: set[int] = field(default_factory=set)  # campaign numbers
    # One of the demo's offenders: never bounces or unsubscribes by chance.
    scripted: bool = False


@dataclass(frozen=True)
class Campaign:
    """A newsletter send."""

    name: str
    sent_at: datetime


def campaigns(today: date) -> list[Campaign]:
    """The weekly newsletter sends of the last four weeks, oldest first."""
    sends = []
    for days in CAMPAIGN_DAYS:
        day = today - timedelta(days=days)
        sends.append(Campaign(f"newsletter-{day.isoformat()}", _at(day, 9)))
    return sends


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class _List:
    """Builds the list: unique made-up people, drawn from one seeded generator."""

    def __init__(self, today: date) -> None:
        self.rng = random.Random(SEED)
        self.now = _at(today, 8)
        self.people: list[Person] = []
        self.seen: set[str] = set()

    def _address(self, first: str, last: str, domain: str | None, local: str | None) -> str:
        domains, weights = zip(*_DOMAINS, strict=True)
        domain = domain or self.rng.choices(domains, weights)[0]
        local = local or f"{first}.{last}".lower()
        candidate, number = f"{local}@{domain}", 1
        while candidate in self.seen:
            number += 1
            candidate = f"{local}{number}@{domain}"
        self.seen.add(candidate)
        return candidate

    def add(
        self,
        status: str,
        joined_days: tuple[int, int],
        *,
        evidence: str = "full",
        domain: str | None = None,
        local: str | None = None,
        left_days: int | None = None,
    ) -> Person:
        """A person who joined ``joined_days`` (a range) ago with ``evidence`` of consent:
        full (double opt-in, times and IP), no_ip, single (never confirmed) or none."""
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        optin = self.now - timedelta(days=rng.randint(*joined_days), minutes=rng.randrange(1440))
        ip = f"{rng.choice(_IP_RANGES)}.{rng.randrange(1, 255)}"
        confirm = optin + timedelta(minutes=rng.randint(1, 40))
        person = Person(
            address=self._address(first, last, domain, local),
            first=first,
            last=last,
            status=status,
            optin_time=None if evidence == "none" else optin,
            optin_ip=None if evidence == "none" else ip,
            confirm_time=None if evidence in ("none", "single") else confirm,
            confirm_ip=ip if evidence == "full" else None,
            left_at=None if left_days is None else self.now - timedelta(days=left_days),
        )
        self.people.append(person)
        return person


def people(today: date) -> list[Person]:
    """Everyone on the demo list (the same list for the same ``today``)."""
    found = _List(today)
    rng = found.rng
    for _ in range(300):
        found.add("subscribed", (40, 1100)).engagement = rng.choice((0.5, 0.5, 0.5, 0.15))
    for evidence, count in (("none", 4), ("single", 6), ("no_ip", 5)):
        for _ in range(count):
            found.add("subscribed", (60, 900), evidence=evidence)
    for _ in range(15):  # an old segment nobody mails any more
        found.add("subscribed", (700, 1500)).mailed = False
    for role in ("info", "office"):  # role accounts: hygiene findings
        found.add("subscribed", (200, 400), domain="example.com", local=role)
    for typo in ("gmial.com", "hotmial.com"):  # typo domains: bounce at the first send
        found.add("subscribed", (45, 60), domain=typo).bounces = True
    for _ in range(37):
        found.add("unsubscribed", (800, 1400), left_days=rng.randint(40, 700)).mailed = False
    for _ in range(3):  # left ten days ago, still on the send list
        found.add("unsubscribed", (300, 900), left_days=10).scripted = True
    for _ in range(10):
        found.add("cleaned", (700, 1400), left_days=rng.randint(60, 600)).mailed = False
    for _ in range(2):  # cleaned twelve days ago, still on the send list
        found.add("cleaned", (300, 900), left_days=12).scripted = True
    gmail = [
        p
        for p in found.people
        if p.address.endswith("@gmail.com") and p.status == "subscribed" and p.mailed
    ]
    # The week before: one complaint (mailed again after it); the latest send: the spike.
    gmail[0].complains_in.add(len(CAMPAIGN_DAYS) - 2)
    for person in gmail[1:4]:
        person.complains_in.add(len(CAMPAIGN_DAYS) - 1)
    for person in gmail[:4]:
        person.scripted = True
    return found.people


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def write_list_export(directory: Path, today: date) -> list[Path]:
    """The Mailchimp audience export (one CSV per status), as Mailchimp names the files."""
    rng = random.Random(SEED + 1)
    paths = []
    for status, header in _HEADERS.items():
        path = directory / f"{status}_email_audience_export_5e1f7a2b9c.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = CsvWriter(handle)
            writer.writerow(header)
            for number, person in enumerate(p for p in people(today) if p.status == status):
                row = {
                    "Email Address": person.address, "First Name": person.first,
                    "Last Name": person.last, "MEMBER_RATING": str(rng.randint(1, 5)),
                    "OPTIN_TIME": _stamp(person.optin_time), "OPTIN_IP": person.optin_ip or "",
                    "CONFIRM_TIME": _stamp(person.confirm_time),
                    "CONFIRM_IP": person.confirm_ip or "", "CC": "US",
                    "LAST_CHANGED": _stamp(person.confirm_time or person.optin_time),
                    "UNSUB_TIME": _stamp(person.left_at), "CLEAN_TIME": _stamp(person.left_at),
                    "UNSUB_REASON": "NORMAL", "LEID": str(91230000 + number),
                    "EUID": f"{rng.getrandbits(40):010x}", "TAGS": '"Newsletter"',
                }  # fmt: skip
                writer.writerow([row.get(column, "") for column in header])
        paths.append(path)
    return paths


def _events(today: date) -> Iterator[tuple[str, ...]]:
    rng = random.Random(SEED + 2)
    everyone = people(today)
    stopped: set[str] = set()  # unsubscribed or bounced through events: no longer mailed
    for number, campaign in enumerate(campaigns(today)):
        for index, person in enumerate(p for p in everyone if p.mailed):
            if person.address in stopped:
                continue
            sent = campaign.sent_at + timedelta(seconds=index * 3)
            send = _Send(campaign.name, index, person.address)
            yield send.row("sent", sent)
            draw = 1.0 if person.scripted else rng.random()
            if number in person.complains_in:
                yield send.row("delivered", sent + timedelta(seconds=5))
                yield send.row("complaint", sent + timedelta(hours=rng.randint(2, 13)))
                continue
            if person.bounces or draw < 0.004:
                yield send.row("bounce", sent + timedelta(seconds=20), "hard")
                stopped.add(person.address)
                continue
            if draw < 0.010:
                yield send.row("bounce", sent + timedelta(minutes=30), "soft")
                continue
            yield send.row("delivered", sent + timedelta(seconds=5))
            if rng.random() < person.engagement:
                opened = sent + timedelta(minutes=rng.randint(5, 800))
                yield send.row("open", opened)
                if rng.random() < 0.25:
                    yield send.row("click", opened + timedelta(seconds=rng.randint(5, 120)))
            if rng.random() < 0.003 and draw < 1.0:
                yield send.row("unsubscribe", sent + timedelta(hours=rng.randint(1, 13)))
                stopped.add(person.address)


@dataclass(frozen=True)
class _Send:
    """One newsletter to one recipient: its events share campaign and message id."""

    campaign: str
    index: int
    recipient: str

    def row(self, kind: str, when: datetime, bounce: str = "") -> tuple[str, ...]:
        stamp = when.isoformat().replace("+00:00", "Z")
        message_id = f"<{self.campaign}.{self.index}@{SENDER_DOMAIN}>"
        event_id = f"{self.campaign}-{self.index}-{kind}"
        return (event_id, kind, bounce, self.recipient, stamp, self.campaign, message_id)


def write_events(directory: Path, today: date) -> Path:
    """The delivery events of the newsletter sends, in the generic events CSV."""
    path = directory / "events.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = CsvWriter(handle)
        writer.writerow(EVENT_COLUMNS)
        writer.writerows(_events(today))
    return path
