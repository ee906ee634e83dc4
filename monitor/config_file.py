"""The configuration reference: every setting, what it means and its default.

``postwarden init`` writes it out as a commented ``postwarden.toml`` and
``docs/configuration.md`` is generated from it. The keys come from the settings'
registry and the defaults from the settings dataclasses, so neither can drift
from what :func:`monitor.settings.load_settings` accepts; a key without a
description here fails a test.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from checks.dns_settings import Nameserver
from monitor.settings import ENV_PREFIX, Settings, setting_keys


@dataclass(frozen=True)
class KeyDoc:
    """What a setting means; ``example`` is shown for settings without a default."""

    meaning: str
    example: Any = None


SECTIONS: dict[str, str] = {
    "database": "Where Postwarden keeps targets, results, alerts, contacts and events.",
    "dns": "How names are resolved (command-line --nameserver/--timeout win over these).",
    "blocklists": "Which DNS blocklists are asked, and how gently.",
    "smtp": "The mail server alerts and scheduled reports are sent through.",
    "alerts": "When alerts open, and where else they are sent.",
    "schedule": "How often each job of `postwarden worker` / `serve` runs.",
    "rates": "How bounce and complaint rates are judged.",
    "roi": "How conversions are attributed to the mail (`postwarden roi`).",
    "audit": "The list audit's thresholds, in days.",
    "messages": "How sent messages are audited (`postwarden audit-message`).",
    "web": "The dashboard, API and webhooks (`postwarden serve`).",
    "hooks": "ESP webhooks (`/hooks/<esp>`): what each one's requests are authenticated with.",
    "reports": "Reports rendered in the background and mailed on a schedule.",
    "transport": "Transport and brand checks (MTA-STS, TLS-RPT, STARTTLS, DANE, BIMI): where "
    "they connect and how certificates are judged.",
    "dnssec": "DNSSEC validation (the dnssec and dane checks).",
    "gmail": "Gmail Postmaster Tools (API v2): `postwarden gmail connect|status|fetch`.",
    "snds": "Microsoft SNDS automated data access: `postwarden snds fetch`.",
    "dmarc": "Receivers' DMARC aggregate and SMTP TLS reports: the rua mailbox, limits, alerts.",
    "arf": "The complaint feedback-loop mailbox: ARF reports become complaint events.",
}

DOCS: dict[tuple[str, str], KeyDoc] = {
    ("database", "url"): KeyDoc(
        "SQLAlchemy URL: a SQLite file, or postgresql+psycopg://user:password@host/database."
    ),
    ("dns", "nameservers"): KeyDoc(
        'Resolvers to ask, HOST[:PORT] (IPv6 as "[::1]:5353"); empty: the system resolver. '
        "Use your own recursive resolver: blocklists refuse public ones.",
        ["127.0.0.1:5353"],
    ),
    ("dns", "timeout"): KeyDoc("Seconds to wait for one answer."),
    ("dns", "retries"): KeyDoc("Times a lookup that timed out is sent again."),
    ("dns", "concurrency"): KeyDoc("Probes in flight at once."),
    ("blocklists", "enabled"): KeyDoc("Whether sweeps ask blocklists at all."),
    ("blocklists", "zones"): KeyDoc(
        "IP blocklists to ask, by catalogue id or zone. Not set: the catalogue's defaults; "
        "naming either kind replaces the whole catalogue.",
        ["spamhaus-zen", "bl.spamcop.net"],
    ),
    ("blocklists", "domain_zones"): KeyDoc(
        "Domain blocklists to ask, by catalogue id or zone.", ["spamhaus-dbl"]
    ),
    ("blocklists", "keys"): KeyDoc(
        "Query keys by list (Spamhaus DQS, Abusix); environment: spamhaus=KEY,abusix=KEY."
    ),
    ("blocklists", "queries_per_second"): KeyDoc(
        "Queries per zone and second, spread evenly; 0: no limit."
    ),
    ("blocklists", "recheck_minutes"): KeyDoc(
        "Saved runs reuse a verdict younger than this instead of asking the list again."
    ),
    ("blocklists", "catalogue"): KeyDoc(
        "Extra catalogue files (same format as checks/blocklists.toml).", ["my-lists.toml"]
    ),
    ("smtp", "host"): KeyDoc(
        "Mail server; without it (or without recipients) alerts go to the log and the "
        "dashboard only.",
        "smtp.example.com",
    ),
    ("smtp", "port"): KeyDoc('Port; not set: 587, or 465 with security = "ssl".', 587),
    ("smtp", "security"): KeyDoc("starttls, ssl or none."),
    ("smtp", "username"): KeyDoc("Login name, if the server wants one.", "postwarden"),
    ("smtp", "password"): KeyDoc("Login password (or password_file).", "change me"),
    ("smtp", "password_file"): KeyDoc(
        "A file holding the password (Docker/systemd credentials).", "/run/secrets/smtp"
    ),
    ("smtp", "sender"): KeyDoc("From address of alerts."),
    ("smtp", "recipients"): KeyDoc("Who gets alert e-mail.", ["postmaster@example.com"]),
    ("smtp", "timeout"): KeyDoc("Seconds to wait for the server."),
    ("smtp", "ca_file"): KeyDoc(
        "CA bundle to verify the server with (a private CA); not set: the system's.",
        "/etc/ssl/private-ca.pem",
    ),
    ("alerts", "confirmations"): KeyDoc(
        "Consecutive degraded runs before an alert opens (one DNS blip is not an incident)."
    ),
    ("alerts", "alert_on_warn"): KeyDoc("Open alerts for warn too, not only fail."),
    ("alerts", "cannot_check_hours"): KeyDoc(
        "Hours a check may stay error (cannot determine) before a 'cannot check' alert opens."
    ),
    ("alerts", "dashboard_url"): KeyDoc(
        "The dashboard's address, for links in alerts.", "https://postwarden.example.com/"
    ),
    ("alerts", "digest"): KeyDoc("Send a daily digest of open alerts."),
    ("alerts", "webhook_urls"): KeyDoc(
        "URLs that get each alert as a POST.", ["https://hooks.example.com/postwarden"]
    ),
    ("alerts", "webhook_format"): KeyDoc('json, or slack (a Slack-compatible {"text": ...}).'),
    ("alerts", "webhook_secret"): KeyDoc(
        "Signs webhook bodies: X-Postwarden-Signature: sha256=<HMAC>.", "change me"
    ),
    ("alerts", "apprise_urls"): KeyDoc(
        "Any service Apprise knows (Telegram, Teams, ntfy, ...).", ["tgram://bottoken/chatid"]
    ),
    ("schedule", "auth_minutes"): KeyDoc("SPF, DKIM, DMARC, MX and PTR sweep, every ... minutes."),
    ("schedule", "blocklist_minutes"): KeyDoc("Blocklist sweep, every ... minutes."),
    ("schedule", "deliver_seconds"): KeyDoc("Delivery of queued notifications, every ... seconds."),
    ("schedule", "ingest_seconds"): KeyDoc(
        "Import of the webhook events waiting in the inbox, every ... seconds."
    ),
    ("schedule", "purge_hours"): KeyDoc("History purge and retention erasure, every ... hours."),
    ("schedule", "mailbox_minutes"): KeyDoc(
        "Report mailboxes ([dmarc] and [arf] imap_url) polled every ... minutes."
    ),
    ("schedule", "history_days"): KeyDoc("Check results and sent notifications kept this long."),
    ("schedule", "event_history_days"): KeyDoc(
        "Delivery events kept this long, in days (0: kept for ever). Rates keep their daily "
        "counts; on PostgreSQL whole months of events are dropped at once."
    ),
    ("schedule", "chunk_size"): KeyDoc(
        "PostgreSQL: a sweep is split into chunks of this many targets, which every worker "
        "takes from the task engine (procrastinate)."
    ),
    ("schedule", "heartbeat_seconds"): KeyDoc(
        "PostgreSQL: a worker's heartbeat to the task engine; one silent for three "
        "heartbeats is taken for dead and its chunk is run again by another worker."
    ),
    ("rates", "min_delivered"): KeyDoc(
        "Delivered messages a profile needs in its scope and window to judge."
    ),
    ("rates", "days"): KeyDoc("Default window of `postwarden rates`, in days."),
    ("rates", "profiles_dir"): KeyDoc(
        "A directory of your own limit profiles (TOML), added to or replacing shipped ones.",
        "/etc/postwarden/profiles",
    ),
    ("rates", "esps"): KeyDoc(
        "The ESP profiles that apply to this sender (e.g. sendgrid, ses); the other ESP profiles "
        "are not shown or judged on the Rates page, in `postwarden rates` or in the PDFs. "
        "Unset: every ESP profile.",
        ["sendgrid"],
    ),
    ("roi", "lookback_days"): KeyDoc("Touches this many days before a conversion may take credit."),
    ("roi", "half_life_days"): KeyDoc(
        "The time-decay model halves a touch's credit for every this many days before the sale."
    ),
    ("roi", "opens"): KeyDoc("Opens count as email touches beside clicks (machine opens never)."),
    ("roi", "monthly_costs"): KeyDoc(
        "Fixed costs per month (tools, people), spread over each month's campaigns by sends.",
        ["500 EUR"],
    ),
    ("audit", "consent_stale_days"): KeyDoc(
        "Consent not used (mailed, given or confirmed) for longer than this is stale."
    ),
    ("audit", "dormant_days"): KeyDoc("A subscribed contact not mailed for longer is dormant."),
    ("audit", "inactive_days"): KeyDoc("No open or click for longer than this is inactive."),
    ("audit", "unsubscribe_grace_days"): KeyDoc(
        "Mail this long after an unsubscribe is still allowed (Gmail and Yahoo: 2 days)."
    ),
    ("audit", "retention_days"): KeyDoc(
        "Data of unsubscribed, bounced or complained contacts kept longer is flagged, and "
        "erased by the purge job."
    ),
    ("messages", "max_bytes"): KeyDoc("Larger messages are reported, not read."),
    ("messages", "probe_timeout"): KeyDoc("Seconds to wait for a one-click probe (--probe)."),
    ("web", "secret_key"): KeyDoc(
        "Signs cookies; not set: one is generated once and kept in the database.", "change me"
    ),
    ("web", "secure_cookies"): KeyDoc(
        "Cookies only over https; set false only when serving plain http beyond localhost."
    ),
    ("web", "threads"): KeyDoc(
        "Requests served at once by one `serve` process. A webhook request waits in its "
        "thread until it is committed, together with the others waiting; more threads "
        "commit more per disk flush when ESPs send many requests at once."
    ),
    ("web", "session_hours"): KeyDoc(
        "A dashboard session ends this long after its login (and at once at logout, or when "
        "its user's password, role or state changes)."
    ),
    ("web", "login_failures_per_user"): KeyDoc(
        "Wrong passwords allowed for one user name within the window before each further "
        "attempt must wait (15 s, doubling up to the window; answered 429 with Retry-After)."
    ),
    ("web", "login_failures_per_address"): KeyDoc(
        "The same for one client address, whatever the user name: one client cannot lock "
        "out more than a few users."
    ),
    ("web", "login_window_seconds"): KeyDoc(
        "How long a failed login counts, and the longest wait it can cause."
    ),
    ("web", "trusted_proxies"): KeyDoc(
        "Reverse proxies in front (TLS) whose X-Forwarded-For and X-Forwarded-Proto are "
        "believed: the client address throttling counts by. Every connection must then come "
        "through them. 0: none, the headers are dropped."
    ),
    ("hooks", "sendgrid_public_key"): KeyDoc(
        "SendGrid's signed Event Webhook verification key.", "MFkwEwYHKoZIzj0CAQYIKoZIzj0..."
    ),
    ("hooks", "mailgun_signing_key"): KeyDoc("Mailgun's HTTP webhook signing key.", "key-..."),
    ("hooks", "postmark_credentials"): KeyDoc(
        "user:password Postmark sends as basic auth (set in its webhook URL).", "user:password"
    ),
    ("hooks", "mailjet_credentials"): KeyDoc(
        "user:password Mailjet sends as basic auth (set in its webhook URL).", "user:password"
    ),
    ("hooks", "sns_topics"): KeyDoc(
        "SES through SNS: accept these topic ARNs only (empty: any validly signed topic).",
        ["arn:aws:sns:eu-west-1:123456789012:ses-events"],
    ),
    ("hooks", "sns_cert_hosts"): KeyDoc(
        "Hosts (a regular expression) SNS signing certificates may be fetched from."
    ),
    ("hooks", "sns_ca_file"): KeyDoc(
        "CA file to trust when fetching SNS certificates.", "/etc/ssl/certs/ca.pem"
    ),
    ("hooks", "ses_enabled"): KeyDoc("Accept SES events at /hooks/ses."),
    ("hooks", "max_age_seconds"): KeyDoc(
        "SendGrid and Mailgun requests signed longer ago than this (or as far ahead) are "
        "refused as replays; 0: no check."
    ),
    ("reports", "directory"): KeyDoc(
        "Where background reports are kept (shared storage with several hosts)."
    ),
    ("reports", "weekly"): KeyDoc(
        "Reports mailed on Mondays for the week before (compliance, deliverability).",
        ["deliverability"],
    ),
    ("reports", "monthly"): KeyDoc(
        "Reports mailed on the 1st for the month before.", ["compliance", "deliverability"]
    ),
    ("reports", "organisation"): KeyDoc("Name on the reports' cover."),
    ("reports", "appendix_rows"): KeyDoc("Offender samples per rule in the PDF's appendix."),
    ("reports", "attach_max_bytes"): KeyDoc("Larger PDFs are linked in the e-mail, not attached."),
    ("schedule", "transport_minutes"): KeyDoc(
        "MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE and BIMI sweep, every ... minutes."
    ),
    ("transport", "enabled"): KeyDoc(
        "Whether `check` and the schedule run the transport and brand checks (`check "
        "--no-transport` skips them once)."
    ),
    ("transport", "smtp_port"): KeyDoc("Port STARTTLS is tried on at every MX host."),
    ("transport", "https_port"): KeyDoc(
        "Port the MTA-STS policy, BIMI logo and mark certificate are fetched from (a URL's "
        "own port wins)."
    ),
    ("transport", "ca_file"): KeyDoc(
        "CA bundle certificates are verified with; not set: the system's store.",
        "/etc/ssl/certs/ca-certificates.crt",
    ),
    ("transport", "connect_timeout"): KeyDoc(
        "Seconds to wait for a connection or a fetch (SMTP and HTTPS)."
    ),
    ("transport", "certificate_warn_days"): KeyDoc(
        "An MX certificate expiring within this many days warns."
    ),
    ("transport", "certificate_fail_days"): KeyDoc(
        "An MX certificate expiring within this many days (or expired) fails."
    ),
    ("dnssec", "trust_anchors"): KeyDoc(
        "A file of DS or DNSKEY records (zone-file syntax) to validate from; not set: the "
        "root zone's published anchors.",
        "/etc/postwarden/anchors.txt",
    ),
    ("gmail", "client_secrets_file"): KeyDoc(
        "The OAuth client (a 'Desktop app' client's JSON) of your own Google Cloud project with "
        "the Postmaster Tools API enabled.",
        "client_secret.json",
    ),
    ("gmail", "api_url"): KeyDoc("The Postmaster Tools API (tests aim it at a loopback stand-in)."),
    ("gmail", "token_url"): KeyDoc("Google's OAuth token endpoint."),
    ("gmail", "token_key"): KeyDoc(
        "Fernet key the stored refresh token is encrypted with; unset: read from key_file.",
        "base64-of-32-bytes=",
    ),
    ("gmail", "key_file"): KeyDoc(
        "File holding the Fernet key (created 0600 by `gmail connect`; refused if others can "
        "read it)."
    ),
    ("gmail", "days"): KeyDoc(
        "Days back the fetch asks for; days already stored are not asked again."
    ),
    ("gmail", "fetch_hours"): KeyDoc("How often the schedule fetches Gmail's data."),
    ("snds", "key_file"): KeyDoc(
        "File (0600) holding the SNDS automated-access key; unset: SNDS is not fetched.", "snds.key"
    ),
    ("snds", "url"): KeyDoc("Base URL of SNDS's data.aspx and ipStatus.aspx."),
    ("snds", "fetch_hours"): KeyDoc("How often the schedule fetches SNDS (it publishes daily)."),
    ("snds", "timeout"): KeyDoc("Seconds to wait for SNDS's answer."),
    ("dmarc", "imap_url"): KeyDoc(
        "The mailbox reports arrive in (the rua= and TLS-RPT rua= address), polled by the "
        "schedule; IMAP over TLS with the certificate verified. Unset: no mailbox is polled.",
        "imaps://dmarc-reports@mail.example.com:993/INBOX",
    ),
    ("dmarc", "password"): KeyDoc("The mailbox password (prefer password_file)."),
    ("dmarc", "password_file"): KeyDoc(
        "A file holding the mailbox password (mode 0600).", "/etc/postwarden/imap-password"
    ),
    ("dmarc", "done_folder"): KeyDoc("Folder imported messages are moved to (created if missing)."),
    ("dmarc", "ca_file"): KeyDoc(
        "CA bundle to verify the IMAP server with (default: the system's)."
    ),
    ("dmarc", "timeout"): KeyDoc("Seconds to wait for the IMAP server."),
    ("dmarc", "max_inflated_bytes"): KeyDoc(
        "What one report may inflate to (zip, gzip); past it the file is refused as a bomb."
    ),
    ("dmarc", "min_pass_rate"): KeyDoc("Alert when a domain's DMARC pass rate falls below this."),
    ("dmarc", "new_source_messages"): KeyDoc(
        "Alert when a new source failing DMARC sends more than this many messages a day."
    ),
    ("arf", "imap_url"): KeyDoc(
        "The feedback-loop mailbox (the address Yahoo's CFL, Microsoft's JMRP and others send "
        "ARF complaint reports to), polled by the schedule; IMAP over TLS with the certificate "
        "verified. Unset: no feedback mailbox is polled.",
        "imaps://fbl@mail.example.com:993/INBOX",
    ),
    ("arf", "password"): KeyDoc("The mailbox password (prefer password_file)."),
    ("arf", "password_file"): KeyDoc(
        "A file holding the mailbox password (mode 0600).", "/etc/postwarden/fbl-password"
    ),
    ("arf", "done_folder"): KeyDoc("Folder imported messages are moved to (created if missing)."),
    ("arf", "ca_file"): KeyDoc("CA bundle to verify the IMAP server with (default: the system's)."),
    ("arf", "timeout"): KeyDoc("Seconds to wait for the IMAP server."),
}


def default_of(section: str, key: str) -> Any:
    """The default of a setting, read from the settings dataclasses (None: not set)."""
    defaults = Settings()
    special = {
        ("database", "url"): defaults.database_url,
        ("dns", "concurrency"): defaults.concurrency,
        ("smtp", "password_file"): None,
        ("dnssec", "trust_anchors"): defaults.transport.trust_anchors,
        ("dmarc", "password_file"): None,
        ("arf", "password_file"): None,
    }
    if (section, key) in special:
        return special[(section, key)]
    return getattr(getattr(defaults, section), key)


def toml_value(value: Any) -> str:
    """``value`` as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path | Nameserver):
        return json.dumps(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        pairs = (f"{name} = {toml_value(item)}" for name, item in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    return json.dumps(str(value))


def _postwarden_version() -> str:
    try:
        return version("postwarden")
    except PackageNotFoundError:
        return "development"


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, 86)]


def render_config(values: Mapping[tuple[str, str], Any]) -> str:
    """A commented config file listing every setting with its default; ``values`` are
    written as set, everything else as a commented-out line of its default (or example)."""
    lines = [
        f"# Postwarden configuration (written for Postwarden {_postwarden_version()}).",
        "#",
        "# Every setting is listed. A commented-out line shows the default in force;",
        "# uncomment it to change it. Any key can also be set by the environment",
        "# variable POSTWARDEN_<SECTION>_<KEY> (e.g. POSTWARDEN_DATABASE_URL), which wins",
        "# over this file; command-line options win over both.",
        "# Reference: docs/configuration.md in Postwarden's source, or README.md.",
    ]
    for section, title in SECTIONS.items():
        lines += ["", "", f"[{section}]", *_comment(title)]
        for key in (k for s, k in setting_keys() if s == section):
            doc = DOCS[(section, key)]
            default = default_of(section, key)
            lines += ["", *_comment(doc.meaning)]
            if (section, key) in values:
                lines.append(f"{key} = {toml_value(values[(section, key)])}")
            elif default is None:
                lines.append(
                    f"# {key} = {toml_value(doc.example)}  # an example: not set by default"
                )
            else:
                lines.append(f"# {key} = {toml_value(default)}")
    return "\n".join(lines) + "\n"


def render_markdown() -> str:
    """docs/configuration.md: every section and key with its variable, default and meaning."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m web.docs` from monitor/settings/ and "
        "monitor/config_file.py; do not edit. -->",
        "",
        "One TOML file: `--config FILE`, else `$POSTWARDEN_CONFIG`, else `./postwarden.toml` "
        "if it exists. Every key can be overridden by the environment variable "
        "`POSTWARDEN_<SECTION>_<KEY>` (lists as comma-separated values); command-line options "
        "win over both. A bad value stops the command with one line naming the file or "
        "variable and the key (exit 3). Relative paths in the file are relative to the file. "
        "`postwarden init` writes a commented file with every key below.",
    ]
    for section, title in SECTIONS.items():
        lines += ["", f"## `[{section}]`", "", title, ""]
        lines += ["| key | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
        for key in (k for s, k in setting_keys() if s == section):
            doc = DOCS[(section, key)]
            default = default_of(section, key)
            shown = "not set" if default is None else f"`{toml_value(default)}`"
            variable = f"`{ENV_PREFIX}{section}_{key}`".upper()
            example = f" Example: `{toml_value(doc.example)}`." if doc.example is not None else ""
            cells = (f"`{key}`", variable, shown, doc.meaning + example)
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
