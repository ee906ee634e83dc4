"""Reading fields of an ESP payload, with errors that name the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from compliance.events.normalised import RecordError, normalise_recipient, parse_time


def get(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``bounce.timestamp``), or None if any step is absent."""
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def text(record: Mapping[str, Any], path: str) -> str:
    """The value at ``path`` as stripped text ('' if absent or null)."""
    value = get(record, path)
    return "" if value is None else str(value).strip()


def required(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path``, or RecordError naming it."""
    value = get(record, path)
    if value is None or value == "":
        raise RecordError(f"{path} is missing")
    return value


def time_at(record: Mapping[str, Any], path: str) -> datetime:
    """The time at ``path`` (ISO 8601 or Unix seconds) in UTC, or RecordError naming it."""
    return parse_time(required(record, path), field=path)


def recipient_at(record: Mapping[str, Any], path: str) -> str:
    """The address at ``path``, lower-cased, or RecordError naming it."""
    return normalise_recipient(required(record, path), field=path)


def listed(record: Mapping[str, Any], path: str) -> list[Any]:
    """The list at ``path`` ([] if absent), or RecordError if it is something else."""
    value = get(record, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{path} is not a list")
    return value


def first_text(value: Any) -> str:
    """A string, or the first of a list of strings ('' for neither)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value).strip()
