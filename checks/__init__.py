"""The probes, usable as a library on their own (no database, no Flask): SPF, DKIM, DMARC, MX,
PTR and blocklists over DNS (``dns`` and ``dns_bulk`` are the only DNS seam), and the transport
and brand checks (MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE, BIMI); their findings and result
objects, the loopback DNS server of the tests and the demo (``zoneserver``), and the tree of
every error Postwarden raises (``errors``)."""
