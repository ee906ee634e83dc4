"""A test CA and loopback TLS servers: HTTPS (MTA-STS policies, BIMI files) and SMTP with STARTTLS.

Certificates are made fresh with ``cryptography``; the servers listen on
127.0.0.1 at ports the checks are pointed to through ``[transport]``.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.servers import free_port, smtp_server


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertificateAuthority:
    """A root CA that issues server certificates; ``ca_file`` is its PEM."""

    directory: Path
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Postwarden Test CA")])
        now = dt.datetime.now(dt.UTC)
        public = self.key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = self.directory / "test-ca.pem"
        self.ca_file.write_bytes(_pem(self.certificate))

    def issue(
        self,
        names: tuple[str, ...],
        *,
        days: float = 90,
        file_name: str | None = None,
        signer: CertificateAuthority | None = None,
    ) -> tuple[Path, Path]:
        """A certificate for ``names``, valid ``days`` more (negative: expired); its files."""
        issuer = signer or self
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        not_after = now + dt.timedelta(days=days)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(issuer.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(now - dt.timedelta(days=1), not_after - dt.timedelta(days=2)))
            .not_valid_after(not_after)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
            .sign(issuer.key, hashes.SHA256())
        )
        stem = file_name or names[0]
        chain_path, key_path = self.directory / f"{stem}.pem", self.directory / f"{stem}.key"
        chain_path.write_bytes(_pem(certificate))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return chain_path, key_path


@dataclass(frozen=True)
class Page:
    """What the HTTPS server answers for one path."""

    body: bytes
    status: int = 200
    content_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class HttpsServer:
    port: int
    pages: dict[str, Page]
    requests: list[tuple[str, str]]


@contextmanager
def https_server(
    certificates: Mapping[str, tuple[Path, Path]], pages: Mapping[str, Page]
) -> Iterator[HttpsServer]:
    """An HTTPS server on 127.0.0.1 choosing its certificate by SNI.

    ``certificates`` maps a server name to its (chain, key) files; ``pages``
    maps ``host/path`` (the Host header without port, and the path) to a Page.
    """
    contexts: dict[str, ssl.SSLContext] = {}
    for name, (chain, key) in certificates.items():
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(chain), str(key))
        contexts[name] = context
    default = next(iter(contexts.values()))

    def pick(sock: ssl.SSLObject, server_name: str, _context: ssl.SSLContext) -> None:
        if server_name in contexts:
            sock.context = contexts[server_name]

    default.sni_callback = pick
    state = HttpsServer(0, dict(pages), [])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            state.requests.append((host, self.path))
            page = state.pages.get(f"{host}{self.path}", Page(b"not found", status=404))
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            for name, value in page.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests read state.requests instead

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    server.socket = default.wrap_socket(server.socket, server_side=True)
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def starttls_server(tls_files: tuple[Path, Path]) -> Iterator[int]:
    """An SMTP server on 127.0.0.1 offering STARTTLS with ``tls_files``; yields its port."""
    with smtp_server(tls_files=tls_files) as server:
        yield server.port
