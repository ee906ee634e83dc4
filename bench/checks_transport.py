"""The transport phase of bench/checks.py: what MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE and
BIMI cost per domain.

DOMAINS generated domains, each with an MX host and an MTA-STS host on
127.0.0.1, an `_mta-sts` record, a TLS-RPT record and a DANE TLSA record for
its MX, all in one zone signed with dnspython (its key is the trust anchor).
One HTTPS server serves every policy and one SMTP server offers STARTTLS,
both with a certificate from a CA made for the run. The real console script
checks every domain twice against the same data: with `--no-transport` and
with the transport checks; every check must pass. No peer does these checks
against a port other than 443 and 25 (checkdmarc's MTA-STS fetch takes no
port), so the comparison is Postwarden against itself.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import dns.zone
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.utils import CryptographyDeprecationWarning

from bench.checks import ORIGIN, _serve
from checks.certificates import spki_der
from checks.transport import TRANSPORT_CHECKS
from tests.tls_servers import CertificateAuthority, Page, https_server, starttls_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import dns.dnssec

POLICY = "version: STSv1\nmode: enforce\nmx: *.{domain}\nmax_age: 604800\n"


def transport_zone(domains: int, digest: str) -> tuple[str, str]:
    """The signed zone text and the trust anchor line for ``domains`` domains."""
    lines = ["$TTL 3600", "@ SOA ns hostmaster 1 3600 600 86400 300", "@ NS ns", "ns A 127.0.0.1"]
    for i in range(domains):
        name = f"t{i}"
        lines += [
            f"{name} MX 10 mx.{name}",
            f"mx.{name} A 127.0.0.1",
            f"_25._tcp.mx.{name} TLSA 3 1 1 {digest}",
            f"mta-sts.{name} A 127.0.0.1",
            f'_mta-sts.{name} TXT "v=STSv1; id=1"',
            f'_smtp._tls.{name} TXT "v=TLSRPTv1; rua=mailto:tls@{name}.{ORIGIN}"',
        ]
    zone = dns.zone.from_text("\n".join(lines) + "\n", origin=f"{ORIGIN}.", relativize=False)
    private = ed25519.Ed25519PrivateKey.generate()
    key = dns.dnssec.make_dnskey(private.public_key(), dns.dnssec.Algorithm.ED25519, flags=257)
    dns.dnssec.sign_zone(zone, keys=[(private, key)], lifetime=30 * 86400)
    return zone.to_text(relativize=False), f"{ORIGIN}. IN DNSKEY {key.to_text()}\n"


def _run(names: list[str], port: int, env: dict[str, str], extra: list[str]) -> float:
    script = Path(sys.executable).with_name("postwarden")
    command = [str(script), "check", *names, "--nameserver", f"127.0.0.1:{port}",
               "--no-blocklists", "--format", "json", *extra]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    results = json.loads(done.stdout or "[]")
    bad = [
        (r["target"], name, c["status"])
        for r in results
        for name, c in r["checks"].items()
        # SPF, DMARC and DKIM are not published here: only the transport checks are judged.
        if name in TRANSPORT_CHECKS and c["status"] != "pass"
    ]
    if len(results) != len(names) or bad:
        raise SystemExit(f"the transport phase did not pass: {bad[:5]} {done.stderr[-300:]}")
    return seconds


def run_transport_phase(domains: int, rtts: list[float], concurrency: int | None) -> None:
    """Print the transport checks' per-domain cost at each round-trip time."""
    names = [f"t{i}.{ORIGIN}" for i in range(domains)]
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        ca = CertificateAuthority(folder)
        hosts = tuple(f"{kind}.{name}" for name in names for kind in ("mx", "mta-sts"))
        chain, key = ca.issue(hosts, file_name="bench")
        certificate = x509.load_pem_x509_certificate(chain.read_bytes())
        zone_text, anchor = transport_zone(
            domains, hashlib.sha256(spki_der(certificate)).hexdigest()
        )
        anchors = folder / "anchors.txt"
        anchors.write_text(anchor)
        pages = {
            f"mta-sts.{name}/.well-known/mta-sts.txt": Page(POLICY.format(domain=name).encode())
            for name in names
        }
        certificates = {host: (chain, key) for host in hosts if host.startswith("mta-sts.")}
        extra = ["--concurrency", str(concurrency)] if concurrency else []
        print(
            f"\n{domains} domains; transport: MTA-STS (enforce), TLS-RPT, STARTTLS, "
            "DNSSEC (signed zone), DANE (3 1 1), no BIMI"
        )
        print(f"{'rtt':>6}  {'without':>14}  {'with transport':>16}  {'ms/domain':>10}")
        context = multiprocessing.get_context("spawn")
        with https_server(certificates, pages) as https, starttls_server((chain, key)) as smtp:
            base = {k: v for k, v in os.environ.items() if not k.startswith("POSTWARDEN_")}
            env = {
                **base,
                "POSTWARDEN_TRANSPORT_SMTP_PORT": str(smtp),
                "POSTWARDEN_TRANSPORT_HTTPS_PORT": str(https.port),
                "POSTWARDEN_TRANSPORT_CA_FILE": str(ca.ca_file),
                "POSTWARDEN_DNSSEC_TRUST_ANCHORS": str(anchors),
            }
            for rtt in rtts:
                parent, child = context.Pipe()
                server = context.Process(
                    target=_serve, args=(zone_text, rtt / 1000, child), daemon=True
                )
                server.start()
                try:
                    port = parent.recv()
                    without = _run(names, port, env, [*extra, "--no-transport"])
                    with_transport = _run(names, port, env, extra)
                finally:
                    parent.send("stop")
                    server.join(timeout=10)
                cost = (with_transport - without) / domains * 1000
                plain, full = domains / without, domains / with_transport
                print(
                    f"{rtt:>4g}ms  {plain:>8.1f} dom/s  {full:>10.1f} dom/s  {cost:>9.1f}",
                    flush=True,
                )
