"""The top layer: the Flask app (dashboard pages, JSON API, ESP webhooks with their signature
and replay checks, login), serving it with waitress, the demo (``demo/``), the reference-doc
generator and the ``postwarden`` console script with its table of every command
(:mod:`web.cli`). Nothing imports ``web``."""
