"""The compliance and deliverability reports: their figures, Jinja2 templates rendered to HTML,
PDF (WeasyPrint) and CSV, SVG charts, background rendering, the audit trail, and the ``report``
command (:mod:`reports.cli`)."""
