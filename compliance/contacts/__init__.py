"""Contacts: the fields a contact row holds and their checks, export formats by source, the
streamed all-or-nothing import, and the right to erasure with its suppression list."""
