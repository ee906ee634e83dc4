"""The reference docs are generated from the code, and the committed ones are current."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from checks.findings import CATALOGUE
from monitor.settings import ENV_PREFIX, setting_keys
from tests.conftest import postwarden_process
from web.docs import main, render_all

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_committed_docs_are_what_the_code_generates(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    stale = [
        name
        for name in render_all()
        if (tmp_path / name).read_text(encoding="utf-8")
        != (DOCS / name).read_text(encoding="utf-8")
    ]
    assert stale == [], f"regenerate with `python -m web.docs`: {stale} differ"


def test_every_setting_command_and_finding_code_is_documented() -> None:
    generated = render_all()
    for section, key in setting_keys():
        assert f"`{ENV_PREFIX}{section}_{key}`".upper() in generated["configuration.md"]
    for command in ("check", "demo", "init", "serve", "worker", "report compliance",
                    "import contacts", "audit-message", "users add"):  # fmt: skip
        assert f"## `postwarden {command}`" in generated["cli.md"]
    for code in CATALOGUE:
        assert f"| `{code}` |" in generated["findings.md"]


@pytest.mark.slow
def test_version_prints_the_installed_version() -> None:
    result = postwarden_process("--version")
    assert result.code == 0
    assert result.stdout.strip().endswith(version("postwarden"))
