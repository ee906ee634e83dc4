"""Attacks on the product through a real server on loopback (``live``): sessions and logins,
web input, escaping, CSV injection, webhooks, hostile files and imports."""
