"""What the transport and brand checks of one sweep share.

:class:`TransportSettings` says where to connect (ports, CA file, timeout)
and how to judge certificates; a :class:`TransportPlan` carries them through
one sweep with the time, the MTA-STS policies seen by earlier runs, the
trust store and one STARTTLS session per MX address, so that the
``starttls`` and ``dane`` checks of a domain look at the same handshake
instead of each connecting.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

    from checks.dnssec import AnchorError, Anchors
    from checks.smtp_tls import SmtpTlsError, TlsSession


# The transport and brand checks, in the order they are shown.
TRANSPORT_CHECKS = ("mta_sts", "tls_rpt", "starttls", "dnssec", "dane", "bimi")


@dataclass(frozen=True)
class TransportSettings:
    """Where the transport checks connect and how certificates are judged.

    The ports are settings so that tests and private networks can aim the
    checks at loopback; ``ca_file`` None means the system's trust store;
    ``trust_anchors`` None means the root zone's published anchors.
    """

    enabled: bool = True
    smtp_port: int = 25
    https_port: int = 443
    ca_file: str | None = None
    connect_timeout: float = 10.0
    trust_anchors: str | None = None
    certificate_warn_days: int = 30
    certificate_fail_days: int = 7


@dataclass(frozen=True)
class PreviousPolicy:
    """The MTA-STS policy an earlier run fetched: its id, the hash of the policy first
    seen under that id, and its mode."""

    policy_id: str
    sha256: str
    mode: str | None


@dataclass
class TransportPlan:
    """One sweep's transport context (thread-safe: the probes share it)."""

    settings: TransportSettings = field(default_factory=TransportSettings)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    previous_policies: Mapping[str, PreviousPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._guard = threading.Lock()
        self._sessions: dict[tuple[str, str], TlsSession | SmtpTlsError] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._trusted: list[x509.Certificate] | None = None
        self._anchors: Anchors | AnchorError | None = None
        # Signed answers of this sweep's DNSSEC validations (see checks.dnssec.Validator).
        self.signed_answers: dict[tuple[str, str], Any] = {}

    def anchors(self) -> Anchors:
        """The DNSSEC trust anchors, read once per sweep; AnchorError when unusable."""
        from checks.dnssec import AnchorError, load_anchors

        with self._guard:
            if self._anchors is None:
                try:
                    self._anchors = load_anchors(self.settings.trust_anchors)
                except AnchorError as error:
                    self._anchors = error
            anchors = self._anchors
        if isinstance(anchors, AnchorError):
            raise anchors
        return anchors

    def trusted(self) -> list[x509.Certificate]:
        """The trust store (``ca_file``, else the system's), read once per sweep.

        Empty when it cannot be read: every chain then fails to verify, with
        a reason that says so.
        """
        from checks.certificates import load_trust_store

        with self._guard:
            if self._trusted is None:
                try:
                    self._trusted = load_trust_store(self.settings.ca_file)
                except (OSError, ValueError):
                    self._trusted = []
            return self._trusted

    def starttls(self, host: str, address: str) -> TlsSession:
        """The STARTTLS handshake with ``host`` at ``address``, done once per sweep.

        Raises the :class:`SmtpTlsError` of the first attempt again for
        every later caller: one dead MX costs one timeout per sweep.
        """
        from checks.smtp_tls import SmtpTlsError, probe_starttls

        key = (host, address)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            outcome = self._sessions.get(key)
            if outcome is None:
                try:
                    outcome = probe_starttls(
                        host,
                        address,
                        self.settings.smtp_port,
                        self.settings.connect_timeout,
                    )
                except SmtpTlsError as error:
                    outcome = error
                self._sessions[key] = outcome
        if isinstance(outcome, SmtpTlsError):
            raise outcome
        return outcome
