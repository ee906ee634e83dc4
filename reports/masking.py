"""Personal data in reports is minimised: addresses masked unless asked otherwise."""

from __future__ import annotations

import hmac


def mask(address: str) -> str:
    """``john@example.com`` -> ``j***@example.com`` (the domain stays: it says which provider)."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def reference(key: bytes, address: str) -> str:
    """A short stable tag telling masked addresses apart (``j***@gmail.com`` is many people).

    Keyed with the database's secret salt, so the tag cannot be checked against a
    guessed address without the database.
    """
    digest = hmac.new(key, b"reference:" + address.strip().lower().encode("utf-8"), "sha256")
    return digest.hexdigest()[:6]
