"""Delivery events: the normalised event, ESP payload formats (``formats/``: one module per ESP),
reading event files whatever their shape, the deduplicated import that keeps the daily
aggregates, complaint feedback-loop reports (ARF), and campaign engagement."""
