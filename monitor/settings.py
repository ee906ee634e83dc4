"""Settings: the only reader of the config file and the environment.

Precedence, lowest first: embedded defaults, the TOML file
(``--config``, else ``$POSTWARDEN_CONFIG``, else ``./postwarden.toml`` if it
exists), ``POSTWARDEN_<SECTION>_<KEY>`` environment variables, then command
line options (applied by the CLI). A bad value stops the program with a
one-line :class:`SettingsError` naming the file or variable and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.dns import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DnsSettings,
    Nameserver,
    parse_nameserver,
)
from checks.sweep import DEFAULT_CONCURRENCY

DEFAULT_CONFIG_FILE = "postwarden.toml"
DEFAULT_DATABASE_URL = "sqlite:///postwarden.db"
ENV_PREFIX = "POSTWARDEN_"


class SettingsError(Exception):
    """A configuration value is missing, malformed or out of range."""


@dataclass(frozen=True)
class Settings:
    """Everything Postwarden is configured with."""

    database_url: str = DEFAULT_DATABASE_URL
    dns: DnsSettings = field(default_factory=DnsSettings)
    concurrency: int = DEFAULT_CONCURRENCY
    source: str = "defaults"


def _positive_float(value: Any) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("must be greater than 0")
    return number


def _whole_number(value: Any) -> int:
    if isinstance(value, (bool, float)):
        raise ValueError("must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None


def _positive_int(value: Any) -> int:
    number = _whole_number(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _count(value: Any) -> int:
    number = _whole_number(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def _nameservers(value: Any) -> tuple[Nameserver, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("must be a list of HOST[:PORT]")
    return tuple(parse_nameserver(str(item)) for item in items if str(item).strip())


# (section, key) -> converter. The registry is the list of valid keys.
_KEYS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("database", "url"): str,
    ("dns", "nameservers"): _nameservers,
    ("dns", "timeout"): _positive_float,
    ("dns", "retries"): _count,
    ("dns", "concurrency"): _positive_int,
}


def _read_file(path: Path) -> dict[tuple[str, str], Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: {error}") from None
    values: dict[tuple[str, str], Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: '{section}' must be a [section]")
        for key, value in table.items():
            if (section, key) not in _KEYS:
                raise SettingsError(f"{path}: unknown setting '{section}.{key}'")
            values[(section, key)] = value
    return values


def _read_env(environ: Mapping[str, str]) -> dict[tuple[str, str], Any]:
    values: dict[tuple[str, str], Any] = {}
    for section, key in _KEYS:
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
                merged[(section, key)] = _KEYS[(section, key)](raw)
            except (TypeError, ValueError) as error:
                raise SettingsError(f"{where}: {error}") from None
    return Settings(
        database_url=merged.get(("database", "url"), DEFAULT_DATABASE_URL),
        dns=DnsSettings(
            nameservers=merged.get(("dns", "nameservers"), ()),
            timeout=merged.get(("dns", "timeout"), DEFAULT_TIMEOUT),
            retries=merged.get(("dns", "retries"), DEFAULT_RETRIES),
        ),
        concurrency=merged.get(("dns", "concurrency"), DEFAULT_CONCURRENCY),
        source=", ".join(origin for origin, values in sources if values) or "defaults",
    )
