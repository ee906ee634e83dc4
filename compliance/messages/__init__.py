"""The audit of sent messages (``audit-message``): List-Unsubscribe, one-click and DKIM, what
the body shows, finding ``.eml``/``.mbox`` files, and probing a one-click URI."""
