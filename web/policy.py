"""What every response carries and what any request may send: security headers, body size."""

from __future__ import annotations

# Larger bodies are refused (413) before they are read: the biggest honest one
# is an ESP's webhook batch, a few MB at most.
MAX_BODY_BYTES = 32 * 1024 * 1024

SECURITY_HEADERS = {
    # Pygal's SVG is inlined without scripts; styles come from our stylesheet and
    # the charts' own <style> elements.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
