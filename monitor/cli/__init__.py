"""monitor's commands of the ``postwarden`` console script, one module per command family.

The console script's command table (:data:`web.cli.COMMANDS`) names each command here by
``"module:attribute"`` and imports its module only when the command runs (or ``--help``
lists it). So a module here imports only click and :mod:`monitor.cli.options` at the top;
everything else (SQLAlchemy, checkdmarc, the compliance rules) inside the command function.
"""
