"""The console script's command table: every entry loads, and start-up imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from web.cli import COMMANDS, IMPORTERS, LazyGroup, Subcommands, cli, load_command, run

HEAVY = ("sqlalchemy", "alembic", "checkdmarc", "dns", "flask", "weasyprint", "apscheduler",
         "httpx", "reports.generate", "web.app", "compliance.audit.list_audit")  # fmt: skip


def _modules_after(code: str) -> list[str]:
    """The top-level and named modules a fresh interpreter has imported after ``code``."""
    program = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout.splitlines()[-1])


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_every_entry_of_the_table_is_a_click_command() -> None:
    for name, entry in COMMANDS.items():
        if isinstance(entry, Subcommands):
            assert entry.table is IMPORTERS
            continue
        assert isinstance(load_command(entry), click.Command), name
    for name, path in IMPORTERS.items():
        assert isinstance(load_command(path), click.Command), name


def test_the_import_group_lists_each_importer() -> None:
    context = click.Context(cli, info_name="postwarden")
    group = cli.get_command(context, "import")
    assert isinstance(group, click.Group)
    assert group.list_commands(context) == sorted(IMPORTERS)
    assert group.get_command(context, "nothing") is None


def test_a_command_added_by_hand_is_listed_beside_the_table() -> None:
    group = LazyGroup("test", table={"check": "monitor.cli.check:check"})
    group.add_command(click.Command("zeta", callback=lambda: None))
    context = click.Context(group)
    assert group.list_commands(context) == ["check", "zeta"]
    assert group.get_command(context, "zeta") is not None


def test_an_entry_that_is_not_a_command_is_refused() -> None:
    with pytest.raises(TypeError, match="not a click command"):
        load_command("web.cli:COMMANDS")


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_heavy(argv: list[str]) -> None:
    modules = _modules_after(
        f"from web.cli import run\nimport contextlib, io\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    run({argv!r})"
    )
    assert _heavy(modules) == []


def test_reading_the_settings_imports_nothing_heavy_nor_the_public_suffix_list() -> None:
    # Every command reads them; the limit profiles' files and the public suffix list
    # (a quarter second of parsing) are for the commands that judge rates.
    modules = _modules_after("import monitor.settings\nmonitor.settings.load_settings(environ={})")
    assert "monitor.settings.loading" in modules
    assert _heavy(modules) == []
    assert [m for m in modules if m.startswith(("publicsuffixlist", "importlib.resources"))] == []


def test_listing_alerts_imports_no_probe_results_rules_or_outbox(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert run(["alerts", "list", "--db", url]) == 0  # creates the schema, in this process
    modules = _modules_after(
        "from web.cli import run\nimport contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    run(['alerts', 'list', '--db', {url!r}])"
    )
    assert "monitor.alerting" in modules
    lazy = ("checks.results", "monitor.alert_rules", "monitor.outbox")
    assert [name for name in lazy if name in modules] == []


def test_loading_every_command_module_imports_nothing_heavy() -> None:
    # `postwarden --help` does this for the one-line summaries, and docs/cli.md too.
    modules = _modules_after(
        "from web.cli import COMMANDS, IMPORTERS, load_command\n"
        "for entry in [*COMMANDS.values(), *IMPORTERS.values()]:\n"
        "    if isinstance(entry, str):\n"
        "        load_command(entry)"
    )
    assert "monitor.cli.check" in modules
    assert _heavy(modules) == []


def test_a_check_enters_checkdmarc_without_its_other_modules() -> None:
    modules = _modules_after("import checks.sweep")
    assert "checkdmarc.spf" in modules
    assert "checkdmarc.bimi" not in modules and "checkdmarc.dnssec" not in modules


def test_checkdmarc_entered_by_a_check_is_whole_when_asked_for_more() -> None:
    modules = _modules_after(
        "import warnings\nwarnings.simplefilter('ignore')\n"
        "import checks.sweep\nimport checkdmarc\n"
        "assert callable(checkdmarc.check_domains)\n"
        "import checkdmarc.utils\n"
        "assert type(checkdmarc.utils.DNS_CACHE).__name__ == '_ForgetfulCache'"
    )
    assert "checkdmarc.bimi" in modules
