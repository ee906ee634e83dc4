"""Numbers from the query string and paths to go back to, checked before they are used.

A number that is not one, or out of range, is a 400 with a message naming the
parameter (an integer past 64 bits once reached the database and answered 500,
and ``limit=-1`` returned the whole history); ``clamp`` caps a number at its
maximum instead, for sizes a client may ask too much of. A path to redirect to
must be on this site: never an open redirect.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, request

# The largest id a database row can have (BIGINT).
MAX_ID = 2**63 - 1


def int_arg(name: str, default: int, *, minimum: int, maximum: int, clamp: bool = False) -> int:
    """The request's ``?name=`` as a whole number in ``minimum..maximum`` (``default``
    when absent or empty)."""
    value = optional_int_arg(name, minimum=minimum, maximum=maximum, clamp=clamp)
    return default if value is None else value


def optional_int_arg(name: str, *, minimum: int, maximum: int, clamp: bool = False) -> int | None:
    """The request's ``?name=`` as a whole number in ``minimum..maximum``, or None."""
    text = request.args.get(name)
    if text is None or text == "":
        return None
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 25:
        abort(400, description=f"?{name}= must be a whole number")
    value = int(text)
    if value < minimum:
        abort(400, description=f"?{name}= must be at least {minimum}")
    if value > maximum:
        if clamp:
            return maximum
        abort(400, description=f"?{name}= must be at most {maximum}")
    return value


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None.

    Browsers read a backslash as a slash and drop tabs and newlines, so
    ``/\\evil.example`` and ``/\\t/evil.example`` lead off-site: refused too.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(character) < 0x20 for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
