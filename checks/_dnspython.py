"""dnspython as the probes use it; imported before any dnspython module that asks for one
of its optional features.

Postwarden asks over UDP and TCP only. With an HTTP/2 client installed, dnspython's query
module imports it for DNS over HTTPS (a twentieth of a second at every start), so
dnspython's own switch turns the feature off first. Best effort by design: a process that
imported dnspython's query module before this only pays that import.
"""

import dns._features

dns._features.force("doh", False)
