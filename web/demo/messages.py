"""The demo's sent messages: two newsletters done right and a promotion done wrong.

The good ones are DKIM-signed when the demo runs, with the bundled demo key whose public
half is ``s1._domainkey.healthy.example`` in the example zone, so ``audit-message`` verifies
them over the demo's DNS server like any real message. The bad one has no
List-Unsubscribe, no signature and only a hidden unsubscribe link.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from importlib import resources
from pathlib import Path

import dkim

from web.demo.data import SENDER_DOMAIN, Campaign, campaigns

SELECTOR = "s1"
# Covered by the signature: RFC 8058 needs both List-Unsubscribe fields signed.
SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id",
)  # fmt: skip

_FOOTER_TEXT = (
    "You receive this because you subscribed at https://healthy.example/newsletter.\n"
    "Unsubscribe: https://healthy.example/unsubscribe/{token}\n"
    "Healthy Example Ltd, 12 Example Street, Springfield, IL 62701, USA\n"
)
_FOOTER_HTML = (
    '<p style="font-size:12px">You receive this because you subscribed at healthy.example. '
    '<a href="https://healthy.example/unsubscribe/{token}">Unsubscribe</a></p>'
    "<p>Healthy Example Ltd, 12 Example Street, Springfield, IL 62701, USA</p>"
)


def demo_key() -> bytes:
    """The bundled demo signing key (for the reserved .example names only)."""
    return (resources.files("web.demo") / "examples" / "demo-dkim.pem").read_bytes()


def _newsletter(campaign: Campaign, recipient: str, subject: str, token: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Healthy Example News <news@{SENDER_DOMAIN}>"
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(campaign.sent_at)
    message["Message-ID"] = f"<{campaign.name}.0@{SENDER_DOMAIN}>"
    message["List-Unsubscribe"] = (
        f"<https://healthy.example/unsubscribe/{token}>, "
        f"<mailto:unsubscribe@healthy.example?subject={token}>"
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Feedback-ID"] = f"{campaign.name}:newsletter:healthy:demo-esp"
    footer = _FOOTER_TEXT.format(token=token)
    message.set_content(f"Hello,\n\nthis week's news from Healthy Example.\n\n{footer}")
    message.add_alternative(
        f"<html><body><h1>{subject}</h1><p>This week's news from Healthy Example.</p>"
        f"{_FOOTER_HTML.format(token=token)}</body></html>",
        subtype="html",
    )
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    signature: bytes = dkim.sign(
        raw,
        SELECTOR.encode(),
        SENDER_DOMAIN.encode(),
        demo_key(),
        include_headers=list(SIGNED_HEADERS),
    )
    return signature + raw


def _promotion(day: date, recipient: str) -> bytes:
    """Everything a bulk sender must not do: no List-Unsubscribe, unsigned, a hidden link."""
    message = EmailMessage()
    message["From"] = "Deals <noreply@monitoring-only.example>"
    message["To"] = recipient
    message["Subject"] = "Last chance: 70% off everything"
    message["Date"] = format_datetime(datetime.combine(day, time(15), tzinfo=UTC))
    message["Message-ID"] = f"<flash-sale-{day.isoformat()}@monitoring-only.example>"
    message["X-Campaign"] = f"flash-sale-{day.isoformat()}"
    message.set_content("Last chance: 70% off everything, today only.\n")
    message.add_alternative(
        "<html><body><h1>70% off everything</h1><p>Today only.</p>"
        '<a style="display:none" href="https://monitoring-only.example/unsubscribe">'
        "unsubscribe</a></body></html>",
        subtype="html",
    )
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def write_messages(directory: Path, today: date, recipient: str) -> list[Path]:
    """The three sent messages as .eml files in ``directory``."""
    sends = campaigns(today)
    latest, before = sends[-1], sends[-2]
    files = {
        "newsletter-latest.eml": _newsletter(latest, recipient, "This week at Healthy", "a1b2"),
        "newsletter-previous.eml": _newsletter(before, recipient, "Last week at Healthy", "c3d4"),
        "flash-sale.eml": _promotion(today - timedelta(days=3), recipient),
    }
    paths = []
    for name, raw in files.items():
        path = directory / name
        path.write_bytes(raw)
        paths.append(path)
    return paths
