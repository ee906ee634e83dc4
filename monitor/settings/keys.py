"""The registry of every valid ``(section, key)`` and how each value is read and checked.

A converter takes the raw value (TOML or environment text) and returns the typed one or
raises ValueError saying what it must be; the loader names the file or variable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checks.dns_settings import (
    Nameserver,
    parse_nameserver,
)


def _finite_float(value: Any) -> float:
    number = float(value)
    # An infinite timeout would wait for ever on a dead server.
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _positive_float(value: Any) -> float:
    number = _finite_float(value)
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


def _strings(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError("must be a list of names")
    return tuple(item.strip() for item in items if item.strip())


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _non_negative_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    number = _finite_float(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def _keys(value: Any) -> dict[str, str]:
    """Blocklist keys: a TOML table, or ``name=key,name=key`` in the environment."""
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("must be name=key pairs separated by commas")
        value = {name.strip(): key.strip() for name, key in pairs}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("must be a table of name = key")
    return {str(name).lower(): key for name, key in value.items()}


def _choice(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return convert


def _port(value: Any) -> int:
    number = _whole_number(value)
    if not 0 < number < 65536:
        raise ValueError("must be 1-65535")
    return number


def _secret_file(value: Any) -> str:
    path = Path(str(value))
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"cannot read {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{str(path)!r} is not UTF-8 text") from None


def _url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return text


def _imap_url(value: Any) -> str:
    text = str(value).strip()
    # Plain imap:// would send the password in the clear.
    if not text.startswith("imaps://"):
        raise ValueError("must be an imaps:// URL (IMAP over TLS)")
    return text


def _fraction(value: Any) -> float:
    number = _finite_float(value)
    if not 0 <= number <= 1:
        raise ValueError("must be a fraction from 0 to 1")
    return number


def _urls(value: Any) -> tuple[str, ...]:
    return tuple(_url(item) for item in _strings(value))


def _path(value: Any) -> Path:
    return Path(str(value))


def _paths(value: Any) -> tuple[Path, ...]:
    return tuple(Path(item) for item in _strings(value))


REPORT_KINDS = ("compliance", "deliverability")


def _report_kinds(value: Any) -> tuple[str, ...]:
    kinds = _strings(value)
    for kind in kinds:
        if kind not in REPORT_KINDS:
            raise ValueError(f"{kind!r} is not a report (one of {', '.join(REPORT_KINDS)})")
    return kinds


_COST = re.compile(r"\d{1,12}(\.\d{1,4})? [A-Z]{3}")


def _monthly_costs(value: Any) -> tuple[str, ...]:
    costs = _strings(value)
    for cost in costs:
        if not _COST.fullmatch(cost):
            raise ValueError(f"{cost!r} is not an amount and a currency such as '500 EUR'")
    return costs


# (section, key) -> converter. The registry is the list of valid keys.
KEYS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("database", "url"): str,
    ("dns", "nameservers"): _nameservers,
    ("dns", "timeout"): _positive_float,
    ("dns", "retries"): _count,
    ("dns", "concurrency"): _positive_int,
    ("blocklists", "enabled"): _boolean,
    ("blocklists", "zones"): _strings,
    ("blocklists", "domain_zones"): _strings,
    ("blocklists", "keys"): _keys,
    ("blocklists", "queries_per_second"): _non_negative_float,
    ("blocklists", "recheck_minutes"): _count,
    ("blocklists", "catalogue"): _paths,
    ("smtp", "host"): str,
    ("smtp", "port"): _port,
    ("smtp", "security"): _choice("starttls", "ssl", "none"),
    ("smtp", "username"): str,
    ("smtp", "password"): str,
    # Secrets may come from a file (Docker/systemd credentials) instead.
    ("smtp", "password_file"): _secret_file,
    ("smtp", "sender"): str,
    ("smtp", "recipients"): _strings,
    ("smtp", "timeout"): _positive_float,
    ("smtp", "ca_file"): str,
    ("alerts", "confirmations"): _positive_int,
    ("alerts", "alert_on_warn"): _boolean,
    ("alerts", "cannot_check_hours"): _positive_float,
    ("alerts", "dashboard_url"): _url,
    ("alerts", "digest"): _boolean,
    ("alerts", "webhook_urls"): _urls,
    ("alerts", "webhook_format"): _choice("json", "slack"),
    ("alerts", "webhook_secret"): str,
    ("alerts", "apprise_urls"): _strings,
    ("schedule", "auth_minutes"): _positive_float,
    ("schedule", "blocklist_minutes"): _positive_float,
    ("schedule", "deliver_seconds"): _positive_float,
    ("schedule", "ingest_seconds"): _positive_float,
    ("schedule", "purge_hours"): _positive_float,
    ("schedule", "mailbox_minutes"): _positive_float,
    ("schedule", "history_days"): _positive_int,
    ("schedule", "event_history_days"): _count,
    ("schedule", "chunk_size"): _positive_int,
    ("schedule", "heartbeat_seconds"): _positive_float,
    ("rates", "min_delivered"): _positive_int,
    ("rates", "days"): _positive_int,
    ("rates", "profiles_dir"): _path,
    ("rates", "esps"): _strings,
    ("roi", "lookback_days"): _positive_int,
    ("roi", "half_life_days"): _positive_float,
    ("roi", "opens"): _boolean,
    ("roi", "monthly_costs"): _monthly_costs,
    ("audit", "consent_stale_days"): _positive_int,
    ("audit", "dormant_days"): _positive_int,
    ("audit", "inactive_days"): _positive_int,
    ("audit", "unsubscribe_grace_days"): _count,
    ("audit", "retention_days"): _positive_int,
    ("messages", "max_bytes"): _positive_int,
    ("dmarc", "imap_url"): _imap_url,
    ("dmarc", "password"): str,
    ("dmarc", "password_file"): _secret_file,
    ("dmarc", "done_folder"): str,
    ("dmarc", "ca_file"): str,
    ("dmarc", "timeout"): _positive_float,
    ("dmarc", "max_inflated_bytes"): _positive_int,
    ("dmarc", "min_pass_rate"): _fraction,
    ("dmarc", "new_source_messages"): _positive_int,
    ("arf", "imap_url"): _imap_url,
    ("arf", "password"): str,
    ("arf", "password_file"): _secret_file,
    ("arf", "done_folder"): str,
    ("arf", "ca_file"): str,
    ("arf", "timeout"): _positive_float,
    ("messages", "probe_timeout"): _positive_float,
    ("web", "secret_key"): str,
    ("web", "secure_cookies"): _boolean,
    ("web", "threads"): _positive_int,
    ("web", "session_hours"): _positive_float,
    ("web", "login_failures_per_user"): _positive_int,
    ("web", "login_failures_per_address"): _positive_int,
    ("web", "login_window_seconds"): _positive_int,
    ("web", "trusted_proxies"): _count,
    ("hooks", "sendgrid_public_key"): str,
    ("hooks", "mailgun_signing_key"): str,
    ("hooks", "postmark_credentials"): str,
    ("hooks", "mailjet_credentials"): str,
    ("hooks", "sns_topics"): _strings,
    ("hooks", "sns_cert_hosts"): str,
    ("hooks", "sns_ca_file"): _path,
    ("hooks", "ses_enabled"): _boolean,
    ("hooks", "max_age_seconds"): _count,
    ("reports", "directory"): _path,
    ("reports", "weekly"): _report_kinds,
    ("reports", "monthly"): _report_kinds,
    ("reports", "organisation"): str,
    ("reports", "appendix_rows"): _count,
    ("reports", "attach_max_bytes"): _positive_int,
    ("schedule", "transport_minutes"): _positive_float,
    ("transport", "enabled"): _boolean,
    ("transport", "smtp_port"): _port,
    ("transport", "https_port"): _port,
    ("transport", "ca_file"): _path,
    ("transport", "connect_timeout"): _positive_float,
    ("transport", "certificate_warn_days"): _count,
    ("transport", "certificate_fail_days"): _count,
    ("dnssec", "trust_anchors"): _path,
    ("gmail", "client_secrets_file"): _path,
    ("gmail", "api_url"): _url,
    ("gmail", "token_url"): _url,
    ("gmail", "token_key"): str,
    ("gmail", "key_file"): _path,
    ("gmail", "days"): _positive_int,
    ("gmail", "fetch_hours"): _positive_float,
    ("snds", "key_file"): _path,
    ("snds", "url"): _url,
    ("snds", "fetch_hours"): _positive_float,
    ("snds", "timeout"): _positive_float,
}


def setting_keys() -> tuple[tuple[str, str], ...]:
    """Every valid ``(section, key)`` of the config file, in the registry's order."""
    return tuple(KEYS)
