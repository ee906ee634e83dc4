"""Any other service (Telegram, Teams, Matrix, ntfy, …) through Apprise's URLs."""

from __future__ import annotations

from collections.abc import Sequence

import apprise

from monitor.channels.render import render_text, subject
from monitor.outbox import Message, TransportError


class AppriseTransport:
    """Notifies every Apprise URL configured; a failure of any one is retried."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = tuple(urls)

    def notify(self, message: Message) -> None:
        notifier = apprise.Apprise()
        for url in self.urls:
            if not notifier.add(url):
                raise TransportError(f"Apprise does not understand {url!r}", permanent=True)
        if not notifier.notify(title=subject(message.payload), body=render_text(message.payload)):
            raise TransportError("Apprise could not deliver to every URL (see its log)")
