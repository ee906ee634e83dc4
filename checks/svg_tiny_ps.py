"""SVG Tiny Portable/Secure, the BIMI logo profile: what makes a logo unfit (pure).

The logo is untrusted XML from the internet, so it is parsed with
defusedxml (no entity expansion, no external entities). The rules are the
ones mailbox providers apply before showing a logo: the tiny-ps profile, a
title, no scripts, animation, links or external references, a square
picture, and a size bound.
"""

from __future__ import annotations

import re

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_LOGO_BYTES = 32 * 1024
_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# Elements SVG Tiny PS leaves out: code, animation, links, embedded foreign content.
_FORBIDDEN = {
    "script", "foreignObject", "animate", "animateColor", "animateMotion",
    "animateTransform", "set", "a", "image", "video", "audio", "handler", "listener",
}  # fmt: skip
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?(?!#)", re.I)


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def svg_problems(data: bytes) -> list[str]:
    """Why ``data`` is not an acceptable BIMI logo; empty when it is."""
    problems: list[str] = []
    if len(data) > MAX_LOGO_BYTES:
        problems.append(f"{len(data)} bytes, over {MAX_LOGO_BYTES}")
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        return [*problems, f"not well-formed XML ({error})"]
    if root.tag != f"{_SVG}svg":
        return [*problems, "the root element is not an SVG <svg>"]
    if root.get("baseProfile") != "tiny-ps":
        problems.append('baseProfile is not "tiny-ps"')
    if root.get("version") != "1.2":
        problems.append('version is not "1.2"')
    if root.find(f"{_SVG}title") is None:
        problems.append("no <title>")
    if root.get("x") is not None or root.get("y") is not None:
        problems.append("the <svg> element has x or y")
    problems += _shape_problems(root.get("viewBox"), root.get("width"), root.get("height"))
    for element in root.iter():
        name = _local(str(element.tag))
        if name in _FORBIDDEN:
            problems.append(f"<{name}> is not allowed")
        for attribute, value in element.attrib.items():
            local = _local(attribute)
            if local.lower().startswith("on"):
                problems.append(f"event handler {local} on <{name}>")
            if (attribute == _XLINK_HREF or local == "href") and not value.startswith("#"):
                problems.append(f"external reference {value[:60]!r}")
            if _EXTERNAL_URL.search(value):
                problems.append(f"external url() in {local} of <{name}>")
        if name == "style" and element.text and _EXTERNAL_URL.search(element.text):
            problems.append("external url() in <style>")
    return list(dict.fromkeys(problems))


def _shape_problems(view_box: str | None, width: str | None, height: str | None) -> list[str]:
    if view_box:
        parts = view_box.replace(",", " ").split()
        try:
            _x, _y, w, h = (float(part) for part in parts)
        except ValueError:
            return [f"viewBox {view_box!r} is not four numbers"]
        return [] if w == h and w > 0 else [f"not square (viewBox {view_box})"]
    if width and height:
        return [] if width == height else [f"not square ({width} x {height})"]
    return ["no viewBox to tell that it is square"]
