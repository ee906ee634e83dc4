"""Certificates as the transport checks judge them (pure, on DER bytes).

Name, chain and expiry are judged apart, so that one problem does not
hide another: the chain is verified for a name the certificate does carry
and at a time it is valid, so a certificate for the wrong name or past its
date still tells whether its chain is sound.
"""

from __future__ import annotations

import hashlib
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import DNSName
from cryptography.x509.oid import ExtensionOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError


@dataclass(frozen=True)
class CertificateFacts:
    """What a presented chain says, ready for the findings."""

    subject_names: tuple[str, ...]
    expires: datetime
    days_left: int
    name_matches: bool
    chain_valid: bool
    chain_error: str | None = None


def load_trust_store(ca_file: str | None) -> list[x509.Certificate]:
    """The certificates of ``ca_file``, else of the system's default CA file."""
    defaults = ssl.get_default_verify_paths()
    path = ca_file or defaults.cafile or defaults.openssl_cafile
    with warnings.catch_warnings():
        # System stores carry old roots with negative serial numbers, which
        # cryptography warns about; they are the operator's to judge, not ours.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_pem_x509_certificates(Path(path).read_bytes())


def names_of(certificate: x509.Certificate) -> tuple[str, ...]:
    """DNS names of the subjectAltName, else the common name (lower-case)."""
    try:
        san = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        names = san.value.get_values_for_type(x509.DNSName)  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        names = [
            str(attribute.value)
            for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
    return tuple(name.lower().rstrip(".") for name in names)


def name_matches(names: Sequence[str], host: str) -> bool:
    """Whether ``host`` is one of ``names``, a wildcard covering one leftmost label included."""
    host = host.lower().rstrip(".")
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            label, rest = host.split(".", 1)
            if label and rest == name[2:]:
                return True
    return False


def _verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    trusted: Sequence[x509.Certificate],
    names: Sequence[str],
) -> str | None:
    """None when the chain leads to ``trusted``, else why not."""
    if not trusted:
        return "no trusted certificates to verify against"
    # A wildcard name stands for any one label under it.
    plain = [name for name in names if not name.startswith("*.")]
    subject = plain[0] if plain else (f"x.{names[0][2:]}" if names else None)
    if not subject:
        return "the certificate names no host"
    # At a moment it is valid, so that expiry (judged apart) does not hide the chain.
    moment = leaf.not_valid_before_utc + (leaf.not_valid_after_utc - leaf.not_valid_before_utc) / 2
    verifier = (
        PolicyBuilder()
        .store(Store(list(trusted)))
        .time(moment)
        .build_server_verifier(DNSName(subject))
    )
    try:
        verifier.verify(leaf, list(intermediates))
    except VerificationError as error:
        return str(error)
    except ValueError as error:  # a name cryptography cannot take as a DNS name
        return str(error)
    return None


def describe_chain(
    chain: Sequence[bytes], host: str, now: datetime, trusted: Sequence[x509.Certificate]
) -> CertificateFacts:
    """Judge a presented chain (DER, leaf first) for ``host`` at ``now``; ValueError if empty."""
    if not chain:
        raise ValueError("no certificate was presented")
    certificates = [x509.load_der_x509_certificate(item) for item in chain]
    leaf = certificates[0]
    names = names_of(leaf)
    expires = leaf.not_valid_after_utc
    error = _verify_chain(leaf, certificates[1:], trusted, names)
    return CertificateFacts(
        subject_names=names,
        expires=expires,
        days_left=(expires - now) // timedelta(days=1),
        name_matches=name_matches(names, host),
        chain_valid=error is None,
        chain_error=error,
    )


def spki_der(certificate: x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo of ``certificate`` (what TLSA selector 1 covers)."""
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def tlsa_association(der: bytes, selector: int, matching_type: int) -> bytes | None:
    """The TLSA association data of a DER certificate; None for unknown parameters."""
    if selector == 0:
        data = der
    elif selector == 1:
        data = spki_der(x509.load_der_x509_certificate(der))
    else:
        return None
    if matching_type == 0:
        return data
    if matching_type == 1:
        return hashlib.sha256(data).digest()
    if matching_type == 2:
        return hashlib.sha512(data).digest()
    return None
