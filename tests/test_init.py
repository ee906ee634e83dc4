"""`postwarden init`: a commented config with every setting, the database, targets, an admin."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from monitor.config_file import DOCS, default_of, render_config
from monitor.settings import Settings, SettingsError, load_settings, setting_keys
from monitor.targets import list_targets
from monitor.users import authenticate
from store.engine import make_engine
from tests.conftest import postwarden

PASSWORD = "correct horse battery"


def init(tmp_path: Path, *args: str, input_text: str | None = None):  # type: ignore[no-untyped-def]
    return postwarden("init", *args, cwd=tmp_path, input_text=input_text)


def test_it_writes_a_config_that_loads_and_a_database_with_the_admin_and_the_targets(
    tmp_path: Path, database_url: str
) -> None:
    result = init(
        tmp_path, "--yes", "--domain", "News.Example.COM", "--selector", "s1", "--selector",
        "s2", "--ip", "192.0.2.10", "--alert-email", "postmaster@example.com", "--admin",
        "ada", "--password-stdin", "--db", database_url, input_text=PASSWORD + "\n",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    settings = load_settings(str(tmp_path / "postwarden.toml"), environ={})
    assert settings.database_url == database_url
    assert settings.smtp.recipients == ("postmaster@example.com",)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            user = authenticate(session, "ada", PASSWORD)
            assert user is not None and user.role == "admin"
            targets = {(t.name, t.kind, t.selectors) for t in list_targets(session)}
    finally:
        engine.dispose()
    assert targets == {("news.example.com", "domain", ("s1", "s2")), ("192.0.2.10", "ip", ())}
    next_steps = result.stdout.split("Next:")[1].strip().splitlines()
    assert [line.split("#")[0].strip() for line in next_steps] == [
        "postwarden check news.example.com 192.0.2.10 --selector s1 --selector s2",
        "postwarden serve",
    ]


def test_without_a_password_the_admin_gets_a_random_one_printed_once(tmp_path: Path) -> None:
    result = init(tmp_path, "--yes")
    assert result.code == 0, result.stderr
    password = re.search(r"admin admin created, password (\S+) \(shown once\)", result.stdout)
    assert password is not None
    settings = load_settings(str(tmp_path / "postwarden.toml"), environ={})
    # The database sits beside the config file, named absolutely: any working directory finds it.
    assert settings.database_url == f"sqlite:///{tmp_path / 'postwarden.db'}"
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            assert authenticate(session, "admin", password.group(1)) is not None
            assert list_targets(session) == []
    finally:
        engine.dispose()


def test_it_refuses_to_overwrite_an_existing_config_without_force(tmp_path: Path) -> None:
    config = tmp_path / "postwarden.toml"
    config.write_text("[dns]\ntimeout = 5\n", encoding="utf-8")
    refused = init(tmp_path, "--yes")
    assert refused.code == 3
    assert refused.stderr.strip().splitlines() == [
        "postwarden: error: postwarden.toml exists already (--force overwrites it)"
    ]
    assert config.read_text(encoding="utf-8") == "[dns]\ntimeout = 5\n"
    assert not (tmp_path / "postwarden.db").exists()
    forced = init(tmp_path, "--yes", "--force")
    assert forced.code == 0, forced.stderr
    assert "timeout = 5" not in config.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--domain", "192.0.2.1", "is an IP address, not a domain"),
        ("--ip", "mail.example.com", "is not an IP address"),
        ("--selector", "bad selector", "is not a valid DKIM selector"),
        ("--alert-email", "postmaster", "is not an e-mail address"),
        ("--esp", "gmail", "'gmail' is not an ESP profile"),
    ],
)
def test_bad_input_is_one_line_and_exit_3_with_nothing_written(
    tmp_path: Path, option: str, value: str, reason: str
) -> None:
    result = init(tmp_path, "--yes", option, value)
    assert result.code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert reason in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_it_asks_for_what_the_flags_leave_out_and_asks_again_after_a_bad_answer(
    tmp_path: Path,
) -> None:
    answers = [
        "news.example.com", "s1 s2", "not an ip", "198.51.100.7", "me@example.org",
        "sendgird", "sendgrid, SES", "ada", "short", PASSWORD, PASSWORD,
    ]  # fmt: skip
    result = init(tmp_path, "--config", "etc/pw.toml", input_text="\n".join(answers) + "\n")
    assert result.code == 0, result.stderr
    assert "'not an ip' is not an IP address" in result.stdout + result.stderr
    settings = load_settings(str(tmp_path / "etc" / "pw.toml"), environ={})
    assert settings.smtp.recipients == ("me@example.org",)
    assert "'sendgird' is not an ESP profile" in result.stdout + result.stderr
    assert settings.rates.esps == ("sendgrid", "ses")
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            assert authenticate(session, "ada", PASSWORD) is not None
            targets = {(t.name, t.selectors) for t in list_targets(session)}
    finally:
        engine.dispose()
    assert targets == {("news.example.com", ("s1", "s2")), ("198.51.100.7", ())}
    assert "postwarden serve --config etc/pw.toml" in result.stdout


def _uncommented(text: str) -> str:
    """The config file with every commented-out setting made active."""
    return re.sub(r"(?m)^# ([a-z_]+ = .*)$", r"\1", text)


def test_the_config_file_lists_every_setting_with_its_default(tmp_path: Path) -> None:
    text = render_config({})
    listed = set()
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif match := re.match(r"^# ([a-z_]+) = ", line):
            listed.add((section, match.group(1)))
    assert listed == set(setting_keys()) == set(DOCS)
    # Every line uncommented (except the one that names a secret file to read) still
    # loads, and gives the defaults.
    active = _uncommented(text).replace('password_file = "', '# password_file = "')
    path = tmp_path / "all.toml"
    path.write_text(active, encoding="utf-8")
    settings = load_settings(str(path), environ={})
    assert settings.dns.timeout == default_of("dns", "timeout")
    assert settings.audit.consent_stale_days == default_of("audit", "consent_stale_days") == 540
    assert settings.schedule.auth_minutes == default_of("schedule", "auth_minutes")
    assert settings.web.secure_cookies is True
    assert settings.smtp.host == DOCS[("smtp", "host")].example


def test_the_commented_defaults_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "postwarden.toml"
    path.write_text(render_config({}), encoding="utf-8")
    loaded = load_settings(str(path), environ={})
    assert replace(loaded, source="") == replace(Settings(), source="")


def test_a_bad_value_in_the_written_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "postwarden.toml"
    path.write_text(render_config({("dns", "timeout"): -1}), encoding="utf-8")
    with pytest.raises(SettingsError, match=r"dns\.timeout: must be greater than 0"):
        load_settings(str(path), environ={})


def test_esp_flags_name_the_esps_whose_limits_apply(tmp_path: Path) -> None:
    result = init(tmp_path, "--yes", "--esp", "sendgrid", "--esp", "ses", "--config", "pw.toml")
    assert result.code == 0, result.stderr
    assert "judged by the limits of sendgrid, ses" in result.stdout
    settings = load_settings(str(tmp_path / "pw.toml"), environ={})
    assert settings.rates.esps == ("sendgrid", "ses")


def test_without_esps_every_esp_profile_still_applies(tmp_path: Path) -> None:
    result = init(tmp_path, "--yes", "--config", "pw.toml")
    assert result.code == 0, result.stderr
    assert load_settings(str(tmp_path / "pw.toml"), environ={}).rates.esps is None
