"""The rules: contact and event importers (``event_formats/``: one module per ESP), the list
audit (its rules as SQL over ``store``), hygiene and erasure, bounce and complaint rates against
limit profiles (``profiles/*.toml``), campaigns, and the audit of sent messages. No Flask."""
