"""DMARC aggregate reports (RFC 7489 appendix C, RFC 9990), parsed as a stream.

Hostile XML: a document whose prolog declares a DTD is refused before the
parser sees it (:func:`check_prolog`). A report has no use for one, and
without a DTD no entity can be declared, so nothing expands (billion laughs)
and no external entity is fetched: the guarantee defusedxml gives, kept here
without its pure-Python parser, which is three times slower. libxml2 (lxml),
told besides to resolve no entity, load no DTD and use no network, then
streams the document and reports the end of each ``<record>`` only: it is
read and freed with everything before it, so a 100,000-record report needs
the memory of a read buffer, not of the tree.

RFC 9990 reports carry the ``urn:ietf:params:xml:ns:dmarc-2.0`` namespace
and the new fields ``np``, ``testing``, ``discovery_method`` and
``generator``; RFC 7489 ones carry no namespace (or a vendor's). Tags are
matched by local name, values lower-cased where receivers disagree on case
(``Pass``, ``FAIL``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, NamedTuple

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


class DkimResult(NamedTuple):
    """One DKIM signature's result as the receiver saw it."""

    domain: str
    selector: str | None
    result: str


class AggregateRecord(NamedTuple):
    """One row of an aggregate report: a source IP, a count and what happened to that mail.

    Named tuples, not frozen dataclasses: a 100,000-record report makes as many,
    and a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``.
    """

    source_ip: str
    count: int  # type: ignore[assignment]  # shadows tuple.count, which nothing here calls
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


class _Names:
    """Local names of tags (``{namespace}name`` -> ``name``), each split once.

    Shared by every report a process reads (a small report's tags would
    otherwise be split anew for each file); a document of invented tags
    cannot grow it past :data:`MAX_NAMES`.
    """

    MAX_NAMES = 4096

    def __init__(self) -> None:
        self.local: dict[str, str] = {}

    def __call__(self, tag: str) -> str:
        name = self.local.get(tag)
        if name is None:
            if len(self.local) >= self.MAX_NAMES:
                self.local.clear()
            name = self.local[tag] = tag.rpartition("}")[2]
        return name


_NAMES = _Names()


def _section_fields(element: Any, local: _Names) -> dict[str, str]:
    """The metadata fields of ``<report_metadata>`` or ``<policy_published>``: each
    field's first occurrence, kept when it holds text."""
    section = local(element.tag)
    found: dict[str, str] = {}
    seen: set[str] = set()
    for child in element:
        name = local(child.tag)
        leaves = [(name, leaf) for leaf in child] if len(child) else [(section, child)]
        for parent, leaf in leaves:
            key = _METADATA_FIELDS.get((parent, local(leaf.tag)))
            if key is None or key in seen:
                continue
            seen.add(key)
            if leaf.text is not None and (text := leaf.text.strip()):
                found[key] = text
    return found


def _record(element: Any, local: _Names, number: int) -> AggregateRecord:
    # Walked by hand over the children (C iteration), a dictionary lookup per tag:
    # the hottest loop of a large import.
    fields: dict[str, str] = {}
    reasons: list[str] = []
    dkim: list[dict[str, str]] = []
    spf: list[dict[str, str]] = []
    name_of = local.local.get
    for part in element:
        for child in part:
            tag = child.tag
            name = name_of(tag) or local(tag)
            if name == "policy_evaluated":
                for item in child:
                    tag = item.tag
                    item_name = name_of(tag) or local(tag)
                    if item_name == "reason":
                        for leaf in item:
                            if local(leaf.tag) == "type":
                                reason = (leaf.text or "").strip().lower()
                                if reason:
                                    reasons.append(reason)
                                break
                    elif (key := _LEAVES.get(item_name)) and (text := item.text):
                        fields[key] = text.strip()
            elif name == "dkim" or name == "spf":  # noqa: PLR1714 - faster than a tuple's `in`
                values = {}
                for leaf in child:
                    tag = leaf.tag
                    values[name_of(tag) or local(tag)] = (leaf.text or "").strip()
                (dkim if name == "dkim" else spf).append(values)
            elif (key := _LEAVES.get(name)) and (text := child.text):
                fields[key] = text.strip()
    return record_from_fields(fields, reasons, dkim, spf, number)


_LEAVES = {name: key for (_, name), key in _RECORD_FIELDS.items()}
# libxml2 told to resolve no entity, read no DTD and touch no network (the prolog
# was already checked for a DTD), and to drop comments and processing
# instructions so that every node walked is an element.
_SAFE = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
    "remove_comments": True, "remove_pis": True,
}  # fmt: skip
# The parser reports the end of these elements only (matched in any namespace):
# the rest of the document is walked from them in C, not event by event.
_SECTIONS = ("{*}record", "{*}report_metadata", "{*}policy_published")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _syntax_error(error: Any) -> str:
    """libxml2's first fatal error and where it was; on closing a broken document the
    exception's own message is only "no element found", the cause sits in its log
    (the thread's, emptied when the document's parser was made)."""
    fatal = error.error_log.filter_from_fatals()
    if fatal:
        first = fatal[0]
        return f"{first.message.strip()}: line {first.line}, column {first.column}"
    return (str(error) or type(error).__name__).splitlines()[0]


class _Reader:
    """Feeds the parser from the stream and turns its end events into metadata and records."""

    def __init__(self, stream: IO[bytes]) -> None:
        from lxml import etree

        self.stream = stream
        self.syntax_error = etree.XMLSyntaxError
        etree.clear_error_log()
        self.parser = etree.XMLPullParser(events=("end",), tag=_SECTIONS, **_SAFE)
        self.local = _NAMES
        self.namespace: str | None = None
        self.sections: dict[str, dict[str, str]] = {}
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
        except self.syntax_error as error:
            raise ReportError(f"not well-formed XML ({_syntax_error(error)})") from None

    def whole(self, document: bytes) -> None:
        """Read a document that came whole at the first read (most reports are small).

        Parsed as one tree and walked in C (``iterwalk`` gives the end events the
        pull parser would): a quarter less work than feeding it, and nothing to free.
        """
        from lxml import etree

        try:
            root = etree.fromstring(document, etree.XMLParser(**_SAFE))
        except self.syntax_error as error:
            raise ReportError(f"not well-formed XML ({_syntax_error(error)})") from None
        self._take(etree.iterwalk(root, events=("end",), tag=_SECTIONS), free=False)
        self.finished = True

    def _events(self) -> None:
        self._take(self.parser.read_events(), free=True)

    def _take(self, events: Iterable[tuple[str, Any]], *, free: bool) -> None:
        local = self.local
        for _event, element in events:
            tag = element.tag
            if self.namespace is None and not self.sections and not self.number:
                # The document's namespace: that of its first section.
                self.namespace = tag[1:].partition("}")[0] if tag[:1] == "{" else ""
            name = local(tag)
            if name == "record":
                if not self.sections:
                    raise ReportError("<report_metadata> is missing or comes after the records")
                self.number += 1
                self.records.append(_record(element, local, self.number))
            elif self.number:
                raise ReportError(f"<{name}> comes after the records")
            else:
                self.sections[name] = _section_fields(element, local)
            if free:
                # Freed as soon as read, with whatever came before it in the document:
                # a 100,000-record report holds one record at a time.
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]

    def report(self) -> AggregateReport:
        fields: dict[str, str] = {}
        for section in ("report_metadata", "policy_published"):
            found = self.sections.get(section)
            if found is None:
                raise ReportError(f"<{section}> is missing or comes after the records")
            fields.update(found)
        return report_from_fields(fields, self.namespace or None)


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
    more = stream.read(READ_SIZE)
    if not more:
        reader.whole(head)
    else:
        reader.feed(head)
        reader.feed(more)
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
