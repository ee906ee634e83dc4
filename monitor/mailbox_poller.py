"""One poller for every report mailbox: DMARC/TLS reports and ARF feedback loops.

A mailbox is an IMAPS URL (``imaps://USER@HOST[:PORT]/FOLDER``; the
certificate is verified, against ``ca_file`` when one is given). Each kind of
mailbox brings a :class:`MailboxHandler`: a function that imports one
message's bytes into the session, and the exceptions that mean "this message
is not one of mine". The poller owns everything else:

- each message is fetched with ``BODY.PEEK[]`` (it stays unread) and imported
  in its own transaction, committed before the message is touched;
- an imported message is then moved to the done folder (``MOVE``, or
  ``COPY`` + ``\\Deleted`` + ``EXPUNGE`` where the server lacks MOVE), so
  nothing is read twice. If the connection drops between the commit and the
  move, the next poll imports the message again, which the importer's
  de-duplication turns into nothing, and moves it then;
- a message the handler rejects is left where it is, flagged with the
  keyword ``$PostwardenSkipped`` so that it is reported once (logged and
  counted in the outcome), not at every poll;
- a dropped connection, a refused login or a bad certificate ends the poll
  with :class:`MailboxError` (one line); what was committed stays committed.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

SKIPPED = "$PostwardenSkipped"


class MailboxError(Exception):
    """The mailbox could not be polled (connection, login, TLS, protocol): one line."""


@dataclass(frozen=True)
class Mailbox:
    """Where a mailbox is and how to reach it."""

    url: str
    password: str | None
    done_folder: str
    ca_file: str | None = None
    timeout: float = 30.0

    @property
    def parts(self) -> tuple[str, int, str, str]:
        """Host, port, user and folder from the URL."""
        url = urlsplit(self.url)
        if url.scheme != "imaps" or not url.hostname or not url.username:
            raise MailboxError(f"{self.display}: not an imaps://USER@HOST[:PORT]/FOLDER URL")
        folder = unquote(url.path.lstrip("/")) or "INBOX"
        return url.hostname, url.port or 993, unquote(url.username), folder

    @property
    def display(self) -> str:
        """The URL without any password, for messages and logs."""
        url = urlsplit(self.url)
        host = url.hostname or "?"
        port = f":{url.port}" if url.port else ""
        user = f"{url.username}@" if url.username else ""
        return f"imaps://{user}{host}{port}{url.path}"


@dataclass(frozen=True)
class MailboxHandler:
    """What to do with a mailbox's messages: ``handle(session, raw, source, now)`` imports one
    message (and returns a one-line summary); ``rejects`` are the errors meaning it is not one."""

    kind: str
    handle: Callable[[Session, bytes, str, datetime], str]
    rejects: tuple[type[Exception], ...]


@dataclass
class PollOutcome:
    """What one poll did."""

    imported: int = 0
    skipped: int = 0
    summaries: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.imported} message(s) imported, {self.skipped} without a report left alone"


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Imaps(imaplib.IMAP4_SSL):
    """IMAP over TLS that closes its socket when the handshake fails (imaplib leaks it)."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        plain = imaplib.IMAP4._create_socket(self, timeout)  # type: ignore[attr-defined]
        try:
            wrapped: socket.socket = self.ssl_context.wrap_socket(plain, server_hostname=self.host)
            return wrapped
        except BaseException:
            plain.close()
            raise


def _connect(mailbox: Mailbox) -> imaplib.IMAP4_SSL:
    host, port, user, _ = mailbox.parts
    context = ssl.create_default_context(cafile=mailbox.ca_file)
    try:
        client = _Imaps(host, port, ssl_context=context, timeout=mailbox.timeout)
    except ssl.SSLError as error:
        raise MailboxError(f"{mailbox.display}: TLS failed: {error.reason or error}") from None
    except OSError as error:
        raise MailboxError(f"{mailbox.display}: cannot connect: {error}") from None
    try:
        client.login(user, mailbox.password or "")
    except imaplib.IMAP4.error as error:
        client.shutdown()
        raise MailboxError(f"{mailbox.display}: login refused: {_text(error)}") from None
    return client


def _text(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    return text.removeprefix("b'").removesuffix("'").strip() or type(error).__name__


def _check(response: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    status, data = response
    if status != "OK":
        detail = data[0].decode(errors="replace") if data and isinstance(data[0], bytes) else ""
        raise MailboxError(f"{what} failed: {detail}".rstrip(": "))
    return data


def _message_bytes(data: Sequence[object]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _server_name(client: imaplib.IMAP4_SSL, folder: str) -> str:
    """``folder`` ("a/b") with the server's hierarchy separator ("a.b" on Dovecot's Maildir)."""
    status, data = client.list('""', '""')
    line = data[0] if status == "OK" and data and isinstance(data[0], bytes) else b""
    match = re.search(rb'\) "(.)"', line)
    separator = match.group(1).decode() if match else "/"
    return folder.replace("/", separator)


def _move(client: imaplib.IMAP4_SSL, uid: bytes, folder: str, can_move: bool) -> None:
    if can_move:
        _check(client.uid("MOVE", uid.decode(), _quote(folder)), "MOVE")
        return
    _check(client.uid("COPY", uid.decode(), _quote(folder)), "COPY")
    _check(client.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
    _check(client.expunge(), "EXPUNGE")


def poll_mailbox(
    session: Session, mailbox: Mailbox, handler: MailboxHandler, now: datetime
) -> PollOutcome:
    """Import every new message of ``mailbox`` with ``handler``; see the module's docstring."""
    _, _, _, folder = mailbox.parts
    outcome = PollOutcome()
    client = _connect(mailbox)
    try:
        # Asked again: servers announce more (MOVE) once logged in than in their greeting.
        announced = _check(client.capability(), "CAPABILITY")
        capabilities = {
            word.upper()
            for line in announced
            if isinstance(line, bytes)
            for word in line.decode(errors="replace").split()
        }
        done = _server_name(client, mailbox.done_folder)
        # CREATE answers NO when the folder exists: that is the normal case.
        client.create(_quote(done))
        _check(client.select(_quote(folder)), f"SELECT {folder}")
        [found] = _check(client.uid("SEARCH", "NOT", "KEYWORD", SKIPPED), "SEARCH")
        uids = found.split() if isinstance(found, bytes) else []
        for uid in uids:
            data = _check(client.uid("FETCH", uid.decode(), "(BODY.PEEK[])"), "FETCH")
            raw = _message_bytes(data)
            if raw is None:
                continue  # expunged by someone else meanwhile
            source = f"{mailbox.display} UID {uid.decode()}"
            try:
                summary = handler.handle(session, raw, source, now)
            except handler.rejects as error:
                session.rollback()
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                logger.warning("%s: %s; left in place and not read again", source, reason)
                _check(client.uid("STORE", uid.decode(), "+FLAGS.SILENT", f"({SKIPPED})"), "STORE")
                outcome.skipped += 1
                outcome.summaries.append(f"{source}: {reason}")
                continue
            except BaseException:
                session.rollback()
                raise
            session.commit()
            _move(client, uid, done, "MOVE" in capabilities)
            outcome.imported += 1
            outcome.summaries.append(summary)
        return outcome
    except (imaplib.IMAP4.abort, OSError, EOFError) as error:
        raise MailboxError(f"{mailbox.display}: connection lost: {_text(error)}") from None
    except imaplib.IMAP4.error as error:
        raise MailboxError(f"{mailbox.display}: {_text(error)}") from None
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError, EOFError) as error:
            # The server dropped the connection already: only our end is left to close.
            logger.debug("%s: logout failed: %s", mailbox.display, error)
            with suppress(OSError):
                client.shutdown()
