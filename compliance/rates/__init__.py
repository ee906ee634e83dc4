"""Rates: bounce and complaint rates over a window (``window``: its days and the volume a
profile needs) judged against limit profiles (``profiles/*.toml``), how they read, the
receivers' own figures (Gmail, SNDS, ARF), which provider a domain belongs to, and each
provider's bulk-sender requirements."""
