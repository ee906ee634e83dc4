"""Targets: what a user asks Postwarden to check, validated up front."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

TargetKind = Literal["domain", "ip"]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Target:
    """A domain (with its DKIM selectors) or a sending IP address."""

    name: str
    kind: TargetKind
    selectors: tuple[str, ...] = ()
    # Selectors receivers' DMARC reports saw pass: discovery tries them first.
    reported_selectors: tuple[str, ...] = ()


def normalize_domain(text: str) -> str:
    """Lower-case, IDNA-encode and validate a domain name; ValueError if it is not one."""
    value = text.strip().rstrip(".").lower()
    try:
        ascii_name = value.encode("idna").decode("ascii") if value else ""
    except UnicodeError:
        raise ValueError(f"{text!r} is not a valid domain name") from None
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253 or not all(_LABEL.match(x) for x in labels):
        raise ValueError(f"{text!r} is not a domain name or IP address")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} is not a domain name or IP address")
    return ascii_name


def parse_target(text: str, selectors: tuple[str, ...] = ()) -> Target:
    """Classify ``text`` as an IP address or a domain; ValueError for neither."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return Target(normalize_domain(text), "domain", selectors)
    return Target(str(address), "ip")


def validate_selector(text: str) -> str:
    """A DKIM selector is one or more DNS labels (RFC 6376 3.1)."""
    value = text.strip().lower()
    if not value or not all(
        re.match(r"^[a-z0-9_](?:[a-z0-9_-]{0,62})$", x) for x in value.split(".")
    ):
        raise ValueError(f"{text!r} is not a valid DKIM selector")
    return value
