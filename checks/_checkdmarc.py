"""checkdmarc, set up for a monitoring service.

checkdmarc keeps a process-wide DNS cache for 30 minutes, keyed by name and
type but not by nameserver. A monitor that trusted it would keep reporting a
revoked record as valid for half an hour, and a test against one nameserver
would see the answers of another. Postwarden caches per sweep in
:mod:`checks.dns` (respecting TTLs), so checkdmarc's own cache is switched off
here, once, before any probe runs. checkdmarc's per-nameserver failure
warnings are noise for us: failures are recorded and reported as findings.
"""

from __future__ import annotations

import logging

import checkdmarc.dmarc
import checkdmarc.spf
import checkdmarc.utils

# An ExpiringDict whose entries expire at once: every read misses.
checkdmarc.utils.DNS_CACHE.max_age = 0
logging.getLogger("checkdmarc").setLevel(logging.ERROR)

spf = checkdmarc.spf
dmarc = checkdmarc.dmarc

__all__ = ["dmarc", "spf"]
