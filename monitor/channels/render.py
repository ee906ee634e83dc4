"""What a notification says, for people: subject, plain text and HTML from one set of templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_HEADLINES = {
    "opened": "{severity}",
    "escalated": "WORSE, {severity}",
    "resolved": "RESOLVED",
    "cannot_check": "CANNOT CHECK",
}


def subject(payload: Mapping[str, Any]) -> str:
    """One line naming the target, the check and its new status."""
    event = payload["event"]
    if event == "test":
        return "[Postwarden] Test notification"
    if event == "report":
        kind = str(payload["kind"]).capitalize()
        return f"[Postwarden] {kind} report, {payload['period_from']} to {payload['period_to']}"
    if event == "digest":
        count = len(payload["alerts"])
        return f"[Postwarden] Daily digest: {count} open alert{'s' if count != 1 else ''}"
    headline = _HEADLINES[event].format(severity=payload["severity"].upper())
    text = f"[Postwarden] {headline}: {payload['check']} of {payload['target']}"
    if event == "resolved":
        text += f" (now {payload['status']})"
    return text


def render_text(payload: Mapping[str, Any]) -> str:
    """The plain-text body."""
    return _ENVIRONMENT.get_template("notification.txt.j2").render(
        p=payload, subject=subject(payload)
    )


def render_html(payload: Mapping[str, Any]) -> str:
    """The HTML body (the same content as the text)."""
    return _ENVIRONMENT.get_template("notification.html.j2").render(
        p=payload, subject=subject(payload)
    )
