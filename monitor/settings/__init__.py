"""Settings: the only reader of the config file and the environment, one module per concern.

``loading`` holds the whole :class:`Settings` and :func:`load_settings` (defaults, then the
TOML file, then ``POSTWARDEN_<SECTION>_<KEY>`` variables); ``keys`` the registry of every
valid key and how its value is checked; ``blocklists``, ``alerting`` ([smtp], [alerts]),
``schedule``, ``rules`` ([rates], [roi], [messages]), ``serving`` ([web], [hooks]),
``reporting`` and ``receivers`` ([gmail], [snds], [arf], [dmarc]) one dataclass per section.
The names below are the public ones: import them from ``monitor.settings``.
"""

from __future__ import annotations

from monitor.settings.alerting import AlertSettings, SmtpSettings
from monitor.settings.blocklists import BlocklistSettings
from monitor.settings.keys import REPORT_KINDS, setting_keys
from monitor.settings.loading import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_DATABASE_URL,
    ENV_PREFIX,
    Settings,
    SettingsError,
    load_settings,
)
from monitor.settings.receivers import ArfSettings, DmarcSettings, GmailSettings, SndsSettings
from monitor.settings.reporting import ReportSettings
from monitor.settings.rules import MessageSettings, RatesSettings, RoiSettings
from monitor.settings.schedule import ScheduleSettings
from monitor.settings.serving import HookSettings, WebSettings

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_DATABASE_URL",
    "ENV_PREFIX",
    "REPORT_KINDS",
    "AlertSettings",
    "ArfSettings",
    "BlocklistSettings",
    "DmarcSettings",
    "GmailSettings",
    "HookSettings",
    "MessageSettings",
    "RatesSettings",
    "ReportSettings",
    "RoiSettings",
    "ScheduleSettings",
    "Settings",
    "SettingsError",
    "SmtpSettings",
    "SndsSettings",
    "WebSettings",
    "load_settings",
    "setting_keys",
]
