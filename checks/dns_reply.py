"""Read what a probe needs from a reply's bytes: the records asked for, at the end of any
CNAME chain, and the TTLs that say how long the answer may be cached.

``dns.message.from_wire`` builds every section (names, immutable RRsets, the
additional records) and ``resolve_chaining`` then searches them; in a sweep that
was a third of the probes' CPU. A probe reads the answer section's records of
the type it asked for and its CNAMEs, and, for a negative answer, the SOA in
the authority section; nothing else is built. The result is what dnspython's
``resolve_chaining`` gives for the same bytes (tests/test_dns_reply.py holds
the two side by side). Bytes that do not read raise ``dns.exception.FormError``
as ``from_wire`` does, in the sections read (the additional section never is,
the authority section only for a negative answer).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.ttl
import dns.wire

_HEADER = struct.Struct("!HHHHHH")
_RECORD = struct.Struct("!HHIH")
# An SOA's five numbers after its two names: serial, refresh, retry, expire, minimum.
_SOA_NUMBERS = struct.Struct("!IIIII")
_CNAME = int(dns.rdatatype.CNAME)
_SOA = int(dns.rdatatype.SOA)
_IN = int(dns.rdataclass.IN)
# Compression pointers a name may follow: more is a loop.
_MAX_POINTERS = 64


@dataclass(frozen=True, slots=True)
class Chain:
    """A reply as a probe reads it.

    ``rdatas`` are the records of the asked type owned by ``canonical_name``
    (the end of the CNAME chain), duplicates dropped; empty for NODATA and
    NXDOMAIN. ``ttl`` is their smallest TTL; ``minimum_ttl`` the smallest of
    the chain's TTLs and, for a negative answer, of its SOA's TTL and
    MINIMUM field (dnspython's ``ChainingResult.minimum_ttl``).
    ``negative_ttl`` is RFC 2308's for a negative answer with an SOA in
    the authority section (the first one), else None.
    """

    rcode: int
    canonical_name: dns.name.Name
    rdatas: tuple[dns.rdata.Rdata, ...]
    ttl: int
    minimum_ttl: int
    negative_ttl: int | None


def _name_key(wire: bytes, offset: int) -> tuple[bytes, int]:
    """The name at ``offset``, decompressed and lower-cased, and the offset after it."""
    labels: list[bytes] = []
    end: int | None = None
    pointers = 0
    while True:
        try:
            length = wire[offset]
        except IndexError:
            raise dns.exception.FormError("name runs past the message") from None
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:
            if offset + 1 >= len(wire):
                raise dns.exception.FormError("name runs past the message")
            pointers += 1
            if pointers > _MAX_POINTERS:
                raise dns.exception.FormError("compression loop")
            target = ((length & 0x3F) << 8) | wire[offset + 1]
            if end is None:
                end = offset + 2
            if target >= offset:
                raise dns.exception.FormError("compression pointer points forward")
            offset = target
            continue
        if length > 63:
            raise dns.exception.FormError("bad label type")
        label = wire[offset + 1 : offset + 1 + length]
        if len(label) != length:
            raise dns.exception.FormError("label runs past the message")
        labels.append(label.lower())
        offset += 1 + length
    return b".".join(labels), offset if end is None else end


def _key_of(name: dns.name.Name) -> bytes:
    return b".".join(label.lower() for label in name.labels if label)


def read_chain(wire: bytes, rdtype: int) -> Chain:
    """What the reply ``wire`` to a question of type ``rdtype`` answers (see :class:`Chain`).

    The question is taken as it stands in the reply (the exchange has
    matched it to the query).
    """
    if len(wire) < _HEADER.size:
        raise dns.exception.FormError("shorter than a header")
    _id, flags, questions, answers, authorities, _additional = _HEADER.unpack_from(wire)
    if questions != 1:
        raise dns.exception.FormError("not one question")
    qname_key, offset = _name_key(wire, _HEADER.size)
    question_end = offset
    offset += 4  # type and class: matched by the exchange
    records: list[tuple[bytes, int, int, dns.rdata.Rdata]] = []
    offset = _read_records(wire, offset, answers, rdtype, records)
    rcode = flags & 0x000F
    chain_key = qname_key
    canonical: dns.name.Name | None = None
    minimum = dns.ttl.MAX_TTL
    answer: list[dns.rdata.Rdata] = []
    ttl = 0
    for _step in range(dns.message.MAX_CHAIN):
        found = [(t, rd) for owner, kind, t, rd in records if kind == rdtype and owner == chain_key]
        if found:
            ttl = min(t for t, _ in found)
            minimum = min(minimum, ttl)
            for _, rdata in found:
                if rdata not in answer:
                    answer.append(rdata)
            break
        if rdtype == _CNAME:
            break
        aliases = [
            (t, rd) for owner, kind, t, rd in records if kind == _CNAME and owner == chain_key
        ]
        if not aliases:
            break
        minimum = min(minimum, *(t for t, _ in aliases))
        canonical = aliases[0][1].target  # type: ignore[attr-defined]
        chain_key = _key_of(canonical)
    else:
        raise dns.message.ChainTooLong
    if rcode == dns.rcode.NXDOMAIN and answer:
        raise dns.message.AnswerForNXDOMAIN
    negative: int | None = None
    if not answer:
        soas = _read_soas(wire, offset, authorities)
        if soas:
            _owner, first_ttl, first_minimum = soas[0]
            negative = min(first_ttl, first_minimum)
        minimum = _soa_minimum(soas, chain_key, minimum)
    if canonical is None:
        canonical = dns.name.from_wire(wire[: question_end + 4], _HEADER.size)[0]
    return Chain(rcode, canonical, tuple(answer), ttl, minimum, negative)


def _soa_minimum(soas: list[tuple[bytes, int, int]], key: bytes, minimum: int) -> int:
    """dnspython's negative-caching TTL: the SOA owned by the name or its closest parent."""
    while True:
        owned = [(ttl, soa_minimum) for owner, ttl, soa_minimum in soas if owner == key]
        if owned:
            ttl = min(t for t, _ in owned)
            return min(minimum, ttl, owned[0][1])
        if not key:
            # No SOA: dnspython's (and other resolvers') short default.
            return min(minimum, dns.message.NEGATIVE_TTL_WITHOUT_SOA)
        key = key.partition(b".")[2]


def _record_at(wire: bytes, offset: int) -> tuple[bytes, int, int, int, int, int]:
    """The record at ``offset``: owner key, type, class, TTL, and where its data starts
    and ends."""
    owner, offset = _name_key(wire, offset)
    if offset + _RECORD.size > len(wire):
        raise dns.exception.FormError("record runs past the message")
    kind, rdclass, ttl, length = _RECORD.unpack_from(wire, offset)
    start = offset + _RECORD.size
    end = start + length
    if end > len(wire):
        raise dns.exception.FormError("record data runs past the message")
    return owner, kind, rdclass, ttl, start, end


def _read_records(
    wire: bytes,
    offset: int,
    count: int,
    rdtype: int,
    into: list[tuple[bytes, int, int, dns.rdata.Rdata]],
) -> int:
    """Read ``count`` records from ``offset``, keeping those of ``rdtype`` and CNAMEs (class
    IN) in ``into``; the offset after them."""
    for _ in range(count):
        owner, kind, rdclass, ttl, offset, end = _record_at(wire, offset)
        if rdclass == _IN and kind in (rdtype, _CNAME):
            parser = dns.wire.Parser(wire, offset)
            with parser.restrict_to(end - offset):
                rdata = dns.rdata.from_wire_parser(
                    dns.rdataclass.IN, dns.rdatatype.RdataType.make(kind), parser
                )
            into.append((owner, kind, ttl, rdata))
        offset = end
    return offset


def _read_soas(wire: bytes, offset: int, count: int) -> list[tuple[bytes, int, int]]:
    """The SOA records (class IN) among ``count`` records from ``offset``: owner, TTL and
    MINIMUM field each.

    Read from the bytes rather than built as dnspython rdata: a negative answer is a
    third of a probe's replies (checkdmarc's CNAME and SPF-type questions), and its
    SOA's two names were most of their parsing. The rdata is checked as dnspython
    checks it: its two names and five numbers fill it exactly.
    """
    soas: list[tuple[bytes, int, int]] = []
    for _ in range(count):
        owner, kind, rdclass, ttl, offset, end = _record_at(wire, offset)
        if rdclass == _IN and kind == _SOA:
            _mname, at = _name_key(wire, offset)
            _rname, at = _name_key(wire, at)
            if at + _SOA_NUMBERS.size != end:
                raise dns.exception.FormError("SOA data is not two names and five numbers")
            soa_minimum = _SOA_NUMBERS.unpack_from(wire, at)[4]
            soas.append((owner, ttl, soa_minimum))
        offset = end
    return soas
