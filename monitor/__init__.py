"""The service: settings, targets, history, alerts and their outbox and channels, the scheduler
and its jobs, the webhook inbox (requests accepted at once, imported in batches), message audits,
and monitor's commands of the console script (``cli/``)."""
