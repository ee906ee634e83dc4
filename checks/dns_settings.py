"""Where and how to resolve: nameserver addresses and DNS settings.

Apart from :mod:`checks.dns` because reading the settings (every command does) should not
import dnspython; :mod:`checks.dns` re-exports every name here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 1
# Probes in flight. Monitoring is bound by round trips, not CPU: at a 30 ms
# round trip, 64 checks 1,000 domains half again as fast as 32 (bench/).
DEFAULT_CONCURRENCY = 64


@dataclass(frozen=True)
class Nameserver:
    """A plain DNS (UDP/TCP) nameserver address."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """Parse ``HOST[:PORT]`` (IPv6 as ``[::1]:5353`` or bare ``::1``).

    Raises ``ValueError`` with a one-line reason for anything else; host
    names are refused because resolving them would need a resolver first.
    """
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            raise ValueError(f"nameserver {text!r}: missing ']' after the IPv6 address")
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"nameserver {text!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"nameserver {text!r}: {host!r} is not an IP address") from None
    port = 53
    if port_text:
        # isdigit() alone takes '²', which int() refuses.
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ValueError(f"nameserver {text!r}: port {port_text!r} is not 1-65535")
        port = int(port_text)
    return Nameserver(str(address), port)


@dataclass(frozen=True)
class DnsSettings:
    """How to resolve.

    ``nameservers`` empty means the system's; ``timeout`` is the wait for one
    answer, and a lookup that times out is sent ``retries`` more times before
    it is given up as a failure (so a dead server costs at most
    ``lookup_lifetime`` per name and sweep). The checks of one target are
    given ``target_budget`` in all: a lookup they still need after it is
    not asked, and fails the way a timeout does.
    """

    nameservers: tuple[Nameserver, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES

    @property
    def lookup_lifetime(self) -> float:
        """The longest one lookup of a probe waits: every try timing out."""
        return self.timeout * (self.retries + 1)

    @property
    def target_budget(self) -> float:
        """The longest the checks of one target wait for DNS.

        Two lookup lifetimes: a check often needs one answer before it can
        ask the next (an SPF record, then its ``include:``), so two lookups
        in a row may time out whole; whatever a check asks after that fails
        at once instead of adding another lifetime.
        """
        return 2 * self.lookup_lifetime
