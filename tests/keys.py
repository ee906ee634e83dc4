"""DKIM public keys for test zones, made fresh with the cryptography package."""

from __future__ import annotations

import base64
import functools
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def _spki(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


@functools.cache
def rsa_key(bits: int) -> str:
    """Base64 SubjectPublicKeyInfo of an RSA key with a ``bits``-bit modulus."""
    if bits >= 1024:
        return _spki(rsa.generate_private_key(65537, bits).public_key())
    # cryptography refuses to generate keys this weak; a public key only
    # needs a modulus of the right length to be parsed and measured.
    modulus = secrets.randbits(bits) | (1 << (bits - 1)) | 1
    return _spki(rsa.RSAPublicNumbers(65537, modulus).public_key())


@functools.cache
def ed25519_key() -> str:
    """Base64 raw ed25519 public key (RFC 8463)."""
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode("ascii")


def txt(value: str) -> str:
    """A TXT rdata in zone syntax, split into 255-byte strings."""
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)] or [""]
    return "( " + " ".join(f'"{chunk}"' for chunk in chunks) + " )"
