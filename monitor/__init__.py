"""The service: settings, history, CLI (and later scheduler, alerts)."""
