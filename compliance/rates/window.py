"""How much traffic a rate is judged on: the window's days and the volume a profile needs.

Apart from the rates' SQL and the profiles' files so that the settings (``[rates]``) hold
these defaults without loading SQLAlchemy, TOML or package resources.
"""

from __future__ import annotations

# Rates are judged over this many days, and a profile only with this many delivered messages
# in its scope and window (unless its file says otherwise).
DEFAULT_DAYS = 30
DEFAULT_MIN_DELIVERED = 100
