"""Finding codes of the transport and brand checks: (level, title, fix).

Registered into :data:`checks.findings.CATALOGUE`; kept apart so that the
catalogue module stays readable. Codes are never renamed once published.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["info", "warn", "error", "fail"]

_STS = "RFC 8461"
_REPORTS = 'Publish `_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls-reports@DOMAIN"`.'

TRANSPORT_FINDINGS: dict[str, tuple[Level, str, str]] = {
    # -- MTA-STS (RFC 8461) -----------------------------------------------------
    "MTA_STS_MISSING": (
        "info",
        "No MTA-STS policy: senders may deliver without TLS",
        'Publish `_mta-sts TXT "v=STSv1; id=20260101"` and a policy at '
        "https://mta-sts.DOMAIN/.well-known/mta-sts.txt (start with mode: testing).",
    ),
    "MTA_STS_RECORD_MULTIPLE": (
        "fail",
        "More than one MTA-STS record",
        f"Keep exactly one `v=STSv1` TXT record at _mta-sts ({_STS} 3.1): with several, "
        "senders ignore the policy.",
    ),
    "MTA_STS_RECORD_INVALID": (
        "fail",
        "The MTA-STS record is malformed",
        "The record is `v=STSv1; id=ID` with an id of 1-32 letters and digits.",
    ),
    "MTA_STS_POLICY_UNREACHABLE": (
        "error",
        "The MTA-STS policy could not be fetched",
        "Check that mta-sts.DOMAIN answers HTTPS on port 443; the check runs again on the "
        "next sweep.",
    ),
    "MTA_STS_ENFORCE_UNREACHABLE": (
        "error",
        "The MTA-STS policy in enforce mode cannot be fetched",
        "Bring https://mta-sts.DOMAIN/.well-known/mta-sts.txt back: senders that cached the "
        "enforce policy keep it, new ones cannot learn it, and a policy that cannot be "
        "refreshed expires after max_age.",
    ),
    "MTA_STS_POLICY_CERTIFICATE": (
        "fail",
        "The MTA-STS policy host's certificate is not valid",
        "Serve mta-sts.DOMAIN with a certificate from a public CA, valid for that name: "
        "senders refuse a policy fetched otherwise.",
    ),
    "MTA_STS_POLICY_REDIRECT": (
        "fail",
        "The MTA-STS policy URL redirects",
        f"Serve the policy directly with status 200: senders do not follow redirects ({_STS} 3.3).",
    ),
    "MTA_STS_POLICY_HTTP": (
        "fail",
        "The MTA-STS policy URL does not answer 200",
        "Serve the policy at /.well-known/mta-sts.txt with status 200 and Content-Type text/plain.",
    ),
    "MTA_STS_POLICY_TOO_LARGE": (
        "fail",
        "The MTA-STS policy is too large",
        "A policy is a few lines: keep it under 64 KB.",
    ),
    "MTA_STS_POLICY_INVALID": (
        "fail",
        "The MTA-STS policy is malformed",
        "The policy has `version: STSv1`, `mode: enforce|testing|none`, `max_age: SECONDS` and "
        "one `mx:` line per MX pattern, each `key: value` on its own line.",
    ),
    "MTA_STS_MODE_TESTING": (
        "info",
        "The MTA-STS policy is in testing mode",
        "Once TLS reports show every sender can deliver with TLS, set `mode: enforce` "
        "(and change the id).",
    ),
    "MTA_STS_MODE_NONE": (
        "warn",
        "The MTA-STS policy is switched off (mode none)",
        "Set `mode: testing` or `enforce`, or remove the policy and its record.",
    ),
    "MTA_STS_MAX_AGE_SHORT": (
        "warn",
        "The MTA-STS max_age is short",
        "Use a max_age of at least a day, better weeks (604800-31557600 seconds): a short one "
        "gives little protection against a downgrade.",
    ),
    "MTA_STS_MAX_AGE_TOO_LONG": (
        "fail",
        "The MTA-STS max_age is over a year",
        f"max_age is at most 31557600 seconds ({_STS} 3.2).",
    ),
    "MTA_STS_MX_NOT_COVERED": (
        "fail",
        "An MX host is not covered by the MTA-STS policy",
        "Add an `mx:` line matching the host (or remove the host from the MX set): senders "
        "honouring an enforce policy will not deliver to it.",
    ),
    "MTA_STS_ID_UNCHANGED": (
        "warn",
        "The MTA-STS policy changed but its id did not",
        "Change the id in the _mta-sts record whenever the policy changes: senders only "
        "fetch the policy again when the id changes.",
    ),
    # -- TLS-RPT (RFC 8460) -----------------------------------------------------
    "TLSRPT_MISSING": (
        "info",
        "No TLS-RPT record: nobody reports TLS delivery failures to you",
        _REPORTS,
    ),
    "TLSRPT_MISSING_WITH_POLICY": (
        "warn",
        "MTA-STS or DANE is used without a TLS-RPT record",
        _REPORTS + " Without reports, a broken policy makes mail fail unseen.",
    ),
    "TLSRPT_RECORD_MULTIPLE": (
        "fail",
        "More than one TLS-RPT record",
        "Keep exactly one `v=TLSRPTv1` record at _smtp._tls (RFC 8460 3).",
    ),
    "TLSRPT_RECORD_INVALID": (
        "fail",
        "The TLS-RPT record is malformed",
        "The record is `v=TLSRPTv1; rua=URI[,URI]` with mailto: or https: URIs.",
    ),
    # -- STARTTLS on the MX hosts -----------------------------------------------
    "STARTTLS_NO_MX": (
        "info",
        "No MX host to check for STARTTLS",
        "Nothing to do if the domain receives no mail.",
    ),
    "STARTTLS_CONNECT_FAILED": (
        "error",
        "An MX host could not be reached on the SMTP port",
        "Check that the MX host accepts connections on port 25 from the internet; the check "
        "runs again on the next sweep.",
    ),
    "STARTTLS_NOT_OFFERED": (
        "fail",
        "An MX host does not offer STARTTLS",
        "Enable STARTTLS on the mail server with a certificate for its MX name.",
    ),
    "STARTTLS_HANDSHAKE_FAILED": (
        "fail",
        "The TLS handshake with an MX host failed",
        "Check the server's TLS configuration (protocols, ciphers, certificate files).",
    ),
    "STARTTLS_OLD_TLS": (
        "fail",
        "An MX host negotiates a TLS version before 1.2",
        "Enable TLS 1.2 and 1.3 on the mail server; TLS 1.0 and 1.1 are deprecated (RFC 8996).",
    ),
    "STARTTLS_CERT_NAME_MISMATCH": (
        "fail",
        "An MX host's certificate is not valid for its name",
        "Install a certificate whose subjectAltName covers the MX host name (or publish a DANE "
        "TLSA record matching it).",
    ),
    "STARTTLS_CERT_CHAIN_INVALID": (
        "fail",
        "An MX host's certificate chain does not verify",
        "Serve the full chain (certificate plus intermediates) from a public CA.",
    ),
    "STARTTLS_CERT_UNREADABLE": (
        "fail",
        "An MX host presented no certificate that could be read",
        "Install a valid X.509 certificate on the mail server.",
    ),
    "STARTTLS_CERT_EXPIRING": (
        "warn",
        "An MX host's certificate expires soon",
        "Renew the certificate (and check that automatic renewal reaches the mail server).",
    ),
    "STARTTLS_CERT_EXPIRES_SOON": (
        "fail",
        "An MX host's certificate expires within days",
        "Renew the certificate now: senders enforcing MTA-STS or DANE will stop delivering.",
    ),
    "STARTTLS_CERT_EXPIRED": (
        "fail",
        "An MX host's certificate has expired",
        "Renew the certificate now and reload the mail server.",
    ),
    # -- DNSSEC -------------------------------------------------------------
    "DNSSEC_UNSIGNED": (
        "info",
        "The domain is not signed with DNSSEC",
        "Sign the zone at your DNS provider and publish the DS record at the registrar; "
        "DANE needs it.",
    ),
    "DNSSEC_BOGUS": (
        "fail",
        "The domain's DNSSEC signatures do not validate",
        "Re-sign the zone and check that the DS record at the parent matches a current "
        "DNSKEY: validating resolvers answer SERVFAIL for a bogus zone.",
    ),
    "DNSSEC_NO_TRUST_ANCHOR": (
        "error",
        "No usable DNSSEC trust anchor",
        "Check [dnssec] trust_anchors: a file of DS or DNSKEY records in zone-file syntax.",
    ),
    # -- DANE (RFC 7672) --------------------------------------------------------
    "DANE_NONE": (
        "info",
        "No DANE TLSA records for the MX hosts",
        "With DNSSEC, publish `_25._tcp.MX TLSA 3 1 1 <sha256 of the key>` for each MX host.",
    ),
    "DANE_WITHOUT_DNSSEC": (
        "warn",
        "TLSA records are published but do not validate with DNSSEC",
        "Sign the zone: senders ignore TLSA records that DNSSEC does not secure.",
    ),
    "DANE_MISMATCH": (
        "fail",
        "An MX host's certificate matches none of its TLSA records",
        "Publish TLSA records for the certificate the server presents (roll keys by adding "
        "the new record first): DANE senders will not deliver while none matches.",
    ),
    "DANE_USAGE_PKIX": (
        "warn",
        "TLSA records with PKIX usages (0 or 1)",
        "SMTP uses DANE-TA (2) and DANE-EE (3) only (RFC 7672 3.1.3); use `3 1 1`.",
    ),
    "DANE_RECORD_INVALID": (
        "fail",
        "A TLSA record has unknown parameters",
        "Use usage 2 or 3, selector 0 or 1, matching type 0, 1 or 2.",
    ),
    "DANE_HOST_UNCHECKED": (
        "error",
        "An MX host's certificate could not be read to compare with its TLSA records",
        "See the starttls check: the host could not be reached.",
    ),
    # -- BIMI -----------------------------------------------------------------
    "BIMI_MISSING": (
        "info",
        "No BIMI record",
        'Publish `default._bimi TXT "v=BIMI1; l=https://DOMAIN/logo.svg; '
        'a=https://DOMAIN/vmc.pem"` once DMARC is at enforcement.',
    ),
    "BIMI_RECORD_MULTIPLE": (
        "fail",
        "More than one BIMI record",
        "Keep exactly one `v=BIMI1` record at default._bimi.",
    ),
    "BIMI_RECORD_INVALID": (
        "fail",
        "The BIMI record is malformed",
        "The record is `v=BIMI1; l=https://…/logo.svg; a=https://…/vmc.pem` (https URLs).",
    ),
    "BIMI_DMARC_NOT_ENFORCED": (
        "fail",
        "BIMI needs DMARC at enforcement",
        "Set DMARC to p=quarantine or p=reject without pct below 100: mailbox providers show "
        "no logo otherwise.",
    ),
    "BIMI_LOGO_UNREACHABLE": (
        "error",
        "The BIMI logo could not be fetched",
        "Check that the l= URL answers over HTTPS; the check runs again on the next sweep.",
    ),
    "BIMI_LOGO_FETCH_REFUSED": (
        "fail",
        "The BIMI logo URL does not serve the logo",
        "Serve the SVG at the l= URL with status 200, without redirects, over HTTPS with a "
        "valid certificate.",
    ),
    "BIMI_LOGO_INVALID": (
        "fail",
        "The BIMI logo is not SVG Tiny Portable/Secure",
        'Export the logo as SVG Tiny PS: baseProfile="tiny-ps", a <title>, a square viewBox, '
        "no scripts, no external references, under 32 KB.",
    ),
    "BIMI_NO_VMC": (
        "info",
        "No mark certificate (VMC or CMC)",
        "Gmail and Apple show the logo only with a Verified or Common Mark Certificate: "
        "publish it at a= .",
    ),
    "BIMI_VMC_UNREACHABLE": (
        "error",
        "The mark certificate could not be fetched",
        "Check that the a= URL answers over HTTPS; the check runs again on the next sweep.",
    ),
    "BIMI_VMC_INVALID": (
        "fail",
        "The mark certificate is not valid",
        "Publish the PEM chain (mark certificate first) exactly as the issuer delivered it.",
    ),
    "BIMI_VMC_EXPIRED": (
        "fail",
        "The mark certificate has expired",
        "Renew the VMC/CMC with the issuer and publish the new chain.",
    ),
    "BIMI_VMC_EXPIRING": (
        "warn",
        "The mark certificate expires soon",
        "Renew the VMC/CMC with the issuer before it expires.",
    ),
    "BIMI_VMC_LOGO_MISMATCH": (
        "fail",
        "The logo in the mark certificate is not the one at l=",
        "Publish at l= the very SVG embedded in the certificate (or have the certificate "
        "reissued for the new logo).",
    ),
}
