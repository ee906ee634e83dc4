"""DMARC aggregate reports (RFC 7489 appendix C, RFC 9990), parsed as a stream.

Hostile XML: a document whose prolog declares a DTD is refused before the
parser sees it (:func:`check_prolog`). A report has no use for one, and
without a DTD no entity can be declared, so nothing expands (billion laughs)
and no external entity is fetched: the guarantee defusedxml gives, kept here
without its pure-Python parser, which is three times slower. The C parser of
``xml.etree`` then streams the document: each finished ``<record>`` is read
and cleared, so a 100,000-record report needs the memory of a read buffer,
not of the tree.

RFC 9990 reports carry the ``urn:ietf:params:xml:ns:dmarc-2.0`` namespace
and the new fields ``np``, ``testing``, ``discovery_method`` and
``generator``; RFC 7489 ones carry no namespace (or a vendor's). Tags are
matched by local name, values lower-cased where receivers disagree on case
(``Pass``, ``FAIL``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from compliance.dmarc_reports import ReportError

NAMESPACE_9990 = "urn:ietf:params:xml:ns:dmarc-2.0"
# RFC 9990 added "pass" (no policy applied because DMARC passed); for counting
# what receivers did to the mail it is "none".
DISPOSITIONS = {"none": "none", "pass": "none", "quarantine": "quarantine", "reject": "reject"}


@dataclass(frozen=True)
class AggregateReport:
    """The metadata and published policy of one aggregate report."""

    org_name: str
    email: str | None
    report_id: str
    begin: datetime
    end: datetime
    domain: str
    policy: str
    subdomain_policy: str | None
    nonexistent_policy: str | None
    percent: int | None
    adkim: str | None
    aspf: str | None
    testing: str | None
    discovery_method: str | None
    generator: str | None
    namespace: str | None


@dataclass(frozen=True)
class DkimResult:
    """One DKIM signature's result as the receiver saw it."""

    domain: str
    selector: str | None
    result: str


@dataclass(frozen=True)
class AggregateRecord:
    """One row of an aggregate report: a source IP, a count and what happened to that mail."""

    source_ip: str
    count: int
    disposition: str
    dkim: str
    spf: str
    reasons: tuple[str, ...]
    header_from: str | None
    envelope_from: str | None
    envelope_to: str | None
    dkim_results: tuple[DkimResult, ...]
    spf_domain: str | None
    spf_result: str | None

    @property
    def dmarc_pass(self) -> bool:
        """DMARC passes when either aligned identifier passes (policy_evaluated)."""
        return self.dkim == "pass" or self.spf == "pass"


READ_SIZE = 1 << 16
UTF8_BOM = b"\xef\xbb\xbf"
# Where a value sits (parent element, element) -> the key it is stored under.
_METADATA_FIELDS = {
    ("report_metadata", "org_name"): "org_name",
    ("report_metadata", "email"): "email",
    ("report_metadata", "report_id"): "report_id",
    ("report_metadata", "generator"): "generator",
    ("date_range", "begin"): "begin",
    ("date_range", "end"): "end",
    ("policy_published", "domain"): "domain",
    ("policy_published", "p"): "p",
    ("policy_published", "sp"): "sp",
    ("policy_published", "np"): "np",
    ("policy_published", "pct"): "pct",
    ("policy_published", "adkim"): "adkim",
    ("policy_published", "aspf"): "aspf",
    ("policy_published", "testing"): "testing",
    ("policy_published", "discovery_method"): "discovery_method",
}
_RECORD_FIELDS = {
    ("row", "source_ip"): "source_ip",
    ("row", "count"): "count",
    ("policy_evaluated", "disposition"): "disposition",
    ("policy_evaluated", "dkim"): "dkim",
    ("policy_evaluated", "spf"): "spf",
    ("identifiers", "header_from"): "header_from",
    ("identifiers", "envelope_from"): "envelope_from",
    ("identifiers", "envelope_to"): "envelope_to",
}


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _required(fields: dict[str, str], name: str, where: str) -> str:
    value = fields.get(name)
    if not value:
        raise ReportError(f"{where}: <{name}> is missing or empty")
    return value


def _timestamp(fields: dict[str, str], name: str) -> datetime:
    text = _required(fields, name, "report_metadata date_range")
    try:
        return datetime.fromtimestamp(int(float(text)), UTC)
    except (ValueError, OverflowError, OSError):
        raise ReportError(f"report_metadata: {name} {text[:40]!r} is not a Unix time") from None


def _ip(text: str, where: str) -> str:
    """The address in its canonical form (IPv6 compressed): the C socket functions, not
    ``ipaddress``, which would take a third of the parse."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, text.strip()))
    except (OSError, ValueError):
        raise ReportError(f"{where}: source_ip {text[:60]!r} is not an IP address") from None


def _domain(text: str) -> str:
    return text.strip().lower().rstrip(".")


def report_from_fields(fields: dict[str, str], namespace: str | None) -> AggregateReport:
    """The report's metadata from its (element -> text) fields; :class:`ReportError` if invalid."""
    percent = fields.get("pct")
    try:
        pct = int(percent) if percent else None
    except ValueError:
        raise ReportError(f"policy_published: pct {percent!r:.20} is not a number") from None
    return AggregateReport(
        org_name=_required(fields, "org_name", "report_metadata"),
        email=fields.get("email") or None,
        report_id=_required(fields, "report_id", "report_metadata").strip("<>"),
        begin=_timestamp(fields, "begin"),
        end=_timestamp(fields, "end"),
        domain=_domain(_required(fields, "domain", "policy_published")),
        policy=_required(fields, "p", "policy_published").lower(),
        subdomain_policy=_lower(fields.get("sp")),
        nonexistent_policy=_lower(fields.get("np")),
        percent=pct,
        adkim=_lower(fields.get("adkim")),
        aspf=_lower(fields.get("aspf")),
        testing=_lower(fields.get("testing")),
        discovery_method=_lower(fields.get("discovery_method")),
        generator=fields.get("generator") or None,
        namespace=namespace,
    )


def record_from_fields(
    fields: dict[str, str],
    reasons: list[str],
    dkim: list[dict[str, str]],
    spf: list[dict[str, str]],
    number: int,
) -> AggregateRecord:
    """One record from its fields; :class:`ReportError` naming the record when it is invalid."""
    where = f"record {number}"
    source_ip = _ip(_required(fields, "source_ip", where), where)
    count_text = _required(fields, "count", where)
    try:
        count = int(count_text)
    except ValueError:
        raise ReportError(f"{where}: count {count_text[:20]!r} is not a number") from None
    if count < 0:
        raise ReportError(f"{where}: count {count} is negative")
    disposition_text = _required(fields, "disposition", where).lower()
    disposition = DISPOSITIONS.get(disposition_text)
    if disposition is None:
        raise ReportError(
            f"{where}: disposition {disposition_text[:20]!r} is not none, quarantine or reject"
        )
    first_spf = spf[0] if spf else {}
    return AggregateRecord(
        source_ip=source_ip,
        count=count,
        disposition=disposition,
        dkim=(fields.get("dkim") or "none").lower(),
        spf=(fields.get("spf") or "none").lower(),
        reasons=tuple(reasons),
        header_from=_lower(fields.get("header_from")),
        envelope_from=_lower(fields.get("envelope_from")),
        envelope_to=_lower(fields.get("envelope_to")),
        dkim_results=tuple(
            DkimResult(
                _domain(item["domain"]),
                _lower(item.get("selector")),
                (item.get("result") or "none").lower(),
            )
            for item in dkim
            if item.get("domain")
        ),
        spf_domain=_lower(first_spf.get("domain")),
        spf_result=_lower(first_spf.get("result")),
    )


# The prolog (XML declaration, comments, processing instructions) may be this long at most.
MAX_PROLOG = 64 * 1024


def check_prolog(head: bytes) -> int | None:
    """Where the root element starts in ``head``, or None if more bytes are needed.

    :class:`ReportError` for a DTD (``<!DOCTYPE``), a document in UTF-16 or
    a prolog longer than :data:`MAX_PROLOG`. The prolog's grammar is small:
    an XML declaration and processing instructions end at the first ``?>``,
    comments at the first ``-->``; anything else starting ``<!`` is a DTD.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReportError("the XML is UTF-16; reports are UTF-8")
    position = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    while True:
        while position < len(head) and head[position] in b" \t\r\n":
            position += 1
        if position >= MAX_PROLOG:
            raise ReportError(f"the XML prolog is longer than {MAX_PROLOG:,} bytes")
        if len(head) - position < 4:
            return None
        if head.startswith(b"<?", position):
            end = head.find(b"?>", position + 2)
            if end < 0:
                return None
            position = end + 2
        elif head.startswith(b"<!--", position):
            end = head.find(b"-->", position + 4)
            if end < 0:
                return None
            position = end + 3
        elif head.startswith(b"<!", position):
            raise ReportError(
                "refused: the XML declares a DTD (its entities could expand without bound)"
            )
        elif head.startswith(b"<", position):
            name_end = position + 1
            while name_end < len(head) and head[name_end] not in b" \t\r\n/>":
                name_end += 1
            if name_end == len(head):
                return None
            name = head[position + 1 : name_end].decode("utf-8", "replace")
            if name.rpartition(":")[2] != "feedback":
                raise ReportError(f"the root element is <{name[:40]}>, not <feedback>")
            return position
        else:
            raise ReportError("not well-formed XML (text before the root element)")


class _Paths:
    """ElementTree paths of the fields, in the document's namespace."""

    def __init__(self, namespace: str | None) -> None:
        prefix = f"{{{namespace}}}" if namespace else ""

        def path(*names: str) -> str:
            return "/".join(prefix + name for name in names)

        self.tag = prefix
        self.record = prefix + "record"
        self.metadata = prefix + "report_metadata"
        self.policy = prefix + "policy_published"
        self.leaves = {prefix + name: key for (_, name), key in _RECORD_FIELDS.items()}
        self.policy_evaluated = prefix + "policy_evaluated"
        self.reason = prefix + "reason"
        self.type = prefix + "type"
        self.dkim = prefix + "dkim"
        self.spf = prefix + "spf"
        self.section_fields = {
            section: {
                key: (path("date_range", name) if parent == "date_range" else path(name))
                for (parent, name), key in _METADATA_FIELDS.items()
                if (parent == section or (parent == "date_range" and section == "report_metadata"))
            }
            for section in ("report_metadata", "policy_published")
        }


def _fields_of(element: Element, paths: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, path in paths.items():
        text = element.findtext(path)
        if text is not None and (text := text.strip()):
            found[key] = text
    return found


def _record(element: Element, paths: _Paths, number: int) -> AggregateRecord:
    # Walked by hand: ElementTree's multi-step paths run in Python and cost
    # three times the whole parse; a child's tag is a dictionary lookup.
    fields: dict[str, str] = {}
    reasons: list[str] = []
    dkim: list[dict[str, str]] = []
    spf: list[dict[str, str]] = []
    leaves = paths.leaves
    for part in element:
        for child in part:
            tag = child.tag
            if tag == paths.policy_evaluated:
                for item in child:
                    if item.tag == paths.reason:
                        reason = (item.findtext(paths.type) or "").strip().lower()
                        if reason:
                            reasons.append(reason)
                    elif (key := leaves.get(item.tag)) and item.text:
                        fields[key] = item.text.strip()
            elif tag in (paths.dkim, paths.spf):
                values = {_local(leaf.tag): (leaf.text or "").strip() for leaf in child}
                (dkim if tag == paths.dkim else spf).append(values)
            elif (key := leaves.get(tag)) and child.text:
                fields[key] = child.text.strip()
    return record_from_fields(fields, reasons, dkim, spf, number)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class _Reader:
    """Feeds the parser from the stream and turns its end events into metadata and records."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        # End events only: the root was checked in the prolog, and a record is
        # read when it ends (half the events of asking for starts too).
        self.parser: XMLPullParser[Any] = XMLPullParser(events=("end",))
        self.paths: _Paths | None = None
        self.sections: dict[str, Element] = {}
        self.records: list[AggregateRecord] = []
        self.number = 0
        self.finished = False

    def feed(self, chunk: bytes) -> None:
        try:
            if chunk:
                self.parser.feed(chunk)
            else:
                self.parser.close()
                self.finished = True
            self._events()
        except ParseError as error:
            raise ReportError(f"not well-formed XML ({error})") from None

    def _events(self) -> None:
        paths = self.paths
        for event in self.parser.read_events():
            element: Element = event[1]  # type: ignore[assignment,misc]  # end events carry elements
            if paths is None:
                # The first element to end is the first leaf: its namespace is the document's.
                tag = element.tag
                namespace = tag[1:].partition("}")[0] if tag[:1] == "{" else None
                paths = self.paths = _Paths(namespace)
            tag = element.tag
            if tag == paths.record:
                if not self.sections:
                    raise ReportError("<report_metadata> is missing or comes after the records")
                self.number += 1
                self.records.append(_record(element, paths, self.number))
                # Freed as soon as read: what stays of it is an empty element.
                element.clear()
            elif tag in (paths.metadata, paths.policy):
                if self.number:
                    raise ReportError(f"<{_local(tag)}> comes after the records")
                self.sections[_local(tag)] = element

    def report(self) -> AggregateReport:
        fields: dict[str, str] = {}
        if self.paths is None:
            raise ReportError("<report_metadata> is missing")
        for section in ("report_metadata", "policy_published"):
            element = self.sections.get(section)
            if element is None:
                raise ReportError(f"<{section}> is missing or comes after the records")
            fields.update(_fields_of(element, self.paths.section_fields[section]))
        namespace = self.paths.tag[1:-1] or None
        return report_from_fields(fields, namespace)


def read_aggregate(stream: IO[bytes]) -> tuple[AggregateReport, Iterator[list[AggregateRecord]]]:
    """The report's metadata, then an iterator over its records in batches (read it to the end).

    Raises :class:`ReportError` for anything that is not a valid report,
    possibly only while the records are iterated.
    """
    head = b""
    while check_prolog(head) is None:
        chunk = stream.read(READ_SIZE)
        if not chunk:
            raise ReportError(
                "the XML has no root element" if head.strip() else "the file is empty"
            )
        head += chunk
    reader = _Reader(stream)
    reader.feed(head)
    while len(reader.sections) < 2 and not reader.records and not reader.finished:
        reader.feed(stream.read(READ_SIZE))
    return reader.report(), _batches(reader)


def _batches(reader: _Reader) -> Iterator[list[AggregateRecord]]:
    while True:
        if reader.records:
            batch, reader.records = reader.records, []
            yield batch
        if reader.finished:
            return
        reader.feed(reader.stream.read(READ_SIZE))
