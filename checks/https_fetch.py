"""The HTTPS seam: one GET with certificate validation, no redirects, bounded in size and time.

Used for the MTA-STS policy, the BIMI logo and the BIMI certificate. The
host's addresses come from the DNS seam (the caller resolves them), so the
fetch reaches exactly what the sweep's resolver says, loopback in tests.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

FetchFailure = Literal[
    "connect", "certificate", "tls", "redirect", "status", "too_large", "timeout", "url"
]
# What says nothing about the site's configuration: could not determine.
UNDETERMINED: frozenset[str] = frozenset({"connect", "timeout"})


class FetchError(Exception):
    """An HTTPS fetch that did not return a body; ``kind`` says why."""

    def __init__(self, kind: FetchFailure, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.kind: FetchFailure = kind
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class HttpsResponse:
    """A 200 answer: its content type and body."""

    content_type: str
    body: bytes


@dataclass(frozen=True)
class HttpsUrl:
    """An https URL split for fetching: host, explicit port (None: the default) and path."""

    host: str
    port: int | None
    path: str


def parse_https_url(url: str) -> HttpsUrl:
    """Split an ``https://`` URL; FetchError("url") for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise FetchError("url", f"{url!r}: {error}") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise FetchError("url", f"{url!r} is not an https:// URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return HttpsUrl(parts.hostname.lower(), port, path)


def fetch_https(
    host: str,
    path: str,
    addresses: Sequence[str],
    *,
    port: int,
    timeout: float,
    max_bytes: int,
    ca_file: str | None = None,
) -> HttpsResponse:
    """GET ``https://host:port/path`` from the first of ``addresses`` that answers.

    The certificate must be valid for ``host`` (``ca_file``, else the
    system's store); a redirect is refused, not followed (RFC 8461 3.3);
    more than ``max_bytes`` of body, or more than ``timeout`` seconds in
    all, ends the fetch.
    """
    if not addresses:
        raise FetchError("connect", f"{host} has no address")
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    last: FetchError | None = None
    for address in addresses:
        try:
            raw = socket.create_connection((address, port), timeout=timeout)
        except OSError as error:
            last = FetchError("connect", f"{host} ({address}) port {port}: {error}")
            continue
        try:
            return _get(raw, context, host, path, port, deadline, max_bytes)
        finally:
            raw.close()
    assert last is not None
    raise last


def _get(
    raw: socket.socket,
    context: ssl.SSLContext,
    host: str,
    path: str,
    port: int,
    deadline: float,
    max_bytes: int,
) -> HttpsResponse:
    try:
        tls = context.wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as error:
        raise FetchError("certificate", f"{host}: {error.verify_message}") from None
    except TimeoutError:
        raise FetchError("timeout", f"{host}: TLS handshake timed out") from None
    except (ssl.SSLError, OSError) as error:
        raise FetchError("tls", f"{host}: TLS handshake failed: {error}") from None
    connection = http.client.HTTPConnection(host, port)
    connection.sock = tls  # http.client sends on a socket it is given as is
    try:
        authority = host if port == 443 else f"{host}:{port}"
        connection.request(
            "GET",
            path,
            headers={"Host": authority, "User-Agent": "postwarden", "Connection": "close"},
        )
        response = connection.getresponse()
        if 300 <= response.status < 400:
            where = response.getheader("Location", "")
            raise FetchError(
                "redirect",
                f"{host}{path} redirects ({response.status}) to {where}",
                response.status,
            )
        if response.status != 200:
            raise FetchError(
                "status", f"{host}{path} answered HTTP {response.status}", response.status
            )
        body = bytearray()
        while chunk := response.read(8192):
            body += chunk
            if len(body) > max_bytes:
                raise FetchError("too_large", f"{host}{path} is over {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError("timeout", f"{host}{path} took too long")
        return HttpsResponse(response.getheader("Content-Type", "") or "", bytes(body))
    except TimeoutError:
        raise FetchError("timeout", f"{host}{path}: timed out") from None
    except (http.client.HTTPException, OSError) as error:
        raise FetchError("connect", f"{host}{path}: {error}") from None
    finally:
        connection.close()
