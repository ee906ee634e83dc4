"""Rendering reports: Jinja2 HTML with paged-media CSS, and PDF through WeasyPrint."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from compliance.rates.wording import TEMPLATE_GLOBALS
from reports.times import display_time

_ENVIRONMENT = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(("html",)),
)
_ENVIRONMENT.globals.update(TEMPLATE_GLOBALS)
# Every time a report shows: "7 Dec 2026, 06:49 UTC".
_ENVIRONMENT.filters["when"] = display_time


def render_html(template: str, data: dict[str, Any]) -> str:
    """The report as one self-contained HTML document (its CSS inlined)."""
    css = (resources.files("reports") / "templates" / "report.css").read_text(encoding="utf-8")
    return _ENVIRONMENT.get_template(template).render(css=css, **data)


def render_pdf(html: str) -> bytes:
    """The HTML as PDF (WeasyPrint: page numbers, repeated table headers, contents)."""
    from weasyprint import HTML  # imported here: it loads Pango, which only PDFs need

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
