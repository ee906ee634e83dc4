"""Signed webhook tokens already used: a second request with the same one is a replay.

Mailgun signs a timestamp and a random token, not the body, so a signed block
copied into a request with forged events verifies. Mailgun's advice: remember
the tokens seen within the signature's age window and refuse any seen before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from store.security import UsedWebhookToken


class TokenLedger:
    """Remembers used tokens in the database, so every web process sees them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, source: str, token: str, now: datetime, window_seconds: int) -> bool:
        """Record ``token`` as used; False if it was used already (within the window)."""
        with self._engine.begin() as connection:
            # Tokens older than the window are refused by their timestamp anyway.
            cutoff = now - timedelta(seconds=(window_seconds or 86_400) * 2)
            connection.execute(delete(UsedWebhookToken).where(UsedWebhookToken.used_at < cutoff))
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(UsedWebhookToken).values(source=source, token=token[:128], used_at=now)
                )
        except IntegrityError:
            return False
        return True

    def release(self, source: str, token: str) -> None:
        """Forget a claimed token whose request was not accepted after all (the ESP retries)."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(UsedWebhookToken).where(
                    UsedWebhookToken.source == source, UsedWebhookToken.token == token[:128]
                )
            )
