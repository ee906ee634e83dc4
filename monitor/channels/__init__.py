"""Notification channels: e-mail, webhooks and Apprise, each a Transport.

A channel's name is what the outbox stores: ``email``, ``webhook:N`` (the
N-th configured URL) and ``apprise``. The transports are imported when built:
queueing a notification needs only the names, and Apprise alone costs a
command a quarter of a second to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.settings import Settings

if TYPE_CHECKING:
    from monitor.outbox import Transport


def build_transports(settings: Settings) -> dict[str, Transport]:
    """Every configured channel, by name (none: alerts go to the log and dashboard only)."""
    from monitor.channels.apprise_urls import AppriseTransport
    from monitor.channels.email import EmailTransport
    from monitor.channels.webhook import WebhookTransport

    transports: dict[str, Transport] = {}
    alerts = settings.alerts
    for name in channel_names(settings):
        if name == "email":
            transports[name] = EmailTransport(settings.smtp)
        elif name == "apprise":
            transports[name] = AppriseTransport(alerts.apprise_urls)
        else:
            url = alerts.webhook_urls[int(name.partition(":")[2])]
            transports[name] = WebhookTransport(url, alerts.webhook_format, alerts.webhook_secret)
    return transports


def channel_names(settings: Settings) -> list[str]:
    """The names of the configured channels, in a stable order."""
    alerts = settings.alerts
    names = ["email"] if settings.smtp.configured else []
    names += [f"webhook:{number}" for number in range(len(alerts.webhook_urls))]
    return names + (["apprise"] if alerts.apprise_urls else [])
