"""Result objects of the transport and brand checks (serialised by checks.results.to_json).

The keys are those of DESIGN.md ("Transport and brand"); findings name the
MX host they are about in their message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.results import CheckResult


@dataclass(frozen=True)
class MtaStsResult(CheckResult):
    record: str | None = None
    policy_id: str | None = None
    mode: str | None = None
    max_age: int | None = None
    mx_patterns: tuple[str, ...] = ()
    policy_sha256: str | None = None
    # The hash of the policy first seen under policy_id (what a changed policy is told by).
    id_policy_sha256: str | None = None


@dataclass(frozen=True)
class TlsRptResult(CheckResult):
    record: str | None = None
    rua: tuple[str, ...] = ()


@dataclass(frozen=True)
class StarttlsHost:
    address: str | None = None
    tls_version: str | None = None
    certificate_expires: str | None = None
    days_left: int | None = None
    name_matches: bool | None = None
    chain_valid: bool | None = None
    names: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class StarttlsResult(CheckResult):
    hosts: Mapping[str, StarttlsHost] = field(default_factory=dict)


@dataclass(frozen=True)
class DnssecResult(CheckResult):
    signed: bool | None = None
    validated: bool | None = None


@dataclass(frozen=True)
class DaneHost:
    tlsa: tuple[str, ...] = ()
    matches: bool | None = None


@dataclass(frozen=True)
class DaneResult(CheckResult):
    hosts: Mapping[str, DaneHost] = field(default_factory=dict)
    dnssec_validated: bool | None = None


@dataclass(frozen=True)
class VmcFacts:
    subject: str | None = None
    expires: str | None = None
    days_left: int | None = None
    hash_matches: bool | None = None
    kind: str | None = None


@dataclass(frozen=True)
class BimiResult(CheckResult):
    record: str | None = None
    logo_url: str | None = None
    logo_valid: bool | None = None
    authority_url: str | None = None
    vmc: VmcFacts | None = None
