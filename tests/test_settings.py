"""Settings: defaults, file, environment, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.dns import Nameserver
from monitor.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.dns.nameservers == ()
    assert settings.dns.timeout == 2.0


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
