"""Naming a sending source: its ESP, else its forward-confirmed PTR's registered domain.

``name_source`` is pure (facts in, name out); ``resolve_ptr_names`` asks DNS
through the project's one seam (``checks.dns``), so ``--nameserver`` aims it
at any resolver, and a test at a loopback zone server.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from checks.dns import DnsSweep
from checks.ptr import evaluate_ptr, query_ptr
from compliance.messages.audit import organisational

# Registered domains an ESP or mailbox provider signs with (DKIM d=), bounces
# through (SPF MAIL FROM) or names its sending hosts under (PTR). The DKIM
# check's provider fingerprints (checks/dkim.py) name the same providers.
ESP_DOMAINS: dict[str, str] = {
    "google.com": "Google",
    "googlemail.com": "Google",
    "gappssmtp.com": "Google",
    "1e100.net": "Google",
    "outlook.com": "Microsoft",
    "onmicrosoft.com": "Microsoft",
    "office365.us": "Microsoft",
    "amazonses.com": "Amazon SES",
    "sendgrid.net": "SendGrid",
    "sendgrid.info": "SendGrid",
    "mcsv.net": "Mailchimp",
    "mcdlv.net": "Mailchimp",
    "rsgsv.net": "Mailchimp",
    "mandrillapp.com": "Mailchimp",
    "mailchimpapp.net": "Mailchimp",
    "mailjet.com": "Mailjet",
    "mjrelay.com": "Mailjet",
    "sendinblue.com": "Brevo",
    "brevo.com": "Brevo",
    "sender-sib.com": "Brevo",
    "mtasv.net": "Postmark",
    "postmarkapp.com": "Postmark",
    "mailgun.org": "Mailgun",
    "mailgun.net": "Mailgun",
    "sparkpostmail.com": "SparkPost",
    "zoho.com": "Zoho",
    "zoho.eu": "Zoho",
    "messagingengine.com": "Fastmail",
    "fastmail.com": "Fastmail",
    "yahoo.com": "Yahoo",
}
# How many sources' PTR records one summary looks up at most (the largest first).
MAX_PTR_LOOKUPS = 200


def esp_of(domain: str | None) -> str | None:
    """The ESP whose registered domain ``domain`` is under, if any."""
    if not domain:
        return None
    return ESP_DOMAINS.get(organisational(domain))


def name_source(
    ip: str,
    ptr_domain: str | None,
    dkim_domains: Iterable[str | None],
    spf_domains: Iterable[str | None],
) -> tuple[str, str | None]:
    """A source's display name and its ESP: the ESP when DKIM d=, SPF or PTR says so,
    else the PTR's registered domain, else the IP itself."""
    for domain in (*dkim_domains, *spf_domains, ptr_domain):
        esp = esp_of(domain)
        if esp is not None:
            return esp, esp
    if ptr_domain:
        return ptr_domain, None
    return ip, None


def resolve_ptr_names(ips: Iterable[str], sweep: DnsSweep, workers: int = 16) -> dict[str, str]:
    """The registered domain of each IP's forward-confirmed PTR name (IPs without one left out)."""
    wanted = list(dict.fromkeys(ips))[:MAX_PTR_LOOKUPS]

    def lookup(ip: str) -> tuple[str, str | None]:
        facts = query_ptr(ip, sweep.resolver())
        result = evaluate_ptr(ip, facts)
        if not result.fcrdns or not result.hostnames:
            return ip, None
        return ip, organisational(result.hostnames[0])

    if not wanted:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(wanted))) as pool:
        found = dict(pool.map(lookup, wanted))
    return {ip: name for ip, name in found.items() if name}
