"""Reading event files record by record, whatever their shape, without loading them.

A file may be CSV, a JSON array (SendGrid's webhook body, an export), JSON
lines (one notification per line), or a single JSON document (one webhook
body; a Mailgun events page with ``items``); any of them gzip-compressed
(within :mod:`compliance.compressed`'s bound). Each record comes with where
it was found (``events.csv:1289``, ``events.json: record 12``) so that
errors can say so. Whatever the bytes, reading raises :class:`FileError`
with a one-line message and nothing else.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from checks.errors import BadInput
from compliance.compressed import GZIP_MAGIC, CompressedFileError, inflated
from compliance.events.normalised import RecordError

_PEEK = 64 * 1024
# ESP payloads nest a few levels. ijson keeps a path per level, so memory
# grows with the square of the depth: 200 kB of '[' took gigabytes.
MAX_JSON_DEPTH = 64
_OPENING = frozenset(("start_map", "start_array"))
_CLOSING = frozenset(("end_map", "end_array"))


class FileError(BadInput):
    """A file that cannot be read as events; the message names the file and place."""


@dataclass(frozen=True)
class Record:
    """One record of a file and where it is."""

    where: str
    data: Mapping[str, Any]


class _Counted(io.RawIOBase):
    """Counts the bytes read from the underlying file (for a progress bar)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.read_so_far = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.read_so_far += count or 0
        return count or 0


class EventFile:
    """An open event file: iterate it for records; ``bytes_read`` tracks progress."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        try:
            self._raw = path.open("rb")
        except OSError as error:
            raise FileError(f"{path}: cannot read: {error.strerror}") from None
        self.size = path.stat().st_size
        self._counted = _Counted(self._raw)
        buffered = io.BufferedReader(self._counted, buffer_size=1 << 20)
        self._stream: io.BufferedReader[Any] = buffered
        if buffered.peek(2)[:2] == GZIP_MAGIC:
            self._stream = inflated(buffered, self.size)
        self.kind = self._detect()

    @property
    def bytes_read(self) -> int:
        return self._counted.read_so_far

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> EventFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _detect(self) -> str:
        """csv, json-array, json-lines or json (one document)."""
        try:
            head = self._stream.peek(_PEEK)[:_PEEK].lstrip(b"\xef\xbb\xbf \t\r\n")
        except (OSError, EOFError, CompressedFileError) as error:
            self.close()
            raise FileError(f"{self.name}: cannot read: {error}") from None
        if head.startswith(b"["):
            return "json-array"
        if head.startswith(b"{"):
            try:
                json.loads(head.split(b"\n", 1)[0])
            except (ValueError, RecursionError):
                return "json"
            return "json-lines"
        return "csv"

    def __iter__(self) -> Iterator[Record]:
        """The records of a JSON file (array, lines or one document)."""
        if self.kind == "json-array":
            yield from self._json_array()
        elif self.kind == "json":
            yield from self._json_document()
        elif self.kind == "json-lines":
            yield from self._json_lines()
        else:
            raise FileError(f"{self.name}: a CSV file is read with csv_rows()")

    def csv_rows(self) -> Iterator[tuple[int, list[str]]]:
        """The rows of a CSV file as lists, with their line numbers (the header first)."""
        reader = csv.reader(self._text())
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as error:
            raise FileError(f"{self.name}:{reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise FileError(f"{self.name}:{reader.line_num}: not UTF-8 text") from None
        except CompressedFileError as error:
            raise FileError(f"{self.name}: {error}") from None

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._stream, encoding="utf-8-sig", newline="")

    def _json_lines(self) -> Iterator[Record]:
        number = 0
        try:
            for number, line in enumerate(self._text(), start=1):
                if not line.strip():
                    continue
                where = f"{self.name}:{number}"
                try:
                    data = json.loads(line)
                except (ValueError, RecursionError) as error:
                    raise FileError(f"{where}: not valid JSON: {_first_line(error)}") from None
                yield from _objects(where, data)
        except UnicodeDecodeError:
            # Text is decoded a block ahead of the lines handed out.
            where = f"at or after line {number + 1}"
            raise FileError(f"{self.name}: not UTF-8 text ({where})") from None
        except CompressedFileError as error:
            raise FileError(f"{self.name}: {error}") from None

    def _json_array(self) -> Iterator[Record]:
        number = 0
        try:
            for number, data in enumerate(_json_values(self._stream, 1), 1):
                yield from _objects(f"{self.name}: record {number}", data)
        except (ijson.JSONError, CompressedFileError) as error:
            raise FileError(
                f"{self.name}: after record {number}: not valid JSON: {_first_line(error)}"
            ) from None

    def _json_document(self) -> Iterator[Record]:
        try:
            documents = list(_json_values(self._stream, 0))
        except (ijson.JSONError, CompressedFileError) as error:
            raise FileError(f"{self.name}: not valid JSON: {_first_line(error)}") from None
        for data in documents:
            items = data.get("items") if isinstance(data, dict) else None
            if isinstance(items, list):
                # A page of Mailgun's events API: the records are its items.
                for number, item in enumerate(items, start=1):
                    yield from _objects(f"{self.name}: item {number}", item)
            else:
                yield from _objects(self.name, data)


def _json_values(stream: IO[bytes], level: int) -> Iterator[Any]:
    """The JSON values ``level`` containers deep in ``stream`` (0: the document, 1: the items
    of a top-level array), built from ijson's events without its per-level paths.

    ijson.JSONError when the text is not JSON or nests deeper than MAX_JSON_DEPTH.
    """
    depth = 0
    builder: ijson.ObjectBuilder | None = None
    for event, value in ijson.basic_parse(stream, use_float=True):
        if event in _OPENING:
            if depth == MAX_JSON_DEPTH:
                raise ijson.JSONError(f"nested deeper than {MAX_JSON_DEPTH} levels")
            if depth == level:
                builder = ijson.ObjectBuilder()
            depth += 1
        elif event in _CLOSING:
            depth -= 1
        if builder is None:
            if depth == level and event not in _OPENING and event not in _CLOSING:
                yield value  # a bare number, string, … where a record was expected
            continue
        builder.event(event, value)
        if depth == level:
            yield builder.value
            builder = None


def _first_line(error: BaseException) -> str:
    """A parser's message without the excerpt some of them draw on the lines below."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    message = error.args[0] if error.args else error
    if isinstance(message, bytes):  # yajl's messages come as bytes
        message = message.decode("utf-8", "replace")
    return str(message).strip().split("\n", 1)[0]


def _objects(where: str, data: Any) -> Iterator[Record]:
    if isinstance(data, list):  # a JSON-lines line holding a whole batch
        for number, item in enumerate(data, start=1):
            if isinstance(item, list):
                raise FileError(f"{where} item {number}: expected a JSON object, found list")
            yield from _objects(f"{where} item {number}", item)
        return
    if not isinstance(data, dict):
        raise FileError(f"{where}: expected a JSON object, found {type(data).__name__}")
    yield Record(where, data)


__all__ = ["EventFile", "FileError", "Record", "RecordError"]
