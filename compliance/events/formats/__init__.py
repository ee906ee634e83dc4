"""Event formats by source name: each turns one record into normalised events.

A format is a module with ``SOURCE``, ``parse(record) -> Iterator[DeliveryEvent | Ignored]``
and ``looks_like(record) -> bool`` (to tell JSON payloads apart with ``--source auto``).
The parsers know nothing of files, databases or Flask: the importer and the
webhook endpoints share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from compliance.events.normalised import DeliveryEvent, Ignored, RecordError


@dataclass(frozen=True)
class EventFormat:
    """How to read one source's records."""

    source: str
    parse: Callable[[Mapping[str, Any]], Iterator[DeliveryEvent | Ignored]]
    looks_like: Callable[[Mapping[str, Any]], bool]


# JSON formats by source name (CSV files take the bulk path of the importer).
FORMATS: dict[str, EventFormat] = {}


def register(module: Any) -> None:
    """Add a format module to :data:`FORMATS` (called below, for each ESP)."""
    FORMATS[module.SOURCE] = EventFormat(module.SOURCE, module.parse, module.looks_like)


def detect(record: Mapping[str, Any]) -> EventFormat:
    """The format a JSON record is in, or RecordError."""
    for event_format in FORMATS.values():
        if event_format.looks_like(record):
            return event_format
    keys = ", ".join(sorted(record)[:6])
    raise RecordError(f"not a payload of a known ESP (keys: {keys}); give --source")


# Imported here, after FORMATS exists, so that importing the package
# registers every format. Order matters only to --source auto: the most
# specific markers first.
from compliance.events.formats import mailgun, mailjet, postmark, sendgrid, ses  # noqa: E402

for _module in (ses, postmark, mailgun, sendgrid, mailjet):
    register(_module)
