"""Personal data in reports is minimised: addresses masked unless asked otherwise."""

from __future__ import annotations


def mask(address: str) -> str:
    """``john@example.com`` -> ``j***@example.com`` (the domain stays: it says which provider)."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
