"""Verifying that an ESP webhook really comes from the ESP (no Flask, no network here).

- Amazon SNS (SES): the message's canonical string signed with the key of
  the certificate at ``SigningCertURL`` (SignatureVersion 1: SHA1withRSA,
  2: SHA256withRSA). https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
- SendGrid signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw
  body, the public key from the SendGrid settings. https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
- Mailgun: HMAC-SHA256 of timestamp + token with the webhook signing key.
  https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks

SendGrid and Mailgun sign a timestamp so that a recorded request cannot be
sent again later (both ESPs advise checking it): :func:`check_fresh`
refuses one signed too long ago. SNS signs its ``Timestamp`` too, but
re-delivers the same signed message for as long as its retry policy says
(up to an hour), so SNS messages are not judged by age; events are
deduplicated on their ids in any case.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from checks.errors import BadInput

# Where SNS signing certificates may come from (anything else is refused).
SNS_CERT_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")

_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip


class SignatureError(BadInput):
    """The request is not signed as its ESP signs: refuse it, store nothing."""


def sns_string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The canonical "name\\nvalue\\n" string SNS signs, by message type."""
    fields = _SNS_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise SignatureError(f"unknown SNS message type {message.get('Type')!r}")
    parts = []
    for name in fields:
        if name in message and message[name] is not None:
            parts.append(f"{name}\n{message[name]}\n")
    return "".join(parts).encode("utf-8")


def sns_certificate_url(message: Mapping[str, Any], host_pattern: re.Pattern[str]) -> str:
    """The signing certificate's URL, if it is https on an allowed host."""
    url = str(message.get("SigningCertURL", ""))
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or not host_pattern.fullmatch(parts.hostname):
        raise SignatureError(f"SigningCertURL {url!r} is not an SNS certificate URL")
    return url


def verify_sns(message: Mapping[str, Any], certificate_pem: bytes) -> None:
    """SignatureError unless ``message`` is signed by the certificate's key."""
    version = str(message.get("SignatureVersion"))
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise SignatureError(f"unknown SNS SignatureVersion {version!r}")
    try:
        key = x509.load_pem_x509_certificate(certificate_pem).public_key()
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except ValueError as error:
        raise SignatureError(f"unreadable SNS signature or certificate: {error}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the SNS certificate's key is not RSA")
    try:
        key.verify(signature, sns_string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SignatureError("the SNS signature does not verify") from None


def verify_sendgrid(public_key: str, signature: str, timestamp: str, body: bytes) -> None:
    """SignatureError unless the Event Webhook request is signed by ``public_key``."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        raw_signature = base64.b64decode(signature, validate=True)
    except ValueError as error:
        raise SignatureError(f"unreadable SendGrid key or signature: {error}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureError("the SendGrid verification key is not an EC key")
    try:
        key.verify(raw_signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError("the SendGrid signature does not verify") from None


def check_fresh(esp: str, timestamp: object, now: datetime, max_age: int) -> None:
    """SignatureError unless the signed Unix ``timestamp`` is within ``max_age`` seconds of
    ``now`` (either way: a clock may run ahead); ``max_age`` 0 accepts any."""
    if not max_age:
        return
    try:
        signed = float(str(timestamp).strip())
    except ValueError:
        raise SignatureError(f"the {esp} timestamp {str(timestamp)[:40]!r} is not a time") from None
    age = now.timestamp() - signed
    if not abs(age) <= max_age:  # also refuses NaN
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s ahead"
        raise SignatureError(
            f"the {esp} request was signed {when}; more than {max_age} s either way is "
            "refused as a replay"
        )


def verify_mailgun(signing_key: str, signature: Mapping[str, Any]) -> None:
    """SignatureError unless the body's ``signature`` block is Mailgun's HMAC."""
    timestamp = str(signature.get("timestamp", ""))
    token = str(signature.get("token", ""))
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), str(signature.get("signature", ""))):
        raise SignatureError("the Mailgun signature does not verify")
