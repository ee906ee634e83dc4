"""The settings the app was created with."""

from __future__ import annotations

from flask import current_app

from monitor.settings import Settings


def settings() -> Settings:
    """This app's settings."""
    configured: Settings = current_app.config["POSTWARDEN_SETTINGS"]
    return configured
