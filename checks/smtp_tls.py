"""The SMTP STARTTLS seam: connect to an MX, EHLO, STARTTLS, and keep what TLS showed.

The handshake does not verify the certificate: the checks want to see the
certificate the server presents even when it is expired, self-signed or
for another name, and judge it themselves (:mod:`checks.certificates`).
Old protocol versions are allowed for the same reason: a server that only
speaks TLS 1.0 is reported as such, not as unreachable.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Literal

FailureKind = Literal["connect", "protocol", "no_starttls", "handshake"]

_MAX_REPLY_LINES = 100
_EHLO_NAME = "postwarden.invalid"


class SmtpTlsError(Exception):
    """The STARTTLS probe could not complete; ``kind`` says at which step."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: FailureKind = kind
        self.reason = reason


@dataclass(frozen=True)
class TlsSession:
    """What one STARTTLS handshake showed: the protocol and the chain (DER, leaf first)."""

    tls_version: str
    chain: tuple[bytes, ...]


def _read_reply(reader: _LineReader) -> tuple[int, list[str]]:
    lines: list[str] = []
    for _ in range(_MAX_REPLY_LINES):
        line = reader.readline()
        if len(line) < 3 or not line[:3].isdigit():
            raise SmtpTlsError("protocol", f"unexpected reply {line[:60]!r}")
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(line[:3]), lines
    raise SmtpTlsError("protocol", "reply of too many lines")


class _LineReader:
    """CRLF lines from a plain socket, no further than each line (STARTTLS follows)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        # A server dripping a byte at a time resets the socket's timeout at every
        # byte; the whole conversation is bounded instead.
        self.deadline = deadline

    def readline(self) -> str:
        data = bytearray()
        while not data.endswith(b"\n"):
            if time.monotonic() > self.deadline:
                raise SmtpTlsError("connect", "the server is too slow to answer")
            chunk = self.sock.recv(1)
            if not chunk:
                raise SmtpTlsError("protocol", "the server closed the connection")
            data += chunk
            if len(data) > 4096:
                raise SmtpTlsError("protocol", "reply line over 4096 bytes")
        return data.decode("ascii", "replace").rstrip("\r\n")


def _chain_of(tls: ssl.SSLSocket) -> tuple[bytes, ...]:
    # Python 3.13 makes get_unverified_chain public; 3.10-3.12 have it on the
    # private SSL object. The leaf alone is the fallback.
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        chain = getter() or []
        return tuple(cert.public_bytes(ssl._ssl.ENCODING_DER) for cert in chain)  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def probe_starttls(host: str, address: str, port: int, timeout: float) -> TlsSession:
    """EHLO and STARTTLS with the MX ``host`` at ``address``:``port``; raises SmtpTlsError."""
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as error:
        raise SmtpTlsError("connect", f"{address} port {port}: {error.strerror or error}") from None
    try:
        reader = _LineReader(sock, time.monotonic() + 2 * timeout)
        code, _lines = _read_reply(reader)
        if code != 220:
            raise SmtpTlsError("protocol", f"greeting {code}")
        sock.sendall(f"EHLO {_EHLO_NAME}\r\n".encode())
        code, lines = _read_reply(reader)
        if code != 250:
            raise SmtpTlsError("protocol", f"EHLO answered {code}")
        if not any(line.split(" ")[0].upper() == "STARTTLS" for line in lines[1:]):
            raise SmtpTlsError("no_starttls", "the server does not offer STARTTLS")
        sock.sendall(b"STARTTLS\r\n")
        code, _lines = _read_reply(reader)
        if code != 220:
            raise SmtpTlsError("no_starttls", f"STARTTLS answered {code}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        try:
            tls = context.wrap_socket(sock, server_hostname=host)
        except (ssl.SSLError, OSError) as error:
            raise SmtpTlsError("handshake", f"TLS handshake failed: {error}") from None
        try:
            session = TlsSession(tls.version() or "unknown", _chain_of(tls))
            # The session is already known; a rude close changes nothing.
            with contextlib.suppress(OSError):
                tls.sendall(b"QUIT\r\n")
            return session
        finally:
            tls.close()
    except TimeoutError:
        raise SmtpTlsError("connect", f"{address} port {port}: timed out") from None
    except OSError as error:
        raise SmtpTlsError("connect", f"{address} port {port}: {error}") from None
    finally:
        sock.close()
