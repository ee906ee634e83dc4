"""Probing a one-click unsubscribe URI the way a mailbox provider does (RFC 8058 §3.2).

One POST of ``List-Unsubscribe=One-Click`` as ``application/x-www-form-urlencoded``,
no cookies, no redirect followed: a 2xx answer passes, a redirect or an error
status fails, no answer is ``error``. Private, loopback and link-local
addresses are refused unless allowed (a probe must not reach into the
network it runs in), and so, since no redirect is followed, is a redirect
to one. The connection goes to the address that was checked, not to a
second lookup of the name: a name that answers a public address to the
check and a private one to the connection (DNS rebinding) gets nowhere.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from checks.dns import DnsError
from checks.findings import Finding, Status, finding

BODY = b"List-Unsubscribe=One-Click"


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global


def probe_one_click(
    uri: str,
    resolve: Callable[[str], Iterable[str]],
    *,
    timeout: float = 10.0,
    allow_private: bool = False,
    ca_file: Path | None = None,
) -> tuple[Status, list[Finding], int | None]:
    """POST to ``uri``: (status, findings, HTTP status code or None)."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:  # an unclosed '[' of an IPv6 literal
        host = None
    if not host or parts.scheme not in ("http", "https"):
        return "error", [finding("ONE_CLICK_PROBE_ERROR", f"{uri}: not an http(s) URI.")], None
    try:
        addresses = [host] if _is_ip(host) else list(resolve(host))
    except DnsError as error:  # could not determine
        return "error", [finding("ONE_CLICK_PROBE_ERROR", f"{host}: {error}.")], None
    if not addresses:
        return "error", [finding("ONE_CLICK_PROBE_ERROR", f"{host} has no address.")], None
    if not allow_private and any(_private(a) for a in addresses):
        refused = f"{host} is a private or loopback address; give --allow-private to probe it"
        return "error", [finding("ONE_CLICK_PROBE_ERROR", f"{refused}.")], None
    verify = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        url = httpx.URL(uri)
        # The name stays in the Host header and in TLS (SNI, certificate check).
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Host": url.netloc.decode("ascii"),
        }
        with httpx.Client(verify=verify, timeout=timeout, follow_redirects=False) as client:
            request = client.build_request(
                "POST",
                url.copy_with(host=addresses[0]),
                content=BODY,
                headers=headers,
                extensions={"sni_hostname": url.raw_host.decode("ascii")},
            )
            response = client.send(request)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        return "error", [finding("ONE_CLICK_PROBE_ERROR", f"POST {uri}: {error}.")], None
    code = response.status_code
    if 200 <= code < 300:
        return "pass", [], code
    where = f" to {response.headers.get('location')}" if response.is_redirect else ""
    failed = finding("ONE_CLICK_PROBE_FAILED", f"POST {uri} answered {code}{where}.")
    return "fail", [failed], code


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
