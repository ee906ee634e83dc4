"""Gmail Postmaster Tools: connecting once, fetching every monitored domain's days, the state.

``fetch_gmail`` is the scheduled job: for each monitored domain it asks for
the days of the window not yet stored (a stored day is never asked for
again) and the compliance status. A 403 marks the domain not verified for
this account; a 429 or any other refusal leaves the domain ``error`` with the
reason; nothing Gmail did not say is stored as ``pass``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.credentials import CredentialError, load_key, load_secret
from monitor.gmail_api import SCOPE, GmailClient, GmailError
from monitor.settings import GmailSettings, Settings
from store.models import Domain
from store.receivers import GmailDay, GmailDomain, ReceiverCredential

CREDENTIAL = "gmail"


class GmailSetupError(ValueError):
    """Gmail is not set up (no client, no key, not connected); one line saying what to do."""


@dataclass(frozen=True)
class ClientConfig:
    """The OAuth client of the user's own Google Cloud project, token URL from the settings."""

    client_id: str
    client_secret: str
    config: dict[str, Any]


def read_client_secrets(settings: GmailSettings) -> ClientConfig:
    """The ``[gmail] client_secrets_file`` (a Desktop app client), its token_uri set to ours."""
    path = settings.client_secrets_file
    if path is None:
        raise GmailSetupError("set [gmail] client_secrets_file to your OAuth client's JSON file")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise GmailSetupError(f"{path}: cannot read: {error.strerror}") from None
    except ValueError as error:
        raise GmailSetupError(f"{path}: not JSON: {error}") from None
    kind = next((k for k in ("installed", "web") if isinstance(data, dict) and k in data), None)
    if kind is None:
        raise GmailSetupError(f"{path}: expected an 'installed' (Desktop app) OAuth client")
    client = dict(data[kind])
    for field in ("client_id", "client_secret"):
        if not isinstance(client.get(field), str) or not client[field]:
            raise GmailSetupError(f"{path}: {kind}.{field} is missing")
    client["token_uri"] = settings.token_url
    client.setdefault("auth_uri", "https://accounts.google.com/o/oauth2/auth")
    client.setdefault("redirect_uris", ["http://localhost"])
    return ClientConfig(client["client_id"], client["client_secret"], {"installed": client})


def gmail_client(session: Session, settings: GmailSettings) -> GmailClient:
    """An authorised client from the stored refresh token, or GmailSetupError."""
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2.credentials import Credentials

    client = read_client_secrets(settings)
    try:
        refresh_token = load_secret(
            session, CREDENTIAL, load_key(settings.token_key, settings.key_file)
        )
    except CredentialError as error:
        raise GmailSetupError(str(error)) from None
    if refresh_token is None:
        raise GmailSetupError("Gmail is not connected: run `postwarden gmail connect`")
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=refresh_token,
        token_uri=settings.token_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        scopes=[SCOPE],
    )
    return GmailClient(settings.api_url, AuthorizedSession(credentials))


def missing_days(session: Session, domain: str, today: date, days: int) -> list[date]:
    """The days of the window (up to yesterday) not stored yet for ``domain``."""
    window = [today - timedelta(days=n) for n in range(days, 0, -1)]
    stored = set(
        session.scalars(
            select(GmailDay.day).where(GmailDay.domain == domain, GmailDay.day >= window[0])
        )
    )
    return [day for day in window if day not in stored]


def fetch_domain(
    client: GmailClient, session: Session, domain: str, now: datetime, days: int
) -> GmailDomain:
    """Fetch one domain's missing days and compliance status; the row says how it went."""
    row = _domain_row(session, domain, now)
    try:
        wanted = missing_days(session, domain, now.date(), days)
        stats = client.query_stats(domain, wanted) if wanted else {}
        for day, metrics in stats.items():
            if day in wanted:
                session.add(GmailDay(domain=domain, day=day, spam_rate=metrics.get("spam_rate"),
                                     metrics=metrics, fetched_at=now))  # fmt: skip
        row.compliance, row.compliance_at = client.compliance(domain), now
    except GmailError as error:
        row.status, row.error = "error", str(error)
        if error.kind == "permission":
            row.verified = False
        if error.reconnect:
            raise
        return row
    row.verified, row.status, row.error = True, "pass", None
    return row


def _domain_row(session: Session, domain: str, now: datetime) -> GmailDomain:
    """The domain's row, new ones undetermined (``error``) until Gmail answers."""
    row = session.get(GmailDomain, domain)
    if row is None:
        row = GmailDomain(domain=domain, compliance={}, verified=False, status="error")
        session.add(row)
    row.checked_at = now
    return row


def fetch_gmail(session: Session, now: datetime, settings: Settings) -> str:
    """The scheduled job: every monitored domain's new days and compliance status."""
    domains = list(session.scalars(select(Domain.name).where(~Domain.paused).order_by(Domain.name)))
    try:
        client = gmail_client(session, settings.gmail)
    except GmailSetupError as error:
        return f"skipped: {error}"
    results: list[GmailDomain] = []
    for domain in domains:
        try:
            results.append(fetch_domain(client, session, domain, now, settings.gmail.days))
        except GmailError as error:
            # The refresh token is gone: every domain is undeterminable, say so once.
            for name in domains:
                row = _domain_row(session, name, now)
                row.status, row.error = "error", str(error)
            return f"error: {error}"
    failed = [r.domain for r in results if r.status != "pass"]
    text = f"{len(results) - len(failed)} of {len(results)} domains fetched"
    return text + (f"; error: {', '.join(failed)}" if failed else "")


def gmail_status(session: Session, settings: GmailSettings) -> dict[str, Any]:
    """``gmail status --format json``: what is connected and each domain's latest answer."""
    credential = session.get(ReceiverCredential, CREDENTIAL)
    out: dict[str, Any] = {
        "connected": credential is not None,
        "connected_at": credential.connected_at.isoformat() if credential else None,
        "scopes": (credential.details or {}).get("scopes", []) if credential else [],
        "domains": {},
    }
    latest = select(GmailDay.domain, func.max(GmailDay.day)).group_by(GmailDay.domain)
    last_days: dict[str, date] = dict(session.execute(latest).all())
    for row in session.scalars(select(GmailDomain).order_by(GmailDomain.domain)):
        last = last_days.get(row.domain)
        spam = session.get(GmailDay, (row.domain, last)) if last else None
        out["domains"][row.domain] = {
            "verified": row.verified,
            "status": row.status,
            "error": row.error,
            "checked_at": row.checked_at.isoformat(),
            "last_day": last.isoformat() if last else None,
            "spam_rate": spam.spam_rate if spam else None,
            "compliance": row.compliance or {},
        }
    return out
