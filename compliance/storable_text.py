"""Text a database cannot store: refused where input enters, before it reaches the store.

PostgreSQL's text types cannot hold NUL, and no UTF-8 database holds a lone
surrogate (which JSON's ``\\ud800`` escapes can produce); SQLite stores a NUL
but cuts it off in most readers. One such character in a webhook or file
import once failed every later import of the batch it was in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """What is wrong with ``text`` ("a NUL character", …), or None if it can be stored."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate"


def find_unstorable(value: Any) -> str | None:
    """Where in a JSON value (keys too) there is text a database cannot store, as
    ``field <path> contains a NUL character``; None when there is none."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if problem := unstorable_character(item):
                return f"field {path or '(value)'} contains {problem}"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if problem := unstorable_character(str(key)):
                    return f"a field name contains {problem}"
                stack.append((name, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None


def find_unstorable_cell(row: Sequence[str], header: Sequence[str]) -> str | None:
    """``field <name> contains …`` for the first cell of a CSV row a database cannot
    store (named by ``header``, else by its column number); None when there is none."""
    # One look at the joined row, the common case (ASCII, no NUL) without the regular
    # expression, which cost five times as much: the bulk imports read millions of rows.
    joined = "".join(row)
    if "\x00" not in joined and (joined.isascii() or _UNSTORABLE.search(joined) is None):
        return None
    for index, cell in enumerate(row):
        if problem := unstorable_character(cell):
            name = header[index] if index < len(header) else f"column {index + 1}"
            return f"field {name} contains {problem}"
    return None
