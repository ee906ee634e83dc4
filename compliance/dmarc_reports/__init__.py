"""The receivers' view: DMARC aggregate reports (RFC 7489, RFC 9990) and SMTP TLS reports.

``payloads`` finds the reports inside a file (XML, JSON, gzip, zip, e-mail,
mbox) with every inflation bounded; ``aggregate`` and ``tls`` parse them,
streaming; ``importer`` stores them all or nothing; ``summary`` answers who
sends as a domain, what fails and whether it can enforce.

Every problem with a file is a :class:`ReportError`: one line, without the
file's name (the caller adds it), never a traceback.
"""

from __future__ import annotations


class ReportError(ValueError):
    """A report that cannot be read: corrupt, hostile, too large or not a report."""
