"""The test suite: real DNS, SMTP, IMAP, SQLite, PostgreSQL and Chromium on loopback."""
