"""The audit of one sent message: List-Unsubscribe, one-click, DKIM, a visible unsubscribe link.

``audit_message`` takes the raw bytes and a way to fetch DKIM keys (TXT
lookups through Postwarden's resolver) and returns a
:class:`MessageAuditResult`, whose ``to_json`` is the contract's shape:
``{"status", "checks": {"list_unsubscribe", "one_click", "dkim",
"body_unsubscribe"}, "findings", …}``. Each check's status is derived from
its findings by :func:`checks.findings.status_of`, as a probe's is. Probing
the one-click URI is a separate step (:mod:`compliance.messages.one_click_probe`),
off by default.

Whatever the bytes, the audit returns a result and raises nothing: a
message it cannot read, or one past :data:`MAX_HEADER_BYTES` of header
or :data:`MAX_PARTS` MIME parts, is an ``error`` with a finding saying
why, decided before the costly parsing starts.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import dkim
from publicsuffixlist import PublicSuffixList

from checks.errors import Unavailable
from checks.findings import Finding, finding
from compliance.messages.body import (
    has_postal_address,
    html_links,
    says_why_received,
    text_unsubscribe_links,
)
from compliance.messages.results import (
    BodyUnsubscribeCheck,
    DkimCheck,
    DkimSignature,
    ListUnsubscribeCheck,
    MessageAuditResult,
    MessageCheck,
    OneClickCheck,
)

# TXT lookup for DKIM keys: name -> the record's text, "" if none; raises
# KeyUnavailable when DNS could not answer.
KeyLookup = Callable[[str], str]

# Exchange Online refuses a message whose header passes 256 KB; Python's
# header parsers slow down with the square of a folded field's length
# (a 5 MB header took 25 s). The headers of the parts count too.
MAX_HEADER_BYTES = 256 * 1024
# A newsletter has a handful of parts; parsing takes about 0.15 ms a part,
# and 100,000 of them (4 MB) took 14 s.
MAX_PARTS = 1000
# Postfix's mime_nesting_limit; deeper, Python's parser runs out of stack.
MAX_NESTING = 100


class KeyUnavailable(Unavailable):
    """The DKIM key's DNS lookup failed (timeout, SERVFAIL): could not determine."""


_URI_LIST = re.compile(r"\s*<([^<>\s]+)>\s*(?:,\s*<([^<>\s]+)>\s*)*")
_URI = re.compile(r"<([^<>]*)>")
_NOREPLY = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)", re.IGNORECASE)
_SUFFIXES = PublicSuffixList()
_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")
_BOUNDARY = re.compile(rb'boundary(\*?)\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]*))', re.IGNORECASE)
_DELIMITER_LINE = re.compile(rb"(?:\A|[\r\n])--([^\r\n]*)")
_SIGNATURE_FIELD = re.compile(rb"(?:\A|\n)dkim-signature\s*:", re.IGNORECASE)


class _TolerantPolicy(email.policy.EmailPolicy):
    """``email.policy.default``, but a header field its parser chokes on reads as raw text.

    CPython's structured header parser raises IndexError or AttributeError
    on some malformed addresses (``From: a@``), which would end the audit.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        try:
            return super().header_fetch_parse(name, value)
        except Exception:  # any parser failure: the raw text is still the field's value
            return " ".join(value.split())


_POLICY = _TolerantPolicy()


def unsubscribe_uris(value: str | None) -> tuple[list[str], bool]:
    """The URIs of a List-Unsubscribe value, and whether it is well formed (RFC 2369)."""
    if value is None:
        return [], False
    text = " ".join(str(value).split())
    uris = [uri.strip() for uri in _URI.findall(text)]
    return uris, bool(_URI_LIST.fullmatch(text)) and all(uris)


def check_list_unsubscribe(message: Message) -> ListUnsubscribeCheck:
    """RFC 2369 List-Unsubscribe with at least one https or mailto URI, well formed."""
    value = message.get("List-Unsubscribe")
    if value is None:
        return ListUnsubscribeCheck((finding("LIST_UNSUBSCRIBE_MISSING", "No List-Unsubscribe."),))
    uris, well_formed = unsubscribe_uris(value)
    findings = []
    if not well_formed:
        findings.append(
            finding("LIST_UNSUBSCRIBE_MALFORMED", f"List-Unsubscribe is {str(value)!r}.")
        )
    usable = [u for u in uris if u.lower().startswith(("https://", "mailto:"))]
    if not usable:
        findings.append(
            finding(
                "LIST_UNSUBSCRIBE_NO_HTTPS_OR_MAILTO",
                f"List-Unsubscribe offers {', '.join(uris) or 'no URI'}: no https or mailto.",
            )
        )
    return ListUnsubscribeCheck(tuple(findings), uris=tuple(uris))


def verify_signatures(raw: bytes, lookup: KeyLookup) -> list[DkimSignature]:
    """Each DKIM signature: domain, selector, signed headers, and whether it verifies.

    ``verified`` is None when the key could not be fetched (not determined).
    """
    try:
        message = dkim.DKIM(raw)
    except (dkim.DKIMException, IndexError) as error:
        # dkimpy's header reader refuses what email's tolerates (a field
        # name with spaces, a continuation line first): no signature verifies.
        if not _SIGNATURE_FIELD.search(raw[: _header_length(raw)]):
            return []
        reason = f"the header does not parse: {error or type(error).__name__}"
        return [DkimSignature("", "", (), False, reason)]
    count = sum(1 for name, _ in message.headers if name.lower() == b"dkim-signature")
    results: list[DkimSignature] = []
    for index in range(count):
        unavailable: list[str] = []

        def dnsfunc(name: bytes, timeout: int = 5, unavailable: list[str] = unavailable) -> bytes:
            try:
                return lookup(name.decode("ascii", "replace").rstrip(".")).encode()
            except KeyUnavailable as error:
                unavailable.append(str(error))
                return b""

        checker = dkim.DKIM(raw)
        try:
            verified: bool | None = checker.verify(idx=index, dnsfunc=dnsfunc)
            reason = "" if verified else "signature does not verify"
        except (dkim.DKIMException, ValueError, IndexError) as error:
            # dkimpy lets binascii.Error (a ValueError) out of bad base64 in b= or
            # bh=, and IndexError out of an i= that is its d= without '@'.
            verified, reason = False, str(error) or type(error).__name__
        fields = getattr(checker, "signature_fields", None) or _fields_of(message, index)
        if unavailable:
            verified, reason = None, unavailable[0]
        results.append(
            DkimSignature(
                domain=_text(fields.get(b"d")).lower(),
                selector=_text(fields.get(b"s")),
                headers=tuple(h.strip().lower() for h in _text(fields.get(b"h")).split(":") if h),
                verified=verified,
                reason=reason,
            )
        )
    return results


def _fields_of(message: dkim.DKIM, index: int) -> dict[bytes, bytes]:
    """The tags of the ``index``-th signature, read without verifying."""
    values = [v for n, v in message.headers if n.lower() == b"dkim-signature"]
    try:
        return dict(dkim.util.parse_tag_value(values[index]))
    except (dkim.util.InvalidTagValueList, IndexError):
        return {}


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("ascii", "replace").replace(" ", "").strip()


def organisational(domain: str) -> str:
    """The organisational domain (public suffix + one label) of ``domain``."""
    return _SUFFIXES.privatesuffix(domain.lower().rstrip(".")) or domain.lower()


def check_dkim(from_domain: str | None, signatures: list[DkimSignature]) -> DkimCheck:
    """Every signature verified; alignment of the verified ones with the From domain."""
    signatures = [
        replace(
            signature,
            aligned_strict=bool(from_domain) and signature.domain == from_domain,
            aligned_relaxed=bool(from_domain)
            and organisational(signature.domain) == organisational(from_domain or ""),
        )
        for signature in signatures
    ]
    findings: list[Finding] = []
    if not signatures:
        findings.append(finding("DKIM_UNSIGNED", "The message carries no DKIM-Signature."))
    for signature in signatures:
        where = f"d={signature.domain} s={signature.selector}"
        if signature.verified is None:
            findings.append(finding("DKIM_KEY_UNAVAILABLE", f"{where}: {signature.reason}."))
        elif not signature.verified:
            findings.append(finding("DKIM_SIGNATURE_INVALID", f"{where}: {signature.reason}."))
    verified = [s for s in signatures if s.verified]
    if verified and not any(s.aligned_relaxed for s in verified):
        findings.append(
            finding(
                "DKIM_NOT_ALIGNED",
                f"Verified signatures are by {', '.join(s.domain for s in verified)}, "
                f"not aligned with the From domain {from_domain}.",
            )
        )
    if verified and any(s.verified is False for s in signatures):
        # One good signature is enough for receivers: a broken extra one is a warning.
        findings = [
            f if f.code != "DKIM_SIGNATURE_INVALID" else Finding(f.code, "warn", f.message, f.fix)
            for f in findings
        ]
    return DkimCheck(
        tuple(findings),
        signatures=tuple(signatures),
        aligned_strict=any(s.aligned_strict for s in verified),
        aligned_relaxed=any(s.aligned_relaxed for s in verified),
    )


def check_one_click(message: Message, signatures: list[DkimSignature]) -> OneClickCheck:
    """RFC 8058: the Post header, an https URI, both headers under a verifying signature."""
    uris, _ = unsubscribe_uris(message.get("List-Unsubscribe"))
    https = [u for u in uris if u.lower().startswith("https://")]
    post = " ".join(str(message.get("List-Unsubscribe-Post", "")).split())
    findings = []
    if post != "List-Unsubscribe=One-Click":
        findings.append(
            finding(
                "ONE_CLICK_POST_MISSING",
                "List-Unsubscribe-Post is "
                + (f"{post!r}" if post else "missing")
                + "; it must be 'List-Unsubscribe=One-Click'.",
            )
        )
    if not https:
        offered = ", ".join(uris) or "no URI"
        findings.append(finding("ONE_CLICK_NO_HTTPS", f"List-Unsubscribe offers {offered}."))
    covering = [
        s for s in signatures if {"list-unsubscribe", "list-unsubscribe-post"} <= set(s.headers)
    ]
    if not any(s.verified for s in covering):
        if any(s.verified is None for s in covering):
            findings.append(
                finding(
                    "DKIM_KEY_UNAVAILABLE",
                    "The key of the covering signature could not "
                    "be fetched, so one-click could not be judged.",
                )
            )
        else:
            why = (
                "no signature lists both headers in h="
                if not covering
                else "the signature covering them does not verify"
            )
            findings.append(finding("ONE_CLICK_NOT_SIGNED", f"List-Unsubscribe: {why}."))
    return OneClickCheck(tuple(findings), uri=https[0] if https else None)


def _parts(message: Message) -> tuple[list[str], list[str], list[Finding]]:
    """Decoded HTML and text bodies (not attachments), and findings on decoding trouble."""
    html: list[str] = []
    text: list[str] = []
    findings: list[Finding] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/html", "text/plain"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            body = payload.decode(charset)
        except (LookupError, ValueError):  # ValueError: a charset name with a NUL in it
            body = payload.decode("utf-8", "replace")
            findings.append(
                finding("MESSAGE_DEFECTS", f"A {kind} part is not valid {charset}; read as UTF-8.")
            )
        (html if kind == "text/html" else text).append(body)
    return html, text, findings


def check_body(message: Message) -> tuple[BodyUnsubscribeCheck, str, list[Finding]]:
    """A visible unsubscribe link in the HTML or text part; the visible text; decode findings."""
    htmls, texts, decoding = _parts(message)
    visible, hidden, visible_text = [], [], []
    for html in htmls:
        links, shown = html_links(html)
        visible_text.append(shown)
        visible += [link.href for link in links if link.unsubscribes and not link.hidden]
        hidden += [link.href for link in links if link.unsubscribes and link.hidden]
    for text in texts:
        visible_text.append(text)
        visible += text_unsubscribe_links(text)
    findings = []
    if not visible:
        findings.append(
            finding("BODY_UNSUBSCRIBE_HIDDEN", f"Only hidden unsubscribe links: {hidden[0]}.")
            if hidden
            else finding(
                "BODY_UNSUBSCRIBE_MISSING",
                "Neither the HTML nor the text part has an unsubscribe link.",
            )
        )
    check = BodyUnsubscribeCheck(tuple(findings), links=tuple(dict.fromkeys(visible)))
    return check, "\n".join(visible_text), decoding


def _address_domain(value: str | None) -> tuple[str | None, str | None]:
    addresses = [address for _, address in getaddresses([str(value)]) if "@" in address]
    if not addresses:
        return None, None
    address = addresses[0].lower()
    return address, address.rpartition("@")[2]


def _header_length(raw: bytes) -> int:
    """Where the header section of ``raw`` ends (all of it when there is no body)."""
    end = _HEADER_END.search(raw)
    return end.start() if end else len(raw)


def _too_many_parts(raw: bytes, max_parts: int) -> bool:
    """Whether ``raw`` opens more than ``max_parts`` parts, judged without parsing it.

    Every part opens with a ``--boundary`` line; when there are few lines
    that start with ``--`` at all, that is the answer.
    """
    if raw.count(b"\n--") + raw.count(b"\r--") + 1 <= max_parts:
        return False
    declared = set()
    for match in _BOUNDARY.finditer(raw):
        if match.group(1):  # RFC 2231 boundary*=: not decoded here, so count every '--' line
            return True
        declared.add(match.group(2) if match.group(2) is not None else match.group(3))
    opened = 0
    for match in _DELIMITER_LINE.finditer(raw):
        if match.group(1).rstrip(b" \t") in declared:
            opened += 1
            if opened > max_parts:
                return True
    return False


def _measure(message: Message) -> tuple[int, int, int]:
    """Parts, nesting depth and header bytes (of all parts) of a parsed message."""
    parts = depth = header = 0
    stack = [(message, 1)]
    while stack:  # not Message.walk(): it recurses
        part, level = stack.pop()
        parts, depth = parts + 1, max(depth, level)
        header += sum(len(name) + len(value) + 2 for name, value in part.raw_items())
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((inner, level + 1) for inner in payload if isinstance(inner, Message))
    return parts, depth, header


def _refused(code: str, message: str) -> MessageAuditResult:
    return MessageAuditResult.unread(finding(code, message))


def _structure_problem(
    raw: bytes, message: Message | None, max_parts: int, max_header_bytes: int
) -> MessageAuditResult | None:
    """The refusal of a message past the limits (before parsing when ``message`` is None)."""
    if message is None:
        # Only as far as the limit: a 100 MB header is not read to its end.
        header = _header_length(raw[: max_header_bytes + 4])
        parts, depth = (max_parts + 1, 0) if _too_many_parts(raw, max_parts) else (0, 0)
    else:
        parts, depth, header = _measure(message)
    if header > max_header_bytes:
        return _refused(
            "MESSAGE_HEADER_TOO_LARGE",
            f"The header fields take more than {max_header_bytes:,} bytes; not read.",
        )
    if parts > max_parts:
        return _refused("MESSAGE_TOO_MANY_PARTS", f"More than {max_parts:,} MIME parts; not read.")
    if depth > MAX_NESTING:
        return _refused(
            "MESSAGE_TOO_MANY_PARTS", f"MIME parts nested deeper than {MAX_NESTING}; not read."
        )
    return None


def audit_message(
    raw: bytes,
    lookup: KeyLookup,
    *,
    max_parts: int = MAX_PARTS,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> MessageAuditResult:
    """The audit of one message (see the module's docstring for the shape)."""
    refused = _structure_problem(raw, None, max_parts, max_header_bytes)
    if refused is not None:
        return refused
    try:
        message = email.message_from_bytes(raw, policy=_POLICY)
    except RecursionError:
        return _refused(
            "MESSAGE_TOO_MANY_PARTS", f"MIME parts nested deeper than {MAX_NESTING}; not read."
        )
    except Exception as error:  # the parser raises many kinds on broken input
        return _refused("MESSAGE_UNREADABLE", f"Not a readable message: {error}.")
    if not isinstance(message, EmailMessage) or not message.keys():
        return _refused("MESSAGE_UNREADABLE", "No header fields: not an RFC 5322 message.")
    refused = _structure_problem(raw, message, max_parts, max_header_bytes)
    if refused is not None:
        return refused
    sender, from_domain = _address_domain(message.get("From"))
    reply_to, _ = _address_domain(message.get("Reply-To"))
    signatures = verify_signatures(raw, lookup)
    body, visible_text, notes = check_body(message)
    checks: dict[str, MessageCheck] = {
        "list_unsubscribe": check_list_unsubscribe(message),
        "one_click": check_one_click(message, signatures),
        "dkim": check_dkim(from_domain, signatures),
        "body_unsubscribe": body,
    }
    if message.defects:
        names = ", ".join(sorted({type(d).__name__ for d in message.defects}))
        notes.append(finding("MESSAGE_DEFECTS", f"MIME defects: {names}."))
    if not has_postal_address(visible_text):
        notes.append(finding("POSTAL_ADDRESS_MISSING", "No postal address in the body."))
    if not says_why_received(visible_text):
        notes.append(finding("WHY_RECEIVED_MISSING", "No 'why you receive this' line."))
    if message.get("Feedback-ID") is None:
        notes.append(finding("FEEDBACK_ID_MISSING", "No Feedback-ID header."))
    for role, address in (("From", sender), ("Reply-To", reply_to)):
        if address and _NOREPLY.match(address):
            notes.append(finding("NOREPLY_SENDER", f"{role} is {address}."))
    return MessageAuditResult(
        checks,
        tuple(notes),
        message_id=str(message.get("Message-ID", "")).strip() or None,
        subject=str(message.get("Subject", "")) or None,
        sender=sender,
        date=_date(message.get("Date")),
        campaign=_campaign(message),
    )


def _date(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return parsedate_to_datetime(str(value)).isoformat()
    except (TypeError, ValueError):
        return None


def _campaign(message: Message) -> str | None:
    """The campaign the message belongs to: Feedback-ID's first field, else X-Campaign."""
    feedback = str(message.get("Feedback-ID", "")).strip()
    if feedback:
        return feedback.split(":")[0] or None
    for name in ("X-Campaign", "X-Campaign-ID", "X-Mailgun-Tag"):
        if message.get(name):
            return str(message.get(name)).strip()
    return None
