"""Finding the messages to audit: ``.eml`` files, ``.mbox`` mailboxes, directories of them."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from checks.errors import BadInput

DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class MessageFileError(BadInput):
    """A path that cannot be read at all (missing, unreadable): one line, names the path."""


@dataclass(frozen=True)
class SentMessage:
    """One message to audit: where it is, its bytes, or why it was not read."""

    where: str
    raw: bytes | None
    problem: str | None = None


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() == ".mbox":
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"From " and path.suffix.lower() != ".eml"


def read_messages(paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[SentMessage]:
    """Every message under ``paths`` (directories: their .eml and .mbox files, sorted)."""
    for path in paths:
        if path.is_dir():
            inner = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".eml", ".mbox")
            )
            yield from read_messages(inner, max_bytes)
            continue
        if not path.is_file():
            raise MessageFileError(f"{path}: no such file or directory")
        try:
            if _is_mbox(path):
                yield from _mbox(path, max_bytes)
            elif path.stat().st_size > max_bytes:
                yield SentMessage(str(path), None, _too_large(path.stat().st_size, max_bytes))
            else:
                yield SentMessage(str(path), path.read_bytes())
        except OSError as error:
            raise MessageFileError(f"{path}: cannot read: {error.strerror}") from None


def _mbox(path: Path, max_bytes: int) -> Iterator[SentMessage]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            raw = box.get_bytes(key)
            where = f"{path}#{number}"
            if len(raw) > max_bytes:
                yield SentMessage(where, None, _too_large(len(raw), max_bytes))
            else:
                yield SentMessage(where, raw)
    finally:
        box.close()


def _too_large(size: int, limit: int) -> str:
    return f"{size:,} bytes, over the limit of {limit:,} ([messages] max_bytes)"
