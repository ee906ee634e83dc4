"""[smtp] and [alerts]: where alert mail goes, how alerts open and where they are sent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SmtpSettings:
    """Where alert mail goes; no host means no e-mail channel."""

    host: str | None = None
    port: int | None = None
    # starttls | ssl | none
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "postwarden@localhost"
    recipients: tuple[str, ...] = ()
    timeout: float = 30.0
    # CA bundle to verify the server with (a private CA); default: the system's.
    ca_file: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.host and self.recipients)


@dataclass(frozen=True)
class AlertSettings:
    """How alerts open and where they are sent."""

    confirmations: int = 2
    alert_on_warn: bool = False
    cannot_check_hours: float = 6.0
    dashboard_url: str | None = None
    digest: bool = False
    webhook_urls: tuple[str, ...] = ()
    # json | slack
    webhook_format: str = "json"
    webhook_secret: str | None = None
    apprise_urls: tuple[str, ...] = ()
