"""Reading gzip-compressed import files without letting them inflate without bound.

A gzip file of a few kilobytes can inflate to gigabytes (a decompression
bomb): read line by line, one line of zeros would fill the memory before
any check ran. The importers therefore read compressed files through
:func:`inflated`, which refuses, with :class:`CompressedFileError`, a file
that inflates to more than :data:`MAX_GZIP_RATIO` times its compressed size
(and more than :data:`GZIP_ALLOWANCE`), or whose gzip data is corrupt.
Nothing of such a file is imported: the importers run in one transaction.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import IO, Any

from checks.errors import BadInput

GZIP_MAGIC = b"\x1f\x8b"
# Exports of contacts and events compress 5-15 times (measured on the
# fixtures and on generated million-row files); a file of one byte repeated
# reaches about 1,000. Past 100 times its size, a file is not an export.
MAX_GZIP_RATIO = 100
# What any compressed file may inflate to, however small it is: a short
# file of very repetitive rows is not a bomb.
GZIP_ALLOWANCE = 16 * 1024 * 1024


class CompressedFileError(BadInput):
    """A gzip file that is corrupt or inflates past its limit (one line, without the file name)."""


class _Inflating(io.RawIOBase):
    """The inflated bytes of a gzip stream, counted against a limit as they are produced."""

    def __init__(self, compressed: IO[bytes], limit: int) -> None:
        self._gzip = gzip.GzipFile(fileobj=compressed, mode="rb")
        self._limit = limit
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            count = self._gzip.readinto(buffer)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            reason = str(error) or "cut short"
            raise CompressedFileError(f"not a readable gzip file ({reason})") from None
        self.inflated += count
        if self.inflated > self._limit:
            raise CompressedFileError(
                f"inflates to more than {self._limit:,} bytes ({MAX_GZIP_RATIO} times its "
                "compressed size): refused as a decompression bomb"
            )
        return count


def inflated(compressed: IO[bytes], compressed_size: int) -> io.BufferedReader[Any]:
    """A buffered reader of the inflated content of the gzip data in ``compressed``.

    Reading raises :class:`CompressedFileError` as soon as the content passes
    ``max(MAX_GZIP_RATIO * compressed_size, GZIP_ALLOWANCE)`` bytes, or when
    the gzip data is corrupt or cut short.
    """
    limit = max(MAX_GZIP_RATIO * compressed_size, GZIP_ALLOWANCE)
    return io.BufferedReader(_Inflating(compressed, limit), 1 << 20)
