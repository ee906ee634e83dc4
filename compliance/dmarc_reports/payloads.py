"""Finding the reports inside a file: XML, JSON, gzip, zip, e-mail messages and mbox mailboxes.

Receivers send reports as ``.xml``, ``.xml.gz``, ``.zip`` or ``.json.gz``,
mostly attached to a message whose declared MIME type is often wrong
(``application/octet-stream`` for a zip, ``text/xml`` for a gzip), so every
container is recognised by its first bytes, never by its name or type.

Inflation is bounded twice: an archive that *declares* more than the limit
(a zip member's size, a gzip trailer's ISIZE) is refused before a byte is
inflated, and the bytes actually produced are counted as they are read, since
a declaration can lie. Payloads are streams: a large report is never held in
memory whole.
"""

from __future__ import annotations

import email
import email.message
import gzip
import io
import mailbox
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from compliance.dmarc_reports import ReportError

AGGREGATE = "aggregate"
TLS = "tls"
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"
# Containers inside containers (a gzip in a zip attached to a message) go this deep at most.
MAX_DEPTH = 3
READ_SIZE = 1 << 16


@dataclass(frozen=True)
class Limits:
    """How large a report may inflate to, and how large a message carrying one may be."""

    # A 100,000-record aggregate report is about 60 MB of XML.
    max_inflated_bytes: int = 512 * 1024 * 1024
    max_message_bytes: int = 50 * 1024 * 1024


@dataclass
class Payload:
    """One report's bytes, as a stream to read once, and where in the file it was found."""

    kind: str
    where: str
    stream: IO[bytes]


class _Bounded(io.RawIOBase):
    """The bytes of ``inner``, refused with :class:`ReportError` past ``limit``."""

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        self._inner = inner
        self._limit = limit
        self._what = what
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (gzip.BadGzipFile, zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
            reason = str(error).strip() or type(error).__name__
            raise ReportError(f"{self._what} is corrupt or cut short ({reason})") from None
        count = len(data)
        buffer[:count] = data
        self.produced += count
        if self.produced > self._limit:
            raise ReportError(
                f"{self._what} inflates to more than {self._limit:,} bytes: refused "
                "([dmarc] max_inflated_bytes)"
            )
        return count


class _GzipInflater(io.RawIOBase):
    """The inflated bytes of gzip data (members in a row), refused past ``limit``.

    zlib rather than ``gzip.GzipFile``: receivers' mail systems append a line
    break after the gzip trailer (Mimecast does), which GzipFile takes for a
    corrupt second member. Trailing whitespace is tolerated; other trailing
    bytes are not.
    """

    def __init__(self, compressed: IO[bytes], limit: int, what: str) -> None:
        self._compressed = compressed
        self._inflater = zlib.decompressobj(wbits=31)
        self._limit = limit
        self._what = what
        self._pending = b""
        self._started = False
        self.produced = 0

    def readable(self) -> bool:
        return True

    def _fail(self, reason: str) -> ReportError:
        return ReportError(f"{self._what} is not readable gzip data ({reason})")

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._inflater.eof:
                rest = self._inflater.unused_data + self._compressed.read(READ_SIZE)
                if not rest.strip():
                    if self._compressed.read(1):
                        raise self._fail("data after the end")
                    return 0
                if not rest.startswith(GZIP_MAGIC):
                    raise self._fail("data after the end")
                self._inflater = zlib.decompressobj(wbits=31)
                chunk = rest
            else:
                chunk = self._inflater.unconsumed_tail or self._compressed.read(READ_SIZE)
                if not chunk:
                    raise self._fail("cut short" if self._started else "empty")
            self._started = True
            try:
                self._pending = self._inflater.decompress(chunk, len(buffer))
            except zlib.error as error:
                raise self._fail(str(error)) from None
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.produced += count
        if self.produced > self._limit:
            raise ReportError(
                f"{self._what} inflates to more than {self._limit:,} bytes: refused "
                "([dmarc] max_inflated_bytes)"
            )
        return count


def _buffered(raw: io.RawIOBase) -> io.BufferedReader:
    return io.BufferedReader(raw, 1 << 16)


def sniff(stream: io.BufferedReader) -> str | None:
    """What the stream holds by its first bytes: gzip, zip, xml, json, mbox, message or None."""
    try:
        head = stream.peek(512)[:512]
    except ReportError:
        raise
    except (OSError, EOFError, zlib.error) as error:
        raise ReportError(f"cannot be read ({error})") from None
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 text: the XML reader refuses it with a reason.
        return "xml"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    text = head.removeprefix(UTF8_BOM).lstrip()
    if text.startswith(b"<"):
        return "xml"
    if text.startswith(b"{"):
        return "json"
    if head.startswith(b"From "):
        return "mbox"
    first_line = head.split(b"\n", 1)[0]
    name, colon, _ = first_line.partition(b":")
    if colon and name and all(33 <= c <= 126 for c in name):
        return "message"
    return None


def _gzip_declared_size(data: IO[bytes]) -> int | None:
    """The ISIZE of a seekable gzip stream's trailer (its size modulo 2**32).

    Mail systems append line breaks after the trailer, which then shift it:
    the smaller of the two readings is taken, so no honest file is refused
    for it (the bytes actually inflated are counted all the same).
    """
    if not data.seekable():
        return None
    position = data.tell()
    data.seek(0, io.SEEK_END)
    end = data.tell()
    if end - position < 18:
        raise ReportError("gzip data is cut short")
    data.seek(end - 16)
    tail = data.read(16)
    data.seek(position)
    stripped = tail.rstrip(b"\r\n \t") or tail
    declared = min(
        struct.unpack("<I", tail[-4:])[0],
        struct.unpack("<I", stripped[-4:])[0] if len(stripped) >= 4 else 2**32,
    )
    return int(declared)


def _from_gzip(data: IO[bytes], where: str, limits: Limits, depth: int) -> Iterator[Payload]:
    declared = _gzip_declared_size(data)
    if declared is not None and declared > limits.max_inflated_bytes:
        raise ReportError(
            f"{where} declares {declared:,} bytes inflated, over the limit of "
            f"{limits.max_inflated_bytes:,} ([dmarc] max_inflated_bytes)"
        )
    inner = _buffered(_GzipInflater(data, limits.max_inflated_bytes, where))
    yield from _from_stream(inner, where, limits, depth + 1)


def _from_zip(data: IO[bytes], where: str, limits: Limits, depth: int) -> Iterator[Payload]:
    try:
        archive = zipfile.ZipFile(data)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise ReportError(f"{where} is not a readable zip archive ({error})") from None
    if not members:
        raise ReportError(f"{where} is an empty zip archive")
    declared = sum(m.file_size for m in members)
    if declared > limits.max_inflated_bytes:
        raise ReportError(
            f"{where} declares {declared:,} bytes inflated, over the limit of "
            f"{limits.max_inflated_bytes:,} ([dmarc] max_inflated_bytes)"
        )
    with archive:
        for member in members:
            inner_where = f"{where}: {member.filename}"
            try:
                opened = archive.open(member)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as error:
                raise ReportError(f"{inner_where} cannot be opened ({error})") from None
            with opened:
                # Counted against the member's declared size too: a member that
                # inflates past what it declares is lying about itself.
                limit = min(limits.max_inflated_bytes, max(member.file_size, 1))
                inner = _buffered(_Bounded(opened, limit, inner_where))
                yield from _from_stream(inner, inner_where, limits, depth + 1)


def _from_stream(
    stream: io.BufferedReader, where: str, limits: Limits, depth: int
) -> Iterator[Payload]:
    if depth > MAX_DEPTH:
        raise ReportError(f"{where} nests archives more than {MAX_DEPTH} deep")
    kind = sniff(stream)
    if kind == "xml":
        yield Payload(AGGREGATE, where, stream)
    elif kind == "json":
        yield Payload(TLS, where, stream)
    elif kind in ("gzip", "zip"):
        # Archives need their trailer (gzip ISIZE) or central directory (zip):
        # read into memory within the limit when the stream cannot seek.
        data: IO[bytes] = stream
        if not stream.seekable():
            data = io.BytesIO(_read_bounded(stream, limits.max_inflated_bytes, where))
        if kind == "gzip":
            yield from _from_gzip(data, where, limits, depth)
        else:
            yield from _from_zip(data, where, limits, depth)
    else:
        raise ReportError(f"{where} is not a DMARC aggregate report or an SMTP TLS report")


def _read_bounded(stream: IO[bytes], limit: int, where: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ReportError(f"{where} is larger than {limit:,} bytes")
    return data


def _is_report_part(part: email.message.Message, data: bytes) -> bool:
    """Whether a leaf part may be a report: any attachment, but not a prose or HTML body."""
    content_type = part.get_content_type()
    if content_type == "text/html":
        return False
    if content_type == "text/plain" and part.get_filename() is None:
        text = data.removeprefix(UTF8_BOM).lstrip()
        return text.startswith((b"<?xml", b"<feedback", b"{"))
    return True


def payloads_in_message(raw: bytes, where: str, limits: Limits) -> Iterator[Payload]:
    """The reports attached to one e-mail message; :class:`ReportError` when it has none."""
    if len(raw) > limits.max_message_bytes:
        raise ReportError(
            f"{where} is {len(raw):,} bytes, over the limit of {limits.max_message_bytes:,}"
        )
    message = email.message_from_bytes(raw)
    found = 0
    for number, part in enumerate(message.walk(), start=1):
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data.strip() or not _is_report_part(part, data):
            continue
        name = part.get_filename() or f"part {number}"
        stream = _buffered(_Bounded(io.BytesIO(data), len(data), name))
        if sniff(stream) not in ("xml", "json", "gzip", "zip"):
            continue
        # The decoded bytes are in memory already; a seekable view lets zip read its directory.
        for payload in _from_stream(
            io.BufferedReader(io.BytesIO(data)),
            f"{where}, attachment {name}",
            limits,
            1,
        ):
            found += 1
            yield payload
    if not found:
        raise ReportError(f"{where} carries no DMARC aggregate or SMTP TLS report")


@contextmanager
def _opened(path: Path) -> Iterator[io.BufferedReader]:
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ReportError(f"cannot be read ({error.strerror})") from None
    with handle:
        yield handle


def payloads_in_file(path: Path, limits: Limits | None = None) -> Iterator[Payload]:
    """Every report in the file at ``path``, in order; :class:`ReportError` on the first problem.

    Each payload's stream must be read before the next is asked for.
    """
    limits = limits or Limits()
    with _opened(path) as handle:
        kind = sniff(handle)
        if kind == "mbox":
            handle.close()
            box = mailbox.mbox(path, create=False)
            try:
                keys = list(box.iterkeys())
                if not keys:
                    raise ReportError("is an empty mailbox")
                for number, key in enumerate(keys, start=1):
                    yield from payloads_in_message(box.get_bytes(key), f"message {number}", limits)
            finally:
                box.close()
        elif kind == "message":
            yield from payloads_in_message(
                _read_bounded(handle, limits.max_message_bytes, "the message"),
                "the message",
                limits,
            )
        else:
            yield from _from_stream(handle, "the file", limits, 0)
