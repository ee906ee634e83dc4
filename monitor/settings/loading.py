"""The whole configuration (:class:`Settings`) and reading it: defaults, file, environment.

Precedence, lowest first: embedded defaults, the TOML file
(``--config``, else ``$POSTWARDEN_CONFIG``, else ``./postwarden.toml`` if it
exists), ``POSTWARDEN_<SECTION>_<KEY>`` environment variables, then command
line options (applied by the CLI). A bad value stops the program with a
one-line :class:`SettingsError` naming the file or variable and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from checks.dns_settings import DEFAULT_CONCURRENCY, DnsSettings
from checks.errors import BadInput
from checks.transport import TransportSettings
from compliance.audit.thresholds import Thresholds
from monitor.settings.alerting import AlertSettings, SmtpSettings
from monitor.settings.blocklists import BlocklistSettings
from monitor.settings.keys import KEYS
from monitor.settings.receivers import ArfSettings, DmarcSettings, GmailSettings, SndsSettings
from monitor.settings.reporting import ReportSettings
from monitor.settings.rules import MessageSettings, RatesSettings, RoiSettings
from monitor.settings.schedule import ScheduleSettings
from monitor.settings.serving import HookSettings, WebSettings

DEFAULT_CONFIG_FILE = "postwarden.toml"
DEFAULT_DATABASE_URL = "sqlite:///postwarden.db"
ENV_PREFIX = "POSTWARDEN_"


class SettingsError(BadInput):
    """A configuration value is missing, malformed or out of range."""

    label = "config error"


@dataclass(frozen=True)
class Settings:
    """Everything Postwarden is configured with."""

    database_url: str = DEFAULT_DATABASE_URL
    dns: DnsSettings = field(default_factory=DnsSettings)
    concurrency: int = DEFAULT_CONCURRENCY
    blocklists: BlocklistSettings = field(default_factory=BlocklistSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    rates: RatesSettings = field(default_factory=RatesSettings)
    roi: RoiSettings = field(default_factory=RoiSettings)
    # The list audit's day thresholds ([audit]).
    audit: Thresholds = field(default_factory=Thresholds)
    messages: MessageSettings = field(default_factory=MessageSettings)
    web: WebSettings = field(default_factory=WebSettings)
    hooks: HookSettings = field(default_factory=HookSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    transport: TransportSettings = field(default_factory=TransportSettings)
    gmail: GmailSettings = field(default_factory=GmailSettings)
    snds: SndsSettings = field(default_factory=SndsSettings)
    dmarc: DmarcSettings = field(default_factory=DmarcSettings)
    arf: ArfSettings = field(default_factory=ArfSettings)
    source: str = "defaults"
    # The config file read, if any (its permissions are checked: it holds secrets).
    # Where the settings came from, not what they are: not compared.
    config_file: str | None = field(default=None, compare=False)


def _read_file(path: Path) -> dict[tuple[str, str], Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise SettingsError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except ValueError as error:
        # TOMLDecodeError, and the ValueError of integers over 4,300 digits.
        raise SettingsError(f"{path}: {error}") from None
    values: dict[tuple[str, str], Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: {section!r} must be a [section]")
        for key, value in table.items():
            if (section, key) not in KEYS:
                raise SettingsError(f"{path}: unknown setting {f'{section}.{key}'!r}")
            values[(section, key)] = value
    return values


def _read_env(environ: Mapping[str, str]) -> dict[tuple[str, str], Any]:
    values: dict[tuple[str, str], Any] = {}
    for section, key in KEYS:
        name = f"{ENV_PREFIX}{section}_{key}".upper()
        if name in environ:
            values[(section, key)] = environ[name]
    return values


def load_settings(
    config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build :class:`Settings` from defaults, the config file and the environment."""
    environ = os.environ if environ is None else environ
    path_text = config_file or environ.get(f"{ENV_PREFIX}CONFIG")
    sources: list[tuple[str, dict[tuple[str, str], Any]]] = []
    if path_text:
        sources.append((path_text, _read_file(Path(path_text))))
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        sources.append((DEFAULT_CONFIG_FILE, _read_file(Path(DEFAULT_CONFIG_FILE))))
    sources.append(("environment", _read_env(environ)))
    merged: dict[tuple[str, str], Any] = {}
    for origin, values in sources:
        for (section, key), raw in values.items():
            where = (
                f"{ENV_PREFIX}{section}_{key}".upper()
                if origin == "environment"
                else f"{origin}: {section}.{key}"
            )
            try:
                value = KEYS[(section, key)](raw)
            except (TypeError, ValueError, OverflowError) as error:
                # OverflowError: an integer too large for a float setting.
                raise SettingsError(f"{where}: {error}") from None
            # Paths in a file are relative to that file.
            base = Path(origin).parent if origin != "environment" else Path()
            if isinstance(value, tuple) and value and isinstance(value[0], Path):
                value = tuple(base / path for path in value)
            elif isinstance(value, Path):
                value = base / value
            merged[(section, key)] = value
    # A value not given is left out, so each default is the one on its dataclass.
    top_level_keys = {"database_url": ("database", "url"), "concurrency": ("dns", "concurrency")}
    top_level = {name: merged[key] for name, key in top_level_keys.items() if key in merged}
    return Settings(
        **top_level,
        dns=_section(DnsSettings, "dns", merged),
        blocklists=_section(BlocklistSettings, "blocklists", merged),
        smtp=_section(SmtpSettings, "smtp", merged, password=("password", "password_file")),
        alerts=_section(AlertSettings, "alerts", merged),
        schedule=_section(ScheduleSettings, "schedule", merged),
        rates=_section(RatesSettings, "rates", merged),
        roi=_section(RoiSettings, "roi", merged),
        audit=_section(Thresholds, "audit", merged),
        messages=_section(MessageSettings, "messages", merged),
        web=_section(WebSettings, "web", merged),
        hooks=_section(HookSettings, "hooks", merged),
        reports=_section(ReportSettings, "reports", merged),
        transport=_transport(merged),
        gmail=_section(GmailSettings, "gmail", merged),
        snds=_section(SndsSettings, "snds", merged),
        dmarc=_section(DmarcSettings, "dmarc", merged, password=("password", "password_file")),
        arf=_section(ArfSettings, "arf", merged, password=("password", "password_file")),
        source=", ".join(origin for origin, values in sources if values) or "defaults",
        config_file=next((origin for origin, _ in sources if origin != "environment"), None),
    )


def _section(
    kind: type[Any],
    name: str,
    merged: Mapping[tuple[str, str], Any],
    **aliases: tuple[str, ...],
) -> Any:
    """A settings dataclass from the merged values of section ``name``.

    ``aliases`` map a field to the keys that may set it, the first given
    winning (``password`` from ``password`` or ``password_file``).
    """
    values: dict[str, Any] = {}
    for item in fields(kind):
        for key in aliases.get(item.name, (item.name,)):
            if (name, key) in merged:
                values[item.name] = merged[(name, key)]
                break
    return kind(**values)


def _transport(merged: Mapping[tuple[str, str], Any]) -> TransportSettings:
    """[transport] and [dnssec] (the trust anchors), paths as text for the checks layer."""
    values: dict[str, Any] = {
        key: str(value) if isinstance(value, Path) else value
        for (section, key), value in merged.items()
        if section == "transport"
    }
    anchors = merged.get(("dnssec", "trust_anchors"))
    return TransportSettings(**values, trust_anchors=str(anchors) if anchors else None)
