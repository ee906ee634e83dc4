"""Every error Postwarden raises on purpose, by kind, in one tree.

What a caller does with an error depends on its kind, not its class: bad input is told
in one line and exits 3 (HTTP 400); something unavailable is worth trying again later
(the outbox retries, a webhook answers 503 so the ESP resends); a conflict means another
process holds what is needed. ``web.cli.main`` maps the three bases, nothing else::

    PostwardenError                 str() is one line naming what and where
    ├── BadInput (ValueError)       input that cannot be used as given: exit 3, HTTP 400
    │   ├── SettingsError           monitor.settings.loading: a config value (file, key)
    │   ├── CatalogueError          checks.blocklist_catalogue: a zone or catalogue file
    │   ├── ImportFailed            compliance.events.importer: nothing was written
    │   ├── ContactImportFailed     compliance.contacts.importer: nothing was written
    │   ├── FileError               compliance.events.reader: a file that is not events
    │   ├── RecordError             compliance.events.normalised: one record's field
    │   ├── CompressedFileError     compliance.compressed: corrupt gzip or a bomb
    │   ├── MessageFileError        compliance.messages.files: an unreadable message
    │   ├── ProfileError            compliance.rates.limit_profiles: a limit profile file
    │   ├── SignatureError          web.webhook_signatures: not signed as the ESP signs
    │   ├── TargetError             monitor.targets: a domain or IP to monitor
    │   ├── UserError               monitor.users: a user, role or password
    │   └── ReportError             reports.generate: a report request
    ├── Unavailable                 needed now and not there: try again later
    │   ├── DatabaseError           store.errors: the database (its URL, password masked)
    │   ├── DnsError                checks.dns: a lookup failed (.failure)
    │   ├── KeyUnavailable          compliance.messages.audit: a DKIM key's lookup failed
    │   ├── InboxUnavailable        monitor.inbox: a webhook request was not stored
    │   └── TransportError          monitor.outbox: a notification not delivered (.permanent)
    └── Conflict                    another process holds it
        └── SchedulerConflict       monitor.leader: another scheduler runs this database

Each class lives beside the code that raises it, under the same public name as before.
Each carries :attr:`PostwardenError.label`, the words the command line puts before the
message (``postwarden: config error: …``). This module is the root because ``checks`` is
the lowest layer and must stay usable alone: it imports nothing, and every layer may
import it.
"""

from __future__ import annotations


class PostwardenError(Exception):
    """An error Postwarden raises on purpose; its message is one line."""

    #: What the command line calls it: ``postwarden: <label>: <message>``.
    label = "error"


class BadInput(PostwardenError, ValueError):
    """Input that cannot be used as given (a file, a field, an option, a request).

    A ``ValueError`` too, so code that validates with ``except ValueError`` still works.
    """


class Unavailable(PostwardenError):
    """Something needed is not there now (a server, a lookup, a channel): try again later."""


class Conflict(PostwardenError):
    """Another process holds what is needed."""
