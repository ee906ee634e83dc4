"""A throwaway Dovecot IMAP server on loopback (IMAPS, a test CA), like tests/postgres.py.

Dovecot runs as root here but serves the mail as ``nobody`` (it refuses uid 0
for mail processes), so its directory is world-traversable and the mail
owned by nobody.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port, make_certificate

DOVECOT = "/usr/sbin/dovecot"
USER = "dmarc-reports"
PASSWORD = "correct horse battery staple"


def dovecot_available() -> bool:
    return Path(DOVECOT).is_file() and os.geteuid() == 0


@dataclass
class Dovecot:
    """A running server: where it listens, its CA, and its user's Maildir."""

    port: int
    ca_file: Path
    maildir: Path
    root: Path

    def url(self, folder: str = "INBOX") -> str:
        return f"imaps://{USER}@127.0.0.1:{self.port}/{folder}"

    def deliver(self, raw: bytes, folder: str | None = None) -> None:
        """Put a message into the INBOX (or a folder), as a delivery agent would."""
        base = self.maildir if folder is None else self.maildir / f".{folder}"
        for sub in ("new", "cur", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        path = base / "new" / f"{time.time_ns()}.{uuid.uuid4().hex}.test"
        path.write_bytes(raw)
        _give_to_nobody(self.maildir)

    def messages(self, folder: str | None = None) -> list[bytes]:
        """The messages in the INBOX (or a folder), read from disk."""
        base = self.maildir if folder is None else self.maildir / f".{folder}"
        return [
            path.read_bytes()
            for sub in ("new", "cur")
            if (base / sub).is_dir()
            for path in sorted((base / sub).iterdir())
        ]

    def flags(self) -> list[str]:
        """The Maildir info part (flags) of each INBOX message's file name."""
        return sorted(p.name.partition(":2,")[2] for p in (self.maildir / "cur").glob("*"))


def _give_to_nobody(path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    for directory, _, files in os.walk(path):
        os.chown(directory, nobody.pw_uid, nobody.pw_gid)
        for name in files:
            os.chown(Path(directory) / name, nobody.pw_uid, nobody.pw_gid)


CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
mail_uid = nobody
mail_gid = nogroup
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in a new directory; stop it and remove everything afterwards."""
    root = Path(tempfile.mkdtemp(prefix="postwarden-dovecot-"))
    root.chmod(0o755)
    cert, key = make_certificate(root)
    port = free_port()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    maildir = root / "mail" / USER
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    _give_to_nobody(root / "mail")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, cert=cert, key=key, port=port))
    # Not captured: the daemon keeps its parent's descriptors, so a pipe would never close.
    subprocess.run(
        [DOVECOT, "-c", str(config)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_tls(port, cert)
        yield Dovecot(port, cert, maildir, root)
    finally:
        subprocess.run(
            [DOVECOT, "-c", str(config), "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if not (root / "run" / "master.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_tls(port: int, ca_file: Path) -> None:
    """Until the server greets over TLS (it greets only once its auth process is up)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    deadline = time.monotonic() + 20
    while True:
        try:
            client = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=5)
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        client.logout()
        return


@contextmanager
def cutting_proxy(target_port: int, cut_after: int) -> Iterator[int]:
    """A TCP proxy to ``target_port`` that drops both sides once the server sent ``cut_after``
    bytes: with TLS end to end, a cut in the middle of the largest response (a FETCH)."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while not stop.is_set():
                data = source.recv(4096)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    sink.sendall(data[: limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            return
        finally:
            for side in (source, sink):
                with suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)
                side.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=pump, args=(server, client, cut_after), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
