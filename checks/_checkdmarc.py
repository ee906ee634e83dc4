"""checkdmarc, set up for a monitoring service.

checkdmarc keeps a process-wide DNS cache for 30 minutes, keyed by name and
type but not by nameserver. A monitor that trusted it would keep reporting a
revoked record as valid for half an hour, and a test against one nameserver
would see the answers of another. Postwarden caches per sweep in
:mod:`checks.dns` (respecting TTLs), so checkdmarc's cache is replaced here,
once, before any probe runs, by one that never keeps anything: an
``ExpiringDict`` with a zero lifetime would still take a lock on every
lookup from every probe thread and fill up to 200,000 dead entries.
checkdmarc's per-nameserver failure warnings are noise for us: failures are
recorded and reported as findings.

checkdmarc's package ``__init__`` imports every module it has (BIMI, MTA-STS,
DNSSEC, SMTP, SOA: 0.15 s of CPU, on every ``postwarden check``); Postwarden uses
two. So the package is entered without running its ``__init__``, which runs in
full the first time anyone asks the package for a name it does not have yet
(``checkdmarc.check_domains``): a program that uses all of checkdmarc beside us
sees all of it.
"""

from __future__ import annotations

import checks._dnspython  # noqa: F401  (before dnspython: see there)

# isort: split

import importlib.util
import logging
import sys
import warnings
from typing import Any


def _enter_package_lazily(name: str) -> None:
    """Put package ``name`` in ``sys.modules`` without running its ``__init__`` yet."""
    spec = importlib.util.find_spec(name)
    if name in sys.modules or spec is None or spec.loader is None:
        return  # already imported, or not installed: the imports below say so
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(attribute: str) -> Any:
        # The package's own names were asked for: run its __init__ now, once.
        del package.__getattr__
        loader.exec_module(package)
        return getattr(package, attribute)

    package.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules[name] = package


_enter_package_lazily("checkdmarc")
with warnings.catch_warnings():
    # dnspython 2.9 declares DSA key classes, which cryptography 51 deprecates:
    # checkdmarc's import of dns.dnssec printed four warnings on every command.
    # Not ours to fix, and muted for this import only.
    warnings.filterwarnings("ignore", "DSA is deprecated", category=UserWarning)
    import checkdmarc.dmarc
    import checkdmarc.spf
    import checkdmarc.utils


class _ForgetfulCache(dict[str, Any]):
    """Reads miss, writes are dropped.

    checkdmarc reads its cache with ``.get()`` and writes it by item
    assignment, and only treats a real ``ExpiringDict`` as a cache in
    ``query_dns``; this object satisfies both and stores nothing.
    """

    def __setitem__(self, key: str, value: Any) -> None:
        return None


checkdmarc.utils.DNS_CACHE = _ForgetfulCache()
logging.getLogger("checkdmarc").setLevel(logging.ERROR)

spf = checkdmarc.spf
dmarc = checkdmarc.dmarc

__all__ = ["dmarc", "spf"]
