"""``postwarden audit-message``: unsubscribe, one-click and DKIM audit of sent messages."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from checks.findings import EXIT_CODES, finding, worst
from monitor.cli_options import (
    config_option,
    database,
    db_option,
    dns_options,
    format_option,
    settings_from,
)
from monitor.output import status_label
from monitor.settings import Settings


def _audits(settings: Settings, paths: list[Path], probe: dict[str, Any] | None) -> list[dict]:
    from checks.dns import DnsError, DnsSweep
    from compliance.message_audit import KeyUnavailable, audit_message
    from compliance.message_files import MessageFileError, read_messages
    from compliance.one_click_probe import probe_one_click

    resolver = DnsSweep(settings.dns).resolver()

    def key(name: str) -> str:
        try:
            return "".join(resolver.lookup_txt(name))
        except DnsError as error:
            raise KeyUnavailable(str(error)) from None

    def addresses(host: str) -> list[str]:
        return [str(r) for kind in ("A", "AAAA") for r in resolver.lookup(host, kind)]

    results = []
    try:
        for message in read_messages(paths, settings.messages.max_bytes):
            if message.raw is None:
                problem = finding("MESSAGE_TOO_LARGE", f"{message.where}: {message.problem}.")
                result: dict[str, Any] = {
                    "status": "error", "checks": {}, "findings": [asdict(problem)],
                }  # fmt: skip
            else:
                result = audit_message(message.raw, key)
                one_click = result["checks"].get("one_click")
                if probe is not None and one_click and one_click.get("uri"):
                    status, found, code = probe_one_click(one_click["uri"], addresses, **probe)
                    one_click["probe"] = {"status": status, "http_status": code}
                    one_click["findings"] += [asdict(f) for f in found]
                    one_click["status"] = worst((one_click["status"], status))
                    result["status"] = worst(c["status"] for c in result["checks"].values())
            results.append({"file": message.where, **result})
    except MessageFileError as error:
        raise click.ClickException(str(error)) from None
    return results


@click.command("audit-message")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@dns_options
@click.option("--probe", is_flag=True, help="POST to each one-click URI as a mailbox provider.")
@click.option("--allow-private", is_flag=True, help="Let --probe reach private/loopback hosts.")
@click.option(
    "--probe-ca", type=click.Path(dir_okay=False, path_type=Path), help="CA file for --probe."
)
@click.option("--max-bytes", type=click.IntRange(min=1), help="Largest message read (25 MiB).")
@click.option("--save", is_flag=True, help="Keep the results in the database.")
@db_option
@format_option
@config_option
def audit_message_command(
    paths: tuple[Path, ...],
    nameservers: tuple[str, ...],
    timeout: float | None,
    retries: int | None,
    probe: bool,
    allow_private: bool,
    probe_ca: Path | None,
    max_bytes: int | None,
    save: bool,
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """Audit sent messages (.eml, .mbox, directories): List-Unsubscribe, one-click, DKIM, body link.

    Exits like a check: by the worst status of all messages.
    """
    settings = settings_from(config, db, nameservers, timeout, None, retries)
    if max_bytes:
        from dataclasses import replace

        settings = replace(settings, messages=replace(settings.messages, max_bytes=max_bytes))
    options = None
    if probe:
        options = {
            "timeout": settings.messages.probe_timeout,
            "allow_private": allow_private,
            "ca_file": probe_ca,
        }
    results = _audits(settings, list(paths), options)
    if save:
        _save(settings, results)
    click.echo(json.dumps(results, indent=2) if output_format == "json" else _table(results))
    return EXIT_CODES[worst(r["status"] for r in results)]


def _save(settings: Settings, results: list[dict[str, Any]]) -> None:
    from store.messages import MessageAudit

    now = datetime.now(UTC)
    with database(settings) as sessions, sessions() as session:
        for result in results:
            session.add(
                MessageAudit(
                    audited_at=now,
                    source=result["file"][:1000],
                    message_id=(result.get("message_id") or None),
                    sent_at=datetime.fromisoformat(result["date"]) if result.get("date") else None,
                    sender=result.get("from"),
                    campaign=result.get("campaign"),
                    subject=(result.get("subject") or "")[:998] or None,
                    status=result["status"],
                    checks={name: check["status"] for name, check in result["checks"].items()},
                    findings=[item["code"] for item in result["findings"]],
                )
            )
        session.commit()


def _table(results: list[dict[str, Any]]) -> str:
    lines = []
    for result in results:
        subject = f"  {result['subject']}" if result.get("subject") else ""
        lines.append(f"{status_label(result['status'])} {result['file']}{subject}")
        for name, check in result["checks"].items():
            lines.append(f"    {status_label(check['status'])} {name}")
            for item in check["findings"]:
                lines.append(f"          {item['code']}: {item['message']}")
        for item in result["findings"]:
            lines.append(f"    note  {item['code']}: {item['message']}")
    return "\n".join(lines)
