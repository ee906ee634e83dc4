"""The probes' reply reader gives what dnspython's ``from_wire`` + ``resolve_chaining`` give."""

from __future__ import annotations

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from checks.dns_reply import read_chain

QNAME = dns.name.from_text("Shop.Example.Test")
SOA = "ns.example.test. hostmaster.example.test. 1 3600 600 86400 300"


def reply(
    rdtype: str,
    answer: list[tuple[str, int, str, str]] = (),  # type: ignore[assignment]
    authority: list[tuple[str, int, str, str]] = (),  # type: ignore[assignment]
    rcode: int = dns.rcode.NOERROR,
) -> bytes:
    query = dns.message.make_query(QNAME, rdtype)
    message = dns.message.make_response(query)
    message.set_rcode(dns.rcode.Rcode(rcode))
    for section, records in ((message.answer, answer), (message.authority, authority)):
        for owner, ttl, kind, text in records:
            section.append(dns.rrset.from_text(owner, ttl, "IN", kind, text))
    # An unrelated additional record, which neither reader needs.
    message.additional.append(dns.rrset.from_text("mx.example.test.", 60, "IN", "A", "192.0.2.1"))
    return message.to_wire()


CASES = {
    "records": ("TXT", [("shop.example.test.", 300, "TXT", '"v=spf1 -all"')], []),
    "two records, two ttls, a duplicate": (
        "MX",
        [
            ("shop.example.test.", 300, "MX", "10 mx.example.test."),
            ("SHOP.example.test.", 200, "MX", "20 mx2.example.test."),
            ("shop.example.test.", 300, "MX", "10 mx.example.test."),
        ],
        [],
    ),
    "a CNAME chain": (
        "TXT",
        [
            ("shop.example.test.", 100, "CNAME", "a.example.test."),
            ("a.example.test.", 50, "CNAME", "b.example.test."),
            ("b.example.test.", 400, "TXT", '"v=DMARC1; p=reject"'),
        ],
        [],
    ),
    "the CNAME itself": ("CNAME", [("shop.example.test.", 100, "CNAME", "a.example.test.")], []),
    "nodata": ("AAAA", [], [("example.test.", 900, "SOA", SOA)]),
    "nodata without an soa": ("AAAA", [], []),
    "a CNAME to nodata": (
        "TXT",
        [("shop.example.test.", 100, "CNAME", "a.other.test.")],
        [("other.test.", 900, "SOA", SOA)],
    ),
    "records of other types only": ("TXT", [("shop.example.test.", 60, "A", "192.0.2.7")], []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_it_reads_what_dnspython_resolves(case: str) -> None:
    rdtype, answer, authority = CASES[case]
    wire = reply(rdtype, answer, authority)
    type_code = int(dns.rdatatype.from_text(rdtype))
    chain = read_chain(wire, type_code)
    expected = dns.message.from_wire(wire).resolve_chaining()  # type: ignore[attr-defined]
    assert chain.rcode == dns.rcode.NOERROR
    assert chain.canonical_name == expected.canonical_name
    assert chain.minimum_ttl == expected.minimum_ttl
    if expected.answer is None:
        assert chain.rdatas == ()
    else:
        assert list(chain.rdatas) == list(expected.answer)
        assert chain.ttl == expected.answer.ttl


def test_a_negative_answer_gives_its_soa_ttl_and_minimum() -> None:
    wire = reply("TXT", [], [("example.test.", 900, "SOA", SOA)], rcode=dns.rcode.NXDOMAIN)
    chain = read_chain(wire, int(dns.rdatatype.TXT))
    assert (chain.rcode, chain.rdatas, chain.negative_ttl) == (dns.rcode.NXDOMAIN, (), 300)
    short = reply("TXT", [], [("example.test.", 30, "SOA", SOA)])
    assert read_chain(short, int(dns.rdatatype.TXT)).negative_ttl == 30
    assert read_chain(reply("TXT"), int(dns.rdatatype.TXT)).negative_ttl is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda wire: wire[:20],  # cut inside the question
        lambda wire: wire[:50],  # cut inside the answer's record
        lambda wire: wire[:12] + b"\xc0\x0c" + wire[12:],  # a pointer to itself
        lambda wire: wire[:4] + b"\x00\x02" + wire[6:],  # two questions announced
    ],
)
def test_bytes_that_are_not_a_reply_raise_form_error(damage: object) -> None:
    wire = reply("TXT", [("shop.example.test.", 300, "TXT", '"v=spf1 -all"')], [])
    with pytest.raises(dns.exception.FormError):
        read_chain(damage(wire), int(dns.rdatatype.TXT))  # type: ignore[operator]


@pytest.mark.parametrize("cut", [1, 4, 20])
def test_an_soa_whose_data_is_not_two_names_and_five_numbers_raises_form_error(cut: int) -> None:
    """The negative answer's SOA is read from the bytes; a short one is refused as dnspython
    refuses it."""
    wire = bytearray(reply("TXT", [], [("example.test.", 900, "SOA", SOA)]))
    # The SOA is the authority section's only record, before the additional A (16 bytes):
    # shorten its data by `cut` bytes and its length field with it.
    soa_end = len(wire) - 16
    length_at = wire.rindex(b"\x00\x06\x00\x01", 0, soa_end) + 8
    length = int.from_bytes(wire[length_at : length_at + 2], "big")
    wire[length_at : length_at + 2] = (length - cut).to_bytes(2, "big")
    del wire[soa_end - cut : soa_end]
    with pytest.raises(dns.exception.FormError):
        dns.message.from_wire(bytes(wire))
    with pytest.raises(dns.exception.FormError):
        read_chain(bytes(wire), int(dns.rdatatype.TXT))
