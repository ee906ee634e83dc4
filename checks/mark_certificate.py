"""BIMI mark certificates (VMC/CMC): the PEM chain, its expiry, and the logo it carries (pure).

The logo sits in the RFC 3709 logotype extension as a ``data:`` URI
(usually gzip-compressed SVG) with its hash; the extension is walked as
plain DER rather than decoded by a full ASN.1 schema, picking the URIs and
the SHA-256 hashes. Limits, said plainly: the chain's signatures are
verified link by link, but its root is not checked against a store of mark
certificate authorities (none ships with the system).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature

LOGOTYPE_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.12")
BIMI_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.31")
MARK_TYPE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.53087.1.13")
_MAX_DEPTH = 32
_IA5STRING, _OCTET_STRING = 0x16, 0x04


@dataclass(frozen=True)
class MarkFacts:
    """What a mark certificate chain says, for the findings."""

    problems: tuple[str, ...]
    subject: str | None = None
    expires: datetime | None = None
    days_left: int | None = None
    kind: str | None = None
    # The SVG(s) embedded in the logotype extension, whose hash verified.
    logos: tuple[bytes, ...] = ()


def der_items(data: bytes, depth: int = 0) -> Iterator[tuple[int, bytes]]:
    """Every (tag, value) of DER ``data``, constructed values' contents included."""
    if depth > _MAX_DEPTH:
        raise ValueError("DER nested too deeply")
    index = 0
    while index < len(data):
        tag = data[index]
        if tag & 0x1F == 0x1F or index + 1 >= len(data):
            raise ValueError("unsupported DER tag")
        length = data[index + 1]
        index += 2
        if length & 0x80:
            count = length & 0x7F
            if not 0 < count <= 4:
                raise ValueError("bad DER length")
            length = int.from_bytes(data[index : index + count], "big")
            index += count
        value = data[index : index + length]
        if len(value) < length:
            raise ValueError("truncated DER")
        index += length
        yield tag, value
        if tag & 0x20:
            yield from der_items(value, depth + 1)


def embedded_logos(extension: bytes) -> tuple[tuple[bytes, ...], list[str]]:
    """The SVGs of a logotype extension whose hash matches, and the problems met."""
    items = list(der_items(extension))
    hashes = {value for tag, value in items if tag == _OCTET_STRING and len(value) == 32}
    logos: list[bytes] = []
    problems: list[str] = []
    for tag, value in items:
        if tag != _IA5STRING or not value.startswith(b"data:image/svg+xml"):
            continue
        header, _comma, payload = value.partition(b",")
        if b";base64" not in header:
            problems.append("the logo's data: URI is not base64")
            continue
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError:
            problems.append("the logo's data: URI is not valid base64")
            continue
        if hashlib.sha256(data).digest() not in hashes:
            problems.append("the logo's hash in the certificate does not match its data")
            continue
        svg = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        logos.append(svg)
    if not logos and not problems:
        problems.append("the logotype extension holds no SVG logo")
    return tuple(logos), problems


def describe_mark(pem: bytes, domain: str, now: datetime) -> MarkFacts:
    """Judge a PEM chain (mark certificate first) for ``domain`` at ``now``."""
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        return MarkFacts(problems=(f"not a PEM certificate chain ({error})",))
    leaf = chain[0]
    problems = _chain_problems(chain)
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if BIMI_EKU not in usages:
            problems.append("not issued for BIMI (extended key usage)")
    except x509.ExtensionNotFound:
        problems.append("no extended key usage")
    names = _san_names(leaf)
    wanted = {domain, f"default._bimi.{domain}"}
    if not wanted & names:
        problems.append(f"issued for {', '.join(sorted(names)) or 'no name'}, not {domain}")
    logos: tuple[bytes, ...] = ()
    try:
        extension = leaf.extensions.get_extension_for_oid(LOGOTYPE_OID).value
        raw = extension.value if isinstance(extension, x509.UnrecognizedExtension) else b""
        logos, logo_problems = embedded_logos(raw)
        problems += logo_problems
    except x509.ExtensionNotFound:
        problems.append("no logotype extension")
    except ValueError as error:
        problems.append(f"unreadable logotype extension ({error})")
    kinds = leaf.subject.get_attributes_for_oid(MARK_TYPE_OID)
    expires = leaf.not_valid_after_utc
    return MarkFacts(
        problems=tuple(problems),
        subject=leaf.subject.rfc4514_string(),
        expires=expires,
        days_left=(expires - now) // timedelta(days=1),
        kind=str(kinds[0].value) if kinds else None,
        logos=logos,
    )


def _san_names(certificate: x509.Certificate) -> set[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {name.lower().rstrip(".") for name in san.get_values_for_type(x509.DNSName)}


def _chain_problems(chain: Sequence[x509.Certificate]) -> list[str]:
    problems: list[str] = []
    for child, issuer in itertools.pairwise(chain):
        try:
            child.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            problems.append(
                f"{child.subject.rfc4514_string()} is not signed by the next certificate"
            )
    return problems
