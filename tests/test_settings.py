"""Settings: defaults, file, environment, and clear errors for bad values."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from checks.dns import DnsSettings, Nameserver
from monitor.blocklist_plan import make_plan
from monitor.settings import (
    DEFAULT_DATABASE_URL,
    BlocklistSettings,
    Settings,
    SettingsError,
    load_settings,
)


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.dns.nameservers == ()
    assert settings.dns.timeout == 2.0


def test_nothing_configured_is_every_dataclass_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}) == Settings()


def test_a_key_left_out_keeps_its_dataclass_default(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text("[blocklists]\nrecheck_minutes = 5\n[dns]\nretries = 3\n")
    settings = load_settings(str(config), environ={})
    assert settings.blocklists == replace(BlocklistSettings(), recheck_minutes=5)
    assert settings.dns == replace(DnsSettings(), retries=3)
    assert settings.concurrency == Settings().concurrency


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text(
        '[dns]\nnameservers = ["127.0.0.1:5353"]\ntimeout = 3\n[database]\nurl = "sqlite:///a.db"\n'
    )
    settings = load_settings(str(config), environ={"POSTWARDEN_DNS_TIMEOUT": "0.5"})
    assert settings.dns.nameservers == (Nameserver("127.0.0.1", 5353),)
    assert settings.dns.timeout == 0.5
    assert settings.database_url == "sqlite:///a.db"


def test_the_config_path_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text("[dns]\nconcurrency = 8\n")
    assert load_settings(environ={"POSTWARDEN_CONFIG": str(config)}).concurrency == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[dns]\ntimeout = 0\n", "dns.timeout: must be greater than 0"),
        ("[dns]\nnameservers = ['ns.example']\n", "dns.nameservers: nameserver 'ns.example'"),
        ("[dns]\nretry = 3\n", "unknown setting 'dns.retry'"),
        ("[dns]\nretries = 1.5\n", "dns.retries: must be a whole number"),
        ("[dns]\nretries = -1\n", "dns.retries: must be 0 or more"),
        ("[dns\n", "pw.toml:"),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "pw.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=r"pw\.toml") as caught:
        load_settings(str(config), environ={})
    assert message in str(caught.value)


def test_bad_environment_values_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="POSTWARDEN_DNS_CONCURRENCY: must be at least 1"):
        load_settings(environ={"POSTWARDEN_DNS_CONCURRENCY": "0"})


def test_blocklist_settings_come_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text(
        '[blocklists]\nzones = ["spamhaus-zen"]\nkeys = { Spamhaus = "k3y" }\n'
        'queries_per_second = 0\ncatalogue = ["extra.toml"]\n'
    )
    settings = load_settings(
        str(config), environ={"POSTWARDEN_BLOCKLISTS_RECHECK_MINUTES": "15"}
    ).blocklists
    assert settings.zones == ("spamhaus-zen",)
    assert settings.domain_zones is None
    assert settings.keys == {"spamhaus": "k3y"}
    assert settings.queries_per_second == 0
    assert settings.recheck_minutes == 15
    # a path in a config file is relative to that file
    assert settings.catalogue == (tmp_path / "extra.toml",)


def test_blocklist_keys_from_the_environment() -> None:
    settings = load_settings(
        environ={"POSTWARDEN_BLOCKLISTS_KEYS": "spamhaus=abc, abusix=def"}
    ).blocklists
    assert settings.keys == {"spamhaus": "abc", "abusix": "def"}
    with pytest.raises(SettingsError, match="POSTWARDEN_BLOCKLISTS_KEYS: must be name=key"):
        load_settings(environ={"POSTWARDEN_BLOCKLISTS_KEYS": "spamhaus"})


def test_naming_one_kind_of_zone_replaces_the_whole_catalogue() -> None:
    defaults = make_plan(BlocklistSettings())
    assert defaults is not None and defaults.ip_zones and defaults.domain_zones
    only_ip = make_plan(BlocklistSettings(), zones=["bl.example.test"])
    assert only_ip is not None
    assert [z.zone for z in only_ip.ip_zones] == ["bl.example.test"]
    assert only_ip.domain_zones == ()
    configured = make_plan(BlocklistSettings(domain_zones=("spamhaus-dbl",)))
    assert configured is not None and configured.ip_zones == ()
    assert make_plan(BlocklistSettings(enabled=False)) is None
    unlimited = make_plan(BlocklistSettings(queries_per_second=0))
    assert unlimited is not None and unlimited.queries_per_second is None


def test_the_smtp_password_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    settings = load_settings(
        environ={
            "POSTWARDEN_SMTP_HOST": "smtp.example.test",
            "POSTWARDEN_SMTP_PASSWORD_FILE": str(secret),
            "POSTWARDEN_SMTP_RECIPIENTS": "a@example.test,b@example.test",
        }
    )
    assert settings.smtp.password == "s3cret"
    assert settings.smtp.recipients == ("a@example.test", "b@example.test")
    assert settings.smtp.configured
    with pytest.raises(SettingsError, match="POSTWARDEN_SMTP_PASSWORD_FILE: cannot read"):
        load_settings(environ={"POSTWARDEN_SMTP_PASSWORD_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("POSTWARDEN_SMTP_SECURITY", "tls", "must be one of starttls, ssl, none"),
        ("POSTWARDEN_ALERTS_WEBHOOK_URLS", "ftp://x", "must be an http:// or https:// URL"),
        ("POSTWARDEN_ALERTS_CONFIRMATIONS", "0", "must be at least 1"),
        ("POSTWARDEN_SCHEDULE_AUTH_MINUTES", "-5", "must be greater than 0"),
    ],
)
def test_bad_alert_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}: {message}"):
        load_settings(environ={name: value})
