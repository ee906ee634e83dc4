"""[gmail], [snds], [arf] and [dmarc]: the receivers' data, where and how it is fetched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GmailSettings:
    """Gmail Postmaster Tools (API v2): the OAuth client, endpoints, the token's encryption key."""

    # The OAuth client (JSON of "Desktop app" credentials) of your own Google Cloud project.
    client_secrets_file: Path | None = None
    api_url: str = "https://gmailpostmastertools.googleapis.com"
    token_url: str = "https://oauth2.googleapis.com/token"
    # Fernet key the refresh token is encrypted with; else read from key_file
    # (created 0600 by `gmail connect` when missing).
    token_key: str | None = None
    key_file: Path = Path("postwarden-gmail.key")
    # Days back the schedule asks for; days already stored are not asked again.
    days: int = 30
    fetch_hours: float = 24.0


@dataclass(frozen=True)
class SndsSettings:
    """Microsoft SNDS automated data access: the key and where to fetch from."""

    # A file holding the automated-access key (no key file: SNDS is not fetched).
    key_file: Path | None = None
    url: str = "https://sendersupport.olc.protection.outlook.com/snds/"
    fetch_hours: float = 24.0
    timeout: float = 30.0


@dataclass(frozen=True)
class ArfSettings:
    """The complaint feedback-loop mailbox (ARF reports from Yahoo, Microsoft, …)."""

    # imaps://USER@HOST[:PORT]/FOLDER; no URL means no feedback mailbox is polled.
    imap_url: str | None = None
    password: str | None = None
    # Where imported messages are moved to (created when missing).
    done_folder: str = "Postwarden/Imported"
    # CA bundle to verify the IMAP server with (a private CA); default: the system's.
    ca_file: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class DmarcSettings:
    """Receivers' reports: the mailbox they arrive in, how far they may inflate, when to alert."""

    # imaps://USER@HOST[:PORT]/FOLDER; no URL means no mailbox is polled.
    imap_url: str | None = None
    password: str | None = None
    # Where imported messages are moved to (created when missing).
    done_folder: str = "Postwarden/Imported"
    # CA bundle to verify the IMAP server with (a private CA); default: the system's.
    ca_file: str | None = None
    timeout: float = 30.0
    max_inflated_bytes: int = 512 * 1024 * 1024
    # Alerts: DMARC pass rate under this fraction; a failing source over this many messages a day.
    min_pass_rate: float = 0.95
    new_source_messages: int = 100
