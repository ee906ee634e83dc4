"""Reading event files record by record, whatever their shape, without loading them.

A file may be CSV, a JSON array (SendGrid's webhook body, an export), JSON
lines (one notification per line), or a single JSON document (one webhook
body; a Mailgun events page with ``items``); any of them gzip-compressed.
Each record comes with where it was found (``events.csv:1289``,
``events.json: record 12``) so that errors can say so.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from compliance.events import RecordError

_PEEK = 64 * 1024


class FileError(ValueError):
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
        stream: IO[bytes] = buffered
        if buffered.peek(2)[:2] == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=buffered)  # type: ignore[assignment]
        self._stream = io.BufferedReader(stream, buffer_size=1 << 20)  # type: ignore[type-var]
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
        except (OSError, EOFError) as error:
            self.close()
            raise FileError(f"{self.name}: cannot read: {error}") from None
        if head.startswith(b"["):
            return "json-array"
        if head.startswith(b"{"):
            try:
                json.loads(head.split(b"\n", 1)[0])
            except ValueError:
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

    def _text(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self._stream, encoding="utf-8-sig", newline="")

    def _json_lines(self) -> Iterator[Record]:
        for number, line in enumerate(self._text(), start=1):
            if not line.strip():
                continue
            where = f"{self.name}:{number}"
            try:
                data = json.loads(line)
            except ValueError as error:
                raise FileError(f"{where}: not valid JSON: {error}") from None
            yield from _objects(where, data)

    def _json_array(self) -> Iterator[Record]:
        number = 0
        try:
            for number, data in enumerate(ijson.items(self._stream, "item", use_float=True), 1):
                yield from _objects(f"{self.name}: record {number}", data)
        except ijson.JSONError as error:
            raise FileError(
                f"{self.name}: after record {number}: not valid JSON: {error}"
            ) from None

    def _json_document(self) -> Iterator[Record]:
        try:
            documents = list(ijson.items(self._stream, "", use_float=True))
        except ijson.JSONError as error:
            raise FileError(f"{self.name}: not valid JSON: {error}") from None
        for data in documents:
            items = data.get("items") if isinstance(data, dict) else None
            if isinstance(items, list):
                # A page of Mailgun's events API: the records are its items.
                for number, item in enumerate(items, start=1):
                    yield from _objects(f"{self.name}: item {number}", item)
            else:
                yield from _objects(self.name, data)


def _objects(where: str, data: Any) -> Iterator[Record]:
    if isinstance(data, list):  # a JSON-lines line holding a whole batch
        for number, item in enumerate(data, start=1):
            yield from _objects(f"{where} item {number}", item)
        return
    if not isinstance(data, dict):
        raise FileError(f"{where}: expected a JSON object, found {type(data).__name__}")
    yield Record(where, data)


__all__ = ["EventFile", "FileError", "Record", "RecordError"]
