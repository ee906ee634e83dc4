"""The exception tree: what its docstring draws is what the classes are, and callers map kinds."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from checks import errors
from checks.errors import BadInput, Conflict, PostwardenError, Unavailable
from monitor.cli.errors import describe_failure
from monitor.settings import Settings, WebSettings
from store.engine import open_database, session_factory
from tests.conftest import postwarden
from web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("checks", "store", "compliance", "monitor", "reports", "web")
# A line of the drawing: indent, class name, then the module it lives in.
_LINE = re.compile(r"^\s*[│ ]*(?:├──|└──)\s+(\w+)\s+(?:\(\w+\)\s+)?([\w.]+)?:?")


def drawn_tree() -> dict[str, tuple[str, str | None]]:
    """Each class in the docstring's drawing: its parent in the drawing and its module."""
    drawn: dict[str, tuple[str, str | None]] = {}
    parents = ["PostwardenError"]
    for line in (errors.__doc__ or "").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        depth = (line.index("──") - 4) // 4 + 1
        del parents[depth:]
        module = match.group(2) if match.group(2) and "." in match.group(2) else None
        drawn[match.group(1)] = (parents[-1], module)
        parents.append(match.group(1))
    return drawn


def defined_errors() -> Iterator[tuple[str, str]]:
    """(module, class) of every class in the packages whose bases name the tree's bases."""
    bases = {"PostwardenError", "BadInput", "Unavailable", "Conflict"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id in bases for b in node.bases
                ):
                    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                    yield module, node.name


def test_the_drawing_is_the_class_tree() -> None:
    drawn = drawn_tree()
    assert {"BadInput", "Unavailable", "Conflict", "SettingsError", "DnsError"} <= set(drawn)
    for name, (parent, module) in drawn.items():
        cls = getattr(errors, name, None) or getattr(importlib.import_module(module or ""), name)
        assert cls.__bases__[0] is getattr(errors, parent), name


def test_every_error_on_the_tree_is_drawn_where_it_lives() -> None:
    drawn = drawn_tree()
    for module, name in defined_errors():
        if module == "checks.errors":
            continue
        assert name in drawn, f"{module}.{name} is not in the checks.errors docstring"
        assert drawn[name][1] == module, name


def test_a_database_error_carries_the_masked_url() -> None:
    from store.errors import DatabaseError

    with pytest.raises(DatabaseError) as raised:
        open_database("postgresql+psycopg://u:secret@127.0.0.1:1/x")
    assert raised.value.url == "postgresql+psycopg://u:***@127.0.0.1:1/x"
    assert isinstance(raised.value, Unavailable)


def test_bad_input_is_a_value_error_too() -> None:
    from compliance.events.importer import ImportFailed
    from monitor.settings import SettingsError
    from reports.generate import ReportError

    for cls in (ImportFailed, SettingsError, ReportError):
        assert issubclass(cls, ValueError) and issubclass(cls, BadInput)


def test_main_tells_each_kind_by_its_label() -> None:
    from monitor.leader import SchedulerConflict
    from monitor.settings import SettingsError
    from store.errors import DatabaseError

    assert describe_failure(BadInput("a.csv:3: email 'x' is not an address")) == (
        "error: a.csv:3: email 'x' is not an address"
    )
    assert describe_failure(SettingsError("f.toml: dns.timeout: must be > 0")) == (
        "config error: f.toml: dns.timeout: must be > 0"
    )
    assert describe_failure(DatabaseError("sqlite:///x: unable to open")) == (
        "database error: sqlite:///x: unable to open"
    )
    assert describe_failure(SchedulerConflict("another runs it")) == "error: another runs it"
    assert describe_failure(RuntimeError("a bug")) is None


def test_an_import_refused_is_one_line_and_exit_3_without_rewrapping(tmp_path: Path) -> None:
    # import_each re-raises the importer's own error; main tells it.
    broken = tmp_path / "events.csv"
    broken.write_text("not,the,header\n1,2,3\n")
    result = postwarden("import", "events", str(broken), "--source", "csv",
                        "--db", f"sqlite:///{tmp_path / 'pw.db'}")  # fmt: skip
    assert result.code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("postwarden: error: events.csv")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    engine = open_database(f"sqlite:///{tmp_path / 'pw.db'}")
    settings = Settings(database_url=str(engine.url), web=WebSettings(secret_key="k"))
    flask_app = create_app(settings, session_factory(engine))

    class LookupFailed(Unavailable):
        pass

    def unavailable() -> str:
        raise LookupFailed("192.0.2.1:53 timed out")

    def bad() -> str:
        raise BadInput("limit: 'many' is not a number")

    def conflict() -> str:
        raise Conflict("held")

    flask_app.add_url_rule("/api/test-unavailable", view_func=unavailable)
    flask_app.add_url_rule("/api/test-bad", view_func=bad)
    flask_app.add_url_rule("/api/test-conflict", view_func=conflict)
    yield flask_app
    flask_app.extensions["postwarden_inbox"].close()
    engine.dispose()


def test_the_web_answers_unavailable_with_503_and_retry_after(app: Flask) -> None:
    response = app.test_client().get("/api/test-unavailable")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "192.0.2.1" not in response.get_data(as_text=True)  # details stay in the log


def test_the_web_answers_bad_input_with_400_and_its_line(app: Flask) -> None:
    response = app.test_client().get("/api/test-bad")
    assert response.status_code == 400
    assert response.get_json() == {"error": "limit: 'many' is not a number"}


def test_a_postwarden_error_of_no_handled_kind_is_still_a_server_error(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/api/test-conflict").status_code == 500
    assert issubclass(Conflict, PostwardenError)
