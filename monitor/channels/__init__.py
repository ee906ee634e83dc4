"""Notification channels: e-mail, webhooks and Apprise, each a Transport.

A channel's name is what the outbox stores: ``email``, ``webhook:N`` (the
N-th configured URL) and ``apprise``.
"""

from __future__ import annotations

from monitor.channels.apprise_urls import AppriseTransport
from monitor.channels.email import EmailTransport
from monitor.channels.webhook import WebhookTransport
from monitor.outbox import Transport
from monitor.settings import Settings


def build_transports(settings: Settings) -> dict[str, Transport]:
    """Every configured channel, by name (none: alerts go to the log and dashboard only)."""
    transports: dict[str, Transport] = {}
    if settings.smtp.configured:
        transports["email"] = EmailTransport(settings.smtp)
    alerts = settings.alerts
    for number, url in enumerate(alerts.webhook_urls):
        transports[f"webhook:{number}"] = WebhookTransport(
            url, alerts.webhook_format, alerts.webhook_secret
        )
    if alerts.apprise_urls:
        transports["apprise"] = AppriseTransport(alerts.apprise_urls)
    return transports


def channel_names(settings: Settings) -> list[str]:
    """The names of the configured channels, in a stable order."""
    return list(build_transports(settings))
