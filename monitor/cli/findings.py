"""``postwarden findings``: the catalogue of finding codes."""

from __future__ import annotations

import click

from monitor.cli.options import format_option


@click.command("findings")
@format_option
def list_findings(output_format: str) -> int:
    """List every finding code with its level, meaning and default fix."""
    from monitor.output import render_catalogue_json, render_catalogue_table

    if output_format == "json":
        click.echo(render_catalogue_json())
    else:
        click.echo(render_catalogue_table())
    return 0
