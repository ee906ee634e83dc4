"""Settings: the only reader of the config file and the environment.

Precedence, lowest first: embedded defaults, the TOML file
(``--config``, else ``$POSTWARDEN_CONFIG``, else ``./postwarden.toml`` if it
exists), ``POSTWARDEN_<SECTION>_<KEY>`` environment variables, then command
line options (applied by the CLI). A bad value stops the program with a
one-line :class:`SettingsError` naming the file or variable and the key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from checks.dns_settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DnsSettings,
    Nameserver,
    parse_nameserver,
)
from checks.errors import BadInput
from checks.transport import TransportSettings
from compliance.audit.thresholds import Thresholds

DEFAULT_CONFIG_FILE = "postwarden.toml"
DEFAULT_DATABASE_URL = "sqlite:///postwarden.db"
ENV_PREFIX = "POSTWARDEN_"


class SettingsError(BadInput):
    """A configuration value is missing, malformed or out of range."""

    label = "config error"


@dataclass(frozen=True)
class BlocklistSettings:
    """Which DNSBLs to ask and how gently.

    ``zones``/``domain_zones`` None means the catalogue's defaults; naming
    either replaces the whole catalogue (the other kind then gets none).
    """

    enabled: bool = True
    zones: tuple[str, ...] | None = None
    domain_zones: tuple[str, ...] | None = None
    keys: Mapping[str, str] = field(default_factory=dict)
    # Per zone; 0 means as fast as the resolver allows.
    queries_per_second: float = 20.0
    # A target/zone pair checked this recently is not asked again by saved runs.
    recheck_minutes: int = 60
    catalogue: tuple[Path, ...] = ()


@dataclass(frozen=True)
class SmtpSettings:
    """Where alert mail goes; no host means no e-mail channel."""

    host: str | None = None
    port: int | None = None
    # starttls | ssl | none
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "postwarden@localhost"
    recipients: tuple[str, ...] = ()
    timeout: float = 30.0
    # CA bundle to verify the server with (a private CA); default: the system's.
    ca_file: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.host and self.recipients)


@dataclass(frozen=True)
class AlertSettings:
    """How alerts open and where they are sent."""

    confirmations: int = 2
    alert_on_warn: bool = False
    cannot_check_hours: float = 6.0
    dashboard_url: str | None = None
    digest: bool = False
    webhook_urls: tuple[str, ...] = ()
    # json | slack
    webhook_format: str = "json"
    webhook_secret: str | None = None
    apprise_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScheduleSettings:
    """How often each job runs."""

    auth_minutes: float = 30.0
    blocklist_minutes: float = 60.0
    deliver_seconds: float = 30.0
    ingest_seconds: float = 5.0
    purge_hours: float = 24.0
    history_days: int = 400
    # Delivery events kept (0: all, as before this setting); the aggregates rates read stay.
    event_history_days: int = 0
    # MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE and BIMI change slowly and cost connections.
    transport_minutes: float = 360.0
    # How often the report mailboxes ([dmarc] and [arf] imap_url) are polled.
    mailbox_minutes: float = 15.0
    # PostgreSQL: targets per sweep chunk, the unit of work the workers share.
    chunk_size: int = 500
    # PostgreSQL: how often a worker tells the task engine it lives; a worker silent
    # for three of these is taken for dead and its chunk is run again by another.
    heartbeat_seconds: float = 10.0


@dataclass(frozen=True)
class RatesSettings:
    """How rates are judged."""

    min_delivered: int = 100
    days: int = 30
    profiles_dir: Path | None = None
    # The ESPs this sender uses; None: every ESP profile is shown and judged.
    esps: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RoiSettings:
    """How conversions are attributed to the mail ([roi])."""

    # Touches this many days before a conversion may take credit for it.
    lookback_days: int = 30
    # The time-decay model halves a touch's weight every this many days.
    half_life_days: float = 7.0
    # Opens count as touches beside clicks (machine opens never do).
    opens: bool = False
    # Fixed costs per month ("500 EUR"), spread over each month's campaigns by sends.
    monthly_costs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageSettings:
    """How sent messages are audited."""

    max_bytes: int = 25 * 1024 * 1024
    probe_timeout: float = 10.0


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


@dataclass(frozen=True)
class ReportSettings:
    """Where generated reports are kept and which ones are mailed on a schedule."""

    # Files of reports rendered in the background (dashboard, schedule); with
    # several hosts it must be shared storage.
    directory: Path = Path("postwarden-reports")
    # Report kinds mailed through the alert channels: weekly (Mondays, the
    # week before) and monthly (the 1st, the month before).
    weekly: tuple[str, ...] = ()
    monthly: tuple[str, ...] = ()
    organisation: str = ""
    appendix_rows: int = 25
    # Larger PDFs are linked, not attached.
    attach_max_bytes: int = 10 * 1024 * 1024


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
_KEYS: dict[tuple[str, str], Callable[[Any], Any]] = {
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
    return tuple(_KEYS)


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
            if (section, key) not in _KEYS:
                raise SettingsError(f"{path}: unknown setting {f'{section}.{key}'!r}")
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
                value = _KEYS[(section, key)](raw)
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
    return Settings(
        database_url=merged.get(("database", "url"), DEFAULT_DATABASE_URL),
        dns=DnsSettings(
            nameservers=merged.get(("dns", "nameservers"), ()),
            timeout=merged.get(("dns", "timeout"), DEFAULT_TIMEOUT),
            retries=merged.get(("dns", "retries"), DEFAULT_RETRIES),
        ),
        concurrency=merged.get(("dns", "concurrency"), DEFAULT_CONCURRENCY),
        blocklists=BlocklistSettings(
            enabled=merged.get(("blocklists", "enabled"), True),
            zones=merged.get(("blocklists", "zones")),
            domain_zones=merged.get(("blocklists", "domain_zones")),
            keys=merged.get(("blocklists", "keys"), {}),
            queries_per_second=merged.get(("blocklists", "queries_per_second"), 20.0),
            recheck_minutes=merged.get(("blocklists", "recheck_minutes"), 60),
            catalogue=merged.get(("blocklists", "catalogue"), ()),
        ),
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
