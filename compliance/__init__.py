"""The rules, one folder per concern: ``contacts/`` (list exports, erasure), ``events/`` (delivery
events from every ESP and feedback loop), ``rates/`` (bounce and complaint rates against limit
profiles, mailbox providers' requirements), ``audit/`` (the list audit's rules as SQL over
``store``), ``messages/`` (the audit of sent messages), ``roi/`` (what the mail earns) and
``dmarc_reports/`` (the receivers' reports); beside them the file helpers every importer
shares (bounded decompression, text a database can store, formula-safe CSV). No Flask."""
