"""[web] and [hooks]: the web server, and what each ESP webhook must be signed with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WebSettings:
    """The web server: cookie signing key (else one kept in the database), cookie security,
    and how many requests are served at once."""

    secret_key: str | None = None
    secure_cookies: bool = True
    # A webhook request waits in its thread until its group of requests is
    # committed: the more threads, the more requests share one commit.
    threads: int = 16
    # A session ends this long after its login (and at logout, or a password,
    # role or state change of its user).
    session_hours: float = 12.0
    # Wrong passwords allowed per user name and per client address within the
    # window before each further attempt must wait (doubling, up to the window).
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_window_seconds: int = 900
    # Reverse proxies in front that set X-Forwarded-For/-Proto (0: none; then the
    # client address is the connection's, and those headers are ignored).
    trusted_proxies: int = 0


@dataclass(frozen=True)
class HookSettings:
    """ESP webhooks: what each one's requests must be signed or authenticated with.

    A hook whose secret is not configured refuses every request.
    """

    sendgrid_public_key: str | None = None
    mailgun_signing_key: str | None = None
    # "user:password" the ESP sends as HTTP basic auth (set in its webhook URL).
    postmark_credentials: str | None = None
    mailjet_credentials: str | None = None
    # SES through SNS: accept these topics only (empty: any validly signed topic).
    sns_topics: tuple[str, ...] = ()
    # Hosts SNS signing certificates may be fetched from, and a CA file to trust.
    sns_cert_hosts: str = r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"
    sns_ca_file: Path | None = None
    ses_enabled: bool = False
    # SendGrid and Mailgun sign a timestamp: a request signed longer ago than
    # this (or as far ahead) is a replay and refused. 0 turns the check off.
    max_age_seconds: int = 300
