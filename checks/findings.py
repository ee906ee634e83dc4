"""Statuses, findings and the catalogue of finding codes.

Every finding Postwarden reports has a stable UPPER_SNAKE code registered
here with its level, a title and a default fix. Alerts, reports and the docs
key on these codes, so a code is never renamed once published.

Status order (worst last): ``pass < warn < error < fail``. ``error`` means
*could not determine* and is never shown or alerted as ``fail``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from checks.findings_transport import TRANSPORT_FINDINGS

Status = Literal["pass", "warn", "error", "fail"]
Level = Literal["info", "warn", "error", "fail"]

STATUS_RANK: dict[str, int] = {"pass": 0, "warn": 1, "error": 2, "fail": 3}
# Monitoring-plugin exit codes (Nagios/Icinga): 3 is UNKNOWN.
EXIT_CODES: dict[str, int] = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


@dataclass(frozen=True)
class Finding:
    """One observation about a target: what is wrong and how to fix it."""

    code: str
    level: Level
    message: str
    fix: str


@dataclass(frozen=True)
class FindingSpec:
    """The catalogue entry of a finding code."""

    level: Level
    title: str
    fix: str


def worst(statuses: Iterable[str]) -> Status:
    """The worst of ``statuses`` by :data:`STATUS_RANK`; ``pass`` when empty."""
    result: Status = "pass"
    for status in statuses:
        if STATUS_RANK[status] > STATUS_RANK[result]:
            result = status  # type: ignore[assignment]
    return result


def status_of(findings: Iterable[Finding]) -> Status:
    """A check's status: the worst finding level, ``pass`` if none is above info."""
    return worst("pass" if f.level == "info" else f.level for f in findings)


def finding(code: str, message: str, fix: str | None = None) -> Finding:
    """Build a finding for a catalogued ``code`` (its level comes from the catalogue)."""
    spec = CATALOGUE[code]
    return Finding(code=code, level=spec.level, message=message, fix=fix or spec.fix)


def name_the_record(fix: str, domain: str | None, selector: str | None = None) -> str:
    """A catalogue fix with its placeholders filled for one target (pure): ``<domain>`` and
    ``<your domain>`` become the domain, ``<selector>`` the DKIM selector, so a fix names
    the real record (``s1._domainkey.example.com``), not a pattern."""
    if domain:
        fix = fix.replace("<your domain>", domain).replace("<domain>", domain)
    if selector:
        fix = fix.replace("<selector>", selector)
    return fix


_DNS_FIX = (
    "Check that the nameserver is reachable and that the domain's authoritative "
    "servers answer; the check runs again on the next sweep."
)

CATALOGUE: dict[str, FindingSpec] = {
    # -- DNS (could not determine) ---------------------------------------------
    "DNS_LOOKUP_FAILED": FindingSpec("error", "A DNS lookup failed", _DNS_FIX),
    "CHECK_INTERNAL_ERROR": FindingSpec(
        "error",
        "The check itself failed",
        "This is a bug in Postwarden or a library it uses; the log has the traceback. "
        "Please report it with the record that triggered it.",
    ),
    # -- SPF (RFC 7208) ---------------------------------------------------------
    "SPF_MISSING": FindingSpec(
        "fail",
        "No SPF record",
        'Publish one TXT record at the domain, e.g. "v=spf1 include:<your ESP> -all".',
    ),
    "SPF_MULTIPLE_RECORDS": FindingSpec(
        "fail",
        "More than one SPF record",
        "Merge the SPF records into a single TXT record starting with v=spf1 "
        "(two records are a permerror, RFC 7208 section 4.5).",
    ),
    "SPF_SYNTAX_ERROR": FindingSpec(
        "fail", "SPF record does not parse", "Correct the record's syntax (RFC 7208 section 12)."
    ),
    "SPF_PERMERROR": FindingSpec(
        "fail",
        "SPF evaluation ends in permerror",
        "Fix the included or redirected record named in the message.",
    ),
    "SPF_TOO_MANY_LOOKUPS": FindingSpec(
        "fail",
        "SPF needs more than 10 DNS lookups",
        "Remove unused include/a/mx/exists mechanisms or replace them with ip4:/ip6: "
        "ranges until evaluation needs at most 10 lookups (RFC 7208 section 4.6.4).",
    ),
    "SPF_TOO_MANY_VOID_LOOKUPS": FindingSpec(
        "fail",
        "SPF has more than 2 void lookups",
        "Remove mechanisms that point at names with no records (RFC 7208 section 4.6.4).",
    ),
    "SPF_PASS_ALL": FindingSpec(
        "fail",
        "SPF allows every sender (+all)",
        "End the record with -all (or ~all while you roll it out), never +all.",
    ),
    "SPF_NEUTRAL_ALL": FindingSpec(
        "warn",
        "SPF ends in ?all",
        "End the record with -all or ~all so receivers can act on unauthorised mail.",
    ),
    "SPF_NO_ALL": FindingSpec(
        "warn",
        "SPF has no all mechanism",
        "End the record with -all or ~all; without it, unlisted senders are neutral.",
    ),
    "SPF_WARNING": FindingSpec(
        "warn", "SPF best-practice warning", "See the message; correct the record it names."
    ),
    # -- DMARC (RFC 7489, RFC 9989/9990) ---------------------------------------
    "DMARC_MISSING": FindingSpec(
        "fail",
        "No DMARC record",
        'Publish a TXT record at _dmarc.<domain>: "v=DMARC1; p=none; rua=mailto:<you>", '
        "then move to p=quarantine or p=reject.",
    ),
    "DMARC_MULTIPLE_RECORDS": FindingSpec(
        "fail",
        "More than one DMARC record",
        "Keep exactly one v=DMARC1 TXT record at _dmarc.<domain>.",
    ),
    "DMARC_SYNTAX_ERROR": FindingSpec(
        "fail", "DMARC record does not parse", "Correct the record's tags (RFC 7489 section 6.3)."
    ),
    "DMARC_POLICY_NONE": FindingSpec(
        "warn",
        "DMARC policy is p=none (monitoring only)",
        "Once reports show your mail aligns, publish p=quarantine, then p=reject.",
    ),
    "DMARC_PARTIAL_PCT": FindingSpec(
        "warn",
        "DMARC policy applies to a fraction of mail",
        "Remove pct (or raise it to 100); to roll out a policy use t=y instead (RFC 9989).",
    ),
    "DMARC_SUBDOMAIN_POLICY_NONE": FindingSpec(
        "warn",
        "DMARC does not protect subdomains (sp=none or np=none)",
        "Remove sp=none/np=none (subdomains then inherit p), or set them to quarantine "
        "or reject; anyone can otherwise send as any subdomain.",
    ),
    "DMARC_TESTING": FindingSpec(
        "warn",
        "DMARC is in testing mode (t=y)",
        "Remove t=y once you have rolled out the policy (RFC 9989).",
    ),
    "DMARC_NO_REPORTS": FindingSpec(
        "info",
        "DMARC asks for no aggregate reports",
        "Add rua=mailto:<address> to learn who sends as your domain.",
    ),
    "DMARC_RUA_UNAUTHORIZED": FindingSpec(
        "warn",
        "DMARC reports go to a domain that has not authorised them",
        "The report domain must publish <your domain>._report._dmarc.<report domain> "
        'TXT "v=DMARC1" (RFC 7489 section 7.1).',
    ),
    "DMARC_FOUND_AT_ORGANIZATIONAL_DOMAIN": FindingSpec(
        "info",
        "DMARC record is inherited from the organisational domain",
        "Nothing to do unless this subdomain needs its own policy.",
    ),
    "DMARC_WARNING": FindingSpec(
        "warn", "DMARC best-practice warning", "See the message; correct the record it names."
    ),
    # -- DKIM (RFC 6376, RFC 8463) ----------------------------------------------
    "DKIM_SELECTOR_MISSING": FindingSpec(
        "fail",
        "DKIM selector has no key record",
        "Publish the selector's public key as TXT at <selector>._domainkey.<domain>, "
        "or remove the selector from the configuration.",
    ),
    "DKIM_KEY_REVOKED": FindingSpec(
        "fail",
        "DKIM key is revoked (empty p=)",
        "Sign with a selector whose key is published, or publish a new key for this one.",
    ),
    "DKIM_KEY_INVALID": FindingSpec(
        "fail",
        "DKIM key record does not parse",
        "Republish the record as v=DKIM1; k=rsa; p=<base64 public key>.",
    ),
    "DKIM_KEY_TOO_SHORT": FindingSpec(
        "fail",
        "DKIM RSA key is shorter than 1024 bits",
        "Generate a 2048-bit RSA (or an ed25519) key, publish it under a new selector "
        "and switch signing to it.",
    ),
    "DKIM_KEY_WEAK": FindingSpec(
        "warn",
        "DKIM RSA key is shorter than 2048 bits",
        "Rotate to a 2048-bit RSA key under a new selector.",
    ),
    "DKIM_MULTIPLE_RECORDS": FindingSpec(
        "warn",
        "DKIM selector has more than one key record",
        "Keep one key record per selector; publish a new key under a new selector.",
    ),
    "DKIM_KEY_SHA1_ONLY": FindingSpec(
        "fail",
        "DKIM key allows only SHA-1 signatures",
        "Remove h=sha1 from the key record (or use h=sha256) and sign with rsa-sha256; "
        "receivers treat rsa-sha1 signatures as invalid (RFC 8301).",
    ),
    "DKIM_KEY_NOT_FOR_EMAIL": FindingSpec(
        "fail",
        "DKIM key is restricted to another service",
        "Remove the s= tag from the key record, or set it to s=email.",
    ),
    "DKIM_TESTING": FindingSpec(
        "warn",
        "DKIM key is in testing mode (t=y)",
        "Remove t=y from the key record once signing works.",
    ),
    "DKIM_NO_SELECTOR_FOUND": FindingSpec(
        "warn",
        "No DKIM selector configured or discovered",
        "Give the selectors your mail is signed with (--selector, or the domain's "
        "configuration): the s= tag of a DKIM-Signature header names it.",
    ),
    "DKIM_SELECTORS_DISCOVERED": FindingSpec(
        "info",
        "DKIM selectors were discovered, not configured",
        "Configure the selectors you sign with so a missing key is reported.",
    ),
    # -- MX ---------------------------------------------------------------------
    "MX_MISSING": FindingSpec(
        "fail",
        "No MX record and no address to fall back on",
        "Publish an MX record so bounces and replies reach you.",
    ),
    "MX_IMPLICIT": FindingSpec(
        "warn",
        "No MX record; mail falls back to the domain's address",
        "Publish an explicit MX record for the host that receives your bounces.",
    ),
    "MX_NULL": FindingSpec(
        "fail",
        "Null MX: the domain accepts no mail",
        "A sending domain must receive bounces: replace the null MX (RFC 7505) with a real one.",
    ),
    "MX_HOST_UNRESOLVABLE": FindingSpec(
        "warn",
        "An MX host has no address",
        "Give the host an A/AAAA record or remove it from the MX set.",
    ),
    "MX_NO_RESOLVABLE_HOST": FindingSpec(
        "fail",
        "No MX host has an address",
        "Give the MX hosts A/AAAA records; until then no bounce can be delivered.",
    ),
    # -- PTR / FCrDNS -----------------------------------------------------------
    "PTR_MISSING": FindingSpec(
        "fail",
        "Sending IP has no reverse DNS",
        "Ask whoever owns the IP (hosting provider, ESP) to set a PTR record naming "
        "a host that resolves back to the IP.",
    ),
    "PTR_NOT_FORWARD_CONFIRMED": FindingSpec(
        "fail",
        "Reverse DNS is not forward-confirmed",
        "Give the PTR host name an A/AAAA record with this IP (FCrDNS), as Gmail, "
        "Yahoo and Microsoft require of bulk senders.",
    ),
    "PTR_MULTIPLE": FindingSpec(
        "warn",
        "Sending IP has several PTR records",
        "Keep one PTR record per IP; receivers may pick any of them.",
    ),
}

CATALOGUE.update(
    {
        # -- Blocklists (RFC 5782) ----------------------------------------------------
        "DNSBL_LISTED": FindingSpec(
            "fail",
            "Listed on a blocklist that receivers act on",
            "Find and stop what got it listed (the list's reason says what it saw), then "
            "request removal on the list's delisting page.",
        ),
        "DNSBL_LISTED_LOW_IMPACT": FindingSpec(
            "warn",
            "Listed on a blocklist few receivers act on",
            "Read the reason; such listings mostly expire once the cause stops. Request "
            "removal if the list offers it.",
        ),
        "DNSBL_QUERY_REFUSED": FindingSpec(
            "error",
            "The blocklist refused to answer",
            "Query through your own recursive resolver rather than a public one (8.8.8.8, "
            "1.1.1.1), register it where the list asks you to, or configure the list's key "
            '([blocklists] keys = "spamhaus=<DQS key>").',
        ),
        "DNSBL_ZONE_UNHEALTHY": FindingSpec(
            "error",
            "A blocklist zone fails its RFC 5782 test points; its answers are ignored",
            "Remove the zone from the configuration if it is dead, or make sure your "
            "resolver may query it (some lists require registration).",
        ),
        "DNSBL_BAD_ANSWER": FindingSpec(
            "error",
            "A blocklist answered outside 127.0.0.0/8",
            "Such answers come from a list domain that changed hands or a resolver that "
            "rewrites NXDOMAIN; use a resolver that does not, and drop the zone if it persists.",
        ),
    }
)

CATALOGUE.update(
    {
        # -- Rates against limit profiles ------------------------------------------
        "RATE_OVER_FAIL": FindingSpec(
            "fail",
            "A rate is at or over the provider's fail line",
            "Stop mailing the addresses that bounce or complain (suppress hard bounces and "
            "complainers at once), re-confirm old segments, and check where the traffic "
            "came from before sending again.",
        ),
        "RATE_OVER_WARN": FindingSpec(
            "warn",
            "A rate is at or over the provider's warning line",
            "Suppress bounced and complaining addresses, mail engaged recipients first, and "
            "watch the next sends.",
        ),
        "RATES_LOW_VOLUME": FindingSpec(
            "error",
            "Too little traffic to judge a rate",
            "Widen the window (--days) or wait for more delivery events; no rate is claimed "
            "on a handful of messages.",
        ),
        "RATES_NOT_PUBLISHED": FindingSpec(
            "info",
            "The provider publishes no threshold",
            "Nothing to do: the traffic is judged by the baseline profile instead.",
        ),
        "GMAIL_SPAM_RATE_JUDGED": FindingSpec(
            "info",
            "Judged on Gmail's own user-reported spam rate (Postmaster Tools)",
            "Nothing to do: this is the figure Gmail enforces.",
        ),
        "GMAIL_ESP_UNDERCOUNTS": FindingSpec(
            "info",
            "The ESP-based complaint rate undercounts Gmail",
            "Gmail sends almost no per-message complaints to ESPs: connect Postmaster Tools "
            "(postwarden gmail connect) to judge the spam rate Gmail enforces.",
        ),
        "SNDS_FILTER_RED": FindingSpec(
            "fail",
            "Microsoft SNDS filters a sending IP's mail as spam (RED)",
            "Stop bulk sends from the IP, find the complaints and trap hits behind it, and "
            "warm up again.",
        ),
        "SNDS_FILTER_YELLOW": FindingSpec(
            "warn",
            "Microsoft SNDS marks a sending IP YELLOW",
            "Watch its complaint rate and trap hits; do not grow volume from it.",
        ),
        "SNDS_TRAP_HITS": FindingSpec(
            "fail",
            "Mail from a sending IP hit Microsoft's spam traps",
            "Trap hits mean addresses nobody owns: find the list source and suppress "
            "unengaged contacts.",
        ),
        "SNDS_IP_BLOCKED": FindingSpec(
            "fail",
            "Microsoft blocks a sending IP (SNDS IP status)",
            "Ask for mitigation through the Outlook.com sender support form once the cause "
            "is fixed.",
        ),
        "SNDS_NO_DATA": FindingSpec(
            "info",
            "SNDS has no data for a sending IP that day",
            "Nothing to do: SNDS lists an IP only on days it sent enough mail to Outlook.com.",
        ),
        "SNDS_FETCH_FAILED": FindingSpec(
            "error",
            "Microsoft SNDS could not be read",
            "Check [snds] key_file and url; the fetch runs again tomorrow "
            "(or now: postwarden snds fetch).",
        ),
        "DMARC_REPORT_NEW_FAILING_SOURCE": FindingSpec(
            "fail",
            "A source never seen before sends mail failing DMARC as the domain",
            "If it is yours (a new ESP or server), authorize it: an SPF include or DKIM "
            "signing with the domain; if not, it is spoofing your domain: move to "
            "p=quarantine or p=reject.",
        ),
        "DMARC_REPORT_PASS_RATE_LOW": FindingSpec(
            "fail",
            "Less of the domain's mail passes DMARC than the minimum",
            "Look at the failing sources (postwarden dmarc --domain DOMAIN): authorize "
            "the legitimate ones with SPF or aligned DKIM.",
        ),
        "DMARC_REPORT_DISPOSITION": FindingSpec(
            "fail",
            "Receivers quarantined or rejected mail from the domain's own senders",
            "These sources pass DMARC with their other mail (your servers or an ESP): find "
            "which stream fails (a forwarder, an unsigned system mail, a new DKIM key) on "
            "the DMARC page and align its SPF or DKIM.",
        ),
        "TLSRPT_FAILURES": FindingSpec(
            "fail",
            "Senders failed to open TLS sessions to the domain's MX (TLS-RPT)",
            "Look at the failure types (postwarden dmarc --tls): an expired or mismatched "
            "certificate, an MTA-STS policy naming the wrong MX, a STARTTLS outage.",
        ),
        "RATE_TREND_TO_FAIL": FindingSpec(
            "info",
            "At its current trend a rate will reach the fail line",
            "Act before it does: suppress complainers and bounces, slow down cold segments.",
        ),
    }
)

CATALOGUE.update(
    {
        # -- Sent messages (audit-message) ------------------------------------------
        "LIST_UNSUBSCRIBE_MISSING": FindingSpec(
            "fail",
            "No List-Unsubscribe header",
            "Add List-Unsubscribe (RFC 2369) with an https URI and a mailto URI in angle "
            "brackets; Gmail and Yahoo require it of bulk mail.",
        ),
        "LIST_UNSUBSCRIBE_MALFORMED": FindingSpec(
            "fail",
            "List-Unsubscribe is not a list of <URI>s",
            "Write each URI in angle brackets, comma-separated, with no whitespace inside: "
            "List-Unsubscribe: <https://example.com/u/123>, <mailto:u@example.com>",
        ),
        "LIST_UNSUBSCRIBE_NO_HTTPS_OR_MAILTO": FindingSpec(
            "fail",
            "List-Unsubscribe has no https or mailto URI",
            "Offer an https URI (needed for one-click) and a mailto URI; plain http is not "
            "accepted by mailbox providers.",
        ),
        "ONE_CLICK_POST_MISSING": FindingSpec(
            "fail",
            "No List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Add the header exactly as RFC 8058 writes it and have the https URI accept a "
            "POST that unsubscribes without further steps.",
        ),
        "ONE_CLICK_NO_HTTPS": FindingSpec(
            "fail",
            "One-click needs an https URI in List-Unsubscribe",
            "Put an https URI in List-Unsubscribe; RFC 8058 one-click works only over https.",
        ),
        "ONE_CLICK_NOT_SIGNED": FindingSpec(
            "fail",
            "The unsubscribe headers are not covered by a valid DKIM signature",
            "Sign List-Unsubscribe and List-Unsubscribe-Post (list both in the signature's "
            "h= tag) with a key whose signature verifies.",
        ),
        "ONE_CLICK_PROBE_FAILED": FindingSpec(
            "fail",
            "The one-click URI did not accept the POST",
            "The URI must answer a POST of 'List-Unsubscribe=One-Click' with 2xx, without "
            "a redirect, a login or a confirmation page.",
        ),
        "ONE_CLICK_PROBE_ERROR": FindingSpec(
            "error",
            "The one-click URI could not be probed",
            "Check that the URI is reachable from here; the probe refuses private "
            "addresses unless --allow-private.",
        ),
        "DKIM_UNSIGNED": FindingSpec(
            "fail",
            "The message has no DKIM signature",
            "Sign outgoing mail with DKIM (a 2048-bit RSA or an ed25519 key) on the From "
            "domain or its organisational domain.",
        ),
        "DKIM_SIGNATURE_INVALID": FindingSpec(
            "fail",
            "A DKIM signature does not verify",
            "The message changed after signing (a footer added by a relay, re-encoding) or "
            "the published key does not match the signing key.",
        ),
        "DKIM_KEY_UNAVAILABLE": FindingSpec(
            "error",
            "The DKIM key could not be fetched",
            _DNS_FIX,
        ),
        "DKIM_NOT_ALIGNED": FindingSpec(
            "warn",
            "No verified signature is aligned with the From domain",
            "Sign with d= the From domain (strict) or its organisational domain (relaxed), "
            "so DMARC passes on DKIM.",
        ),
        "BODY_UNSUBSCRIBE_MISSING": FindingSpec(
            "fail",
            "No visible unsubscribe link in the body",
            "Put a visible unsubscribe link in the footer of every part (HTML and text).",
        ),
        "BODY_UNSUBSCRIBE_HIDDEN": FindingSpec(
            "fail",
            "The unsubscribe link is hidden",
            "Show the link: no display:none, visibility:hidden, zero font size or zero size.",
        ),
        "POSTAL_ADDRESS_MISSING": FindingSpec(
            "warn",
            "No postal address found in the body",
            "CAN-SPAM requires the sender's valid physical postal address in commercial "
            "mail; put it in the footer.",
        ),
        "WHY_RECEIVED_MISSING": FindingSpec(
            "info",
            "No line saying why the recipient gets this mail",
            "Add a line such as 'You receive this because you subscribed at example.com'.",
        ),
        "FEEDBACK_ID_MISSING": FindingSpec(
            "info",
            "No Feedback-ID header",
            "Add Feedback-ID (campaign:customer:type:sender) so Gmail's feedback loop "
            "reports complaints per campaign.",
        ),
        "NOREPLY_SENDER": FindingSpec(
            "warn",
            "From or Reply-To is a no-reply address",
            "Use an address that reaches a person; replies are engagement and a way to "
            "ask to be removed.",
        ),
        # -- List hygiene (the audit) -------------------------------------------------
        "ADDRESS_INVALID": FindingSpec(
            "warn",
            "Subscribed addresses that are not valid",
            "Correct them from the source, or remove them.",
        ),
        "ROLE_ACCOUNT": FindingSpec(
            "warn",
            "Subscribed role accounts",
            "Keep a role account only if a person there opted in and confirmed.",
        ),
        "DOMAIN_TYPO": FindingSpec(
            "warn",
            "Subscribed addresses at misspelt domains",
            "Ask the subscriber to confirm the corrected address; never correct it silently.",
        ),
        "DOMAIN_NO_MAIL": FindingSpec(
            "warn",
            "Subscribed addresses at domains that take no mail",
            "Remove them: every message to them bounces hard.",
        ),
        "DOMAIN_UNRESOLVED": FindingSpec(
            "error",
            "Recipient domains whose DNS could not be read",
            "Run the audit again later; these domains were not judged.",
        ),
        "MESSAGE_UNREADABLE": FindingSpec(
            "error",
            "The message could not be read as MIME",
            "Check the file is a whole RFC 5322 message (headers, blank line, body).",
        ),
        "MESSAGE_TOO_LARGE": FindingSpec(
            "error",
            "The message is over the size limit and was not read",
            "Raise [messages] max_bytes (or --max-bytes) if such messages are really sent.",
        ),
        "MESSAGE_HEADER_TOO_LARGE": FindingSpec(
            "error",
            "The message's header fields are over the size limit; it was not read",
            "No mailbox provider takes such a header (Exchange Online refuses 256 KB): "
            "find what in the sending path adds header fields without end.",
        ),
        "MESSAGE_TOO_MANY_PARTS": FindingSpec(
            "error",
            "The message has too many MIME parts, or nests them too deeply; it was not read",
            "A sent message has a handful of parts: check the generator that built this one.",
        ),
        "MESSAGE_DEFECTS": FindingSpec(
            "warn",
            "The message has MIME defects",
            "Fix the generator: broken boundaries or encodings make filters suspicious.",
        ),
    }
)

# The transport and brand checks' codes (mta_sts, tls_rpt, starttls, dnssec, dane, bimi).
CATALOGUE.update(
    {
        code: FindingSpec(level, title, fix)
        for code, (level, title, fix) in TRANSPORT_FINDINGS.items()
    }
)
