"""``postwarden demo``: the command, the run it makes, its example data and zones (``examples/``).

Everything the demo needs lives here, so it can change without touching the product code.
"""
