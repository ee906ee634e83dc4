"""Parsing receivers' reports: real layouts, RFC 9990 fields, hostile input refused in one line."""

from __future__ import annotations

import email
import gzip
import io
import re
import struct
import tempfile
import zipfile
from pathlib import Path

import hypothesis
import pytest
from hypothesis import strategies as st

from compliance.dmarc_reports import ReportError
from compliance.dmarc_reports.aggregate import AggregateRecord, check_prolog, read_aggregate
from compliance.dmarc_reports.payloads import AGGREGATE, TLS, Limits, payloads_in_file
from compliance.dmarc_reports.tls import read_tls

FIXTURES = Path(__file__).parent / "fixtures" / "dmarc"


def xml_of(path: Path) -> bytes:
    """The XML inside a fixture, unpacked with the standard library only (an independent reader)."""
    raw = path.read_bytes()
    if path.suffix == ".eml":
        message = email.message_from_bytes(raw)
        for part in message.walk():
            data = part.get_payload(decode=True)
            if isinstance(data, bytes) and data[:2] == b"\x1f\x8b":
                return gzip.GzipFile(fileobj=io.BytesIO(data)).read1(10**6)
            if isinstance(data, bytes) and data[:2] == b"PK":
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    return archive.read(archive.namelist()[0])
    return raw


def independent_counts(xml: bytes) -> tuple[int, int, int]:
    """Records, messages and DMARC-passing messages, counted with regular expressions."""
    text = xml.decode()
    records = re.findall(r"<record>(.*?)</record>", text, re.S)
    messages = passing = 0
    for record in records:
        count = int(re.search(r"<count>(\d+)</count>", record).group(1))  # type: ignore[union-attr]
        evaluated = re.search(r"<policy_evaluated>(.*?)</policy_evaluated>", record, re.S)
        assert evaluated is not None
        messages += count
        if re.search(r"<(dkim|spf)>pass</\1>", evaluated.group(1), re.I):
            passing += count
    return len(records), messages, passing


def parse(path: Path, limits: Limits | None = None) -> list[tuple[object, list[AggregateRecord]]]:
    found: list[tuple[object, list[AggregateRecord]]] = []
    for payload in payloads_in_file(path, limits):
        if payload.kind == AGGREGATE:
            report, batches = read_aggregate(payload.stream)
            found.append((report, [r for batch in batches for r in batch]))
        else:
            found.append((read_tls(payload.stream), []))
    return found


@pytest.mark.parametrize(
    "name",
    [
        "google-zip-attachment.eml",
        "protection.outlook.com!example.com!1796428800!1796515200.xml",
        "rfc9990-namespace.xml",
        "mimecast-gzip-crlf.eml",
        "upper-cased-results.xml",
    ],
)
def test_each_aggregate_fixture_parses_to_its_independent_count(name: str) -> None:
    path = FIXTURES / name
    [(_report, records)] = parse(path)
    expected_records, expected_messages, expected_passing = independent_counts(xml_of(path))
    assert len(records) == expected_records
    assert sum(r.count for r in records) == expected_messages
    assert sum(r.count for r in records if r.dmarc_pass) == expected_passing


def test_google_layout_in_a_zip_attachment_keeps_selectors_and_identities() -> None:
    [(report, records)] = parse(FIXTURES / "google-zip-attachment.eml")
    assert report.org_name == "google.com"  # type: ignore[attr-defined]
    assert report.report_id == "17316782735219561734"  # type: ignore[attr-defined]
    assert report.domain == "example.com"  # type: ignore[attr-defined]
    assert report.policy == "none"  # type: ignore[attr-defined]
    assert report.percent == 100  # type: ignore[attr-defined]
    assert [r.source_ip for r in records] == ["209.85.220.41", "209.85.220.69", "203.0.113.5"]
    assert records[0].dkim_results[0].selector == "google"
    assert records[1].spf_domain == "bounce.example.net"
    assert records[2].dkim_results == ()
    assert records[2].spf_result == "softfail"


def test_rfc9990_namespace_and_new_fields() -> None:
    [(report, records)] = parse(FIXTURES / "rfc9990-namespace.xml")
    assert report.namespace == "urn:ietf:params:xml:ns:dmarc-2.0"  # type: ignore[attr-defined]
    assert report.generator == "Example DMARC Aggregate Reporter v1.2"  # type: ignore[attr-defined]
    assert report.nonexistent_policy == "reject"  # type: ignore[attr-defined]
    assert report.testing == "n"  # type: ignore[attr-defined]
    assert report.discovery_method == "treewalk"  # type: ignore[attr-defined]
    assert report.percent is None  # type: ignore[attr-defined]
    # RFC 9990's "pass" disposition: nothing was done to the mail.
    assert records[0].disposition == "none"
    assert records[1].disposition == "quarantine"
    assert records[1].reasons == ("local_policy",)


def test_microsoft_layout_with_ipv6_source_and_envelope_to() -> None:
    [(_, records)] = parse(
        FIXTURES / "protection.outlook.com!example.com!1796428800!1796515200.xml"
    )
    assert records[0].envelope_to == "hotmail.com"
    assert records[1].source_ip == "2a01:111:f400:7e4a::207"


def test_upper_cased_results_are_lower_cased() -> None:
    [(_, records)] = parse(FIXTURES / "upper-cased-results.xml")
    assert {r.dkim for r in records} == {"pass", "fail"}
    assert {r.disposition for r in records} == {"none"}


def test_tls_reports_plain_and_gzip_attached() -> None:
    [(plain, _)] = parse(FIXTURES / "rfc8460-tls.json")
    [(attached, _)] = parse(FIXTURES / "google-tls-report.eml")
    policy = plain.policies[0]  # type: ignore[attr-defined]
    assert (policy.policy_domain, policy.successful, policy.failed) == ("example.com", 5326, 303)
    assert sum(f.failed_sessions for f in policy.failures) == 303
    assert policy.failures[2].failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    assert attached.org_name == "Google Inc."  # type: ignore[attr-defined]
    assert attached.policies[0].successful == 41  # type: ignore[attr-defined]
    assert attached.policies[0].failures == ()  # type: ignore[attr-defined]


def test_a_large_report_is_streamed_in_batches() -> None:
    body = b"".join(
        b"<record><row><source_ip>10.0.%d.%d</source_ip><count>1</count><policy_evaluated>"
        b"<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>"
        b"</row><identifiers><header_from>a.example</header_from></identifiers></record>"
        % (i // 256, i % 256)
        for i in range(20000)
    )
    document = HEADER + body + b"</feedback>"
    _report, batches = read_aggregate(io.BytesIO(document))
    sizes = [len(batch) for batch in batches]
    assert sum(sizes) == 20000
    assert len(sizes) > 1  # yielded while reading, not after the whole document


HEADER = (
    b'<?xml version="1.0"?><feedback><report_metadata><org_name>r.example</org_name>'
    b"<report_id>1</report_id><date_range><begin>1796428800</begin><end>1796515199</end>"
    b"</date_range></report_metadata><policy_published><domain>a.example</domain><p>none</p>"
    b"</policy_published>"
)
RECORD = (
    b"<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated>"
    b"<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
    b"</record>"
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def error_of(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(ReportError) as raised:
        parse(path, limits)
    message = str(raised.value)
    assert "\n" not in message
    return message


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<feedback><report_metadata><org_name>&c;</org_name></report_metadata></feedback>"
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<feedback><report_metadata><org_name>&x;</org_name></report_metadata></feedback>"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "refused: the XML declares a DTD"),
        (EXTERNAL, "refused: the XML declares a DTD"),
        (b"<!-- a comment --><!DOCTYPE feedback><feedback/>", "refused: the XML declares a DTD"),
        (b"<html><body>hello</body></html>", "the root element is <html>, not <feedback>"),
        (HEADER + RECORD.replace(b"<count>", b"<count>\xff\xfe") + b"</feedback>",
         "not well-formed XML (Invalid bytes in character encoding: line 1, column 318)"),
        (HEADER.replace(b"r.example", b"r\xc3\x28") + b"</feedback>", "not well-formed XML"),
        (HEADER + RECORD, "not well-formed XML (Premature end of data in tag feedback"),
        # Without a DTD no entity but XML's five is defined: the reference names the cause.
        (HEADER + b"<x>&c;</x></feedback>", "not well-formed XML (Entity 'c' not defined: line 1"),
        (HEADER + RECORD.replace(b"192.0.2.1", b"192.0.2.999") + b"</feedback>",
         "record 1: source_ip '192.0.2.999' is not an IP address"),
        (HEADER + RECORD.replace(b"<count>1", b"<count>-4") + b"</feedback>",
         "record 1: count -4 is negative"),
        (HEADER + RECORD.replace(b">none<", b">discard<") + b"</feedback>",
         "record 1: disposition 'discard' is not none, quarantine or reject"),
        (HEADER.replace(b"<p>none</p>", b"") + b"</feedback>",
         "policy_published: <p> is missing or empty"),
        ("\ufeff<feedback/>".encode("utf-16"), "the XML is UTF-16"),
        (b"", "the file is not a DMARC aggregate report or an SMTP TLS report"),
        (b"hello world", "the file is not a DMARC aggregate report or an SMTP TLS report"),
        (b'{"organization-name": "x"}', "report: 'date-range' is missing or not a object"),
        (b'{"a": 1}', "not an SMTP TLS report"),
        (b'{"organization-name": "x", "\xff": 1}', "the JSON is not valid UTF-8"),
    ],
)  # fmt: skip
def test_bad_xml_and_json_are_one_line_errors(tmp_path: Path, data: bytes, message: str) -> None:
    assert message in error_of(write(tmp_path, "report.xml", data))


def test_a_dtd_after_a_long_comment_is_still_seen() -> None:
    with pytest.raises(ReportError, match="DTD"):
        check_prolog(
            b"<?xml version='1.0'?>" + b"<!--" + b" <feedback> " * 100 + b"-->" + b"<!DOCTYPE x>"
        )
    prolog = b"<?xml version='1.0'?><!-- <!DOCTYPE in a comment --><feedback>"
    assert check_prolog(prolog) == prolog.index(b"<feedback>")


def zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


SMALL = Limits(max_inflated_bytes=1_000_000)
BOMB = HEADER + b" " * 5_000_000 + b"</feedback>"


def test_gzip_declaring_more_than_the_limit_is_refused_before_inflating(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "bomb.xml.gz", gzip.compress(BOMB)), SMALL)
    assert "declares 5,000," in message and "over the limit of 1,000,000" in message


def test_gzip_lying_about_its_size_is_stopped_by_the_bytes_it_produces(tmp_path: Path) -> None:
    data = gzip.compress(BOMB)
    lying = data[:-4] + struct.pack("<I", 100)
    message = error_of(write(tmp_path, "bomb.xml.gz", lying), SMALL)
    assert "inflates to more than 1,000,000 bytes: refused" in message


def test_zip_declaring_more_than_the_limit_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "bomb.zip", zip_of("r.xml", BOMB)), SMALL)
    assert "declares 5,000," in message


def test_zip_member_lying_about_its_size_is_stopped(tmp_path: Path) -> None:
    data = bytearray(zip_of("r.xml", BOMB))
    real = struct.pack("<I", len(BOMB))
    # The uncompressed size sits in the local header and the central directory.
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(header) + offset
        assert bytes(data[at : at + 4]) == real
        data[at : at + 4] = struct.pack("<I", 2000)
    message = error_of(write(tmp_path, "liar.zip", bytes(data)))
    assert "inflates to more than 2,000 bytes" in message or "corrupt" in message


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("cut.xml.gz", gzip.compress(HEADER + RECORD + b"</feedback>")[:-30], "gzip"),
        ("cut.zip", zip_of("r.xml", HEADER + RECORD + b"</feedback>")[:-40], "not a readable zip"),
        ("junk.xml.gz", gzip.compress(HEADER + b"</feedback>") + b"\0\0", "data after the end"),
        ("empty.zip", zip_of("r.txt", b"just text"), "r.txt is not a DMARC aggregate report"),
        (
            "deep.gz",
            gzip.compress(gzip.compress(gzip.compress(gzip.compress(b"<feedback/>")))),
            "nests archives more than 3 deep",
        ),
    ],
    # Named by file: the bytes carry gzip's time stamp, and pytest-xdist's workers must
    # collect the same test ids whenever each of them imports this module.
    ids=["cut.xml.gz", "cut.zip", "junk.xml.gz", "empty.zip", "deep.gz"],
)
def test_broken_archives_are_one_line_errors(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    assert message in error_of(write(tmp_path, name, data))


def test_a_message_without_a_report_says_so(tmp_path: Path) -> None:
    raw = b"From: a@b.example\nSubject: hello\nContent-Type: text/plain\n\nJust a note.\n"
    assert error_of(write(tmp_path, "note.eml", raw)) == (
        "the message carries no DMARC aggregate or SMTP TLS report"
    )


def test_attachments_are_recognised_whatever_type_they_claim(tmp_path: Path) -> None:
    gz = gzip.compress(HEADER + RECORD + b"</feedback>")
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "reports@r.example"
    message.set_content("A report.")
    message.add_attachment(gz, maintype="text", subtype="xml", filename="report.xml")
    [(report, records)] = parse(write(tmp_path, "m.eml", message.as_bytes()))
    assert report.org_name == "r.example"  # type: ignore[attr-defined]
    assert len(records) == 1


def test_an_mbox_yields_each_messages_report(tmp_path: Path) -> None:
    messages = b""
    for number, name in enumerate(("google-zip-attachment.eml", "mimecast-gzip-crlf.eml")):
        raw = (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n")
        messages += b"From reports@example.com Fri Dec  4 00:00:0%d 2026\n" % number + raw + b"\n"
    found = parse(write(tmp_path, "reports.mbox", messages))
    assert [report.org_name for report, _ in found] == ["google.com", "mimecast.org"]  # type: ignore[attr-defined]
    assert [payload.kind for payload in payloads_in_file(FIXTURES / "rfc8460-tls.json")] == [TLS]


VALID = (FIXTURES / "rfc9990-namespace.xml").read_bytes()


def damaged(cut: int, at: int, byte: int) -> bytes:
    """The valid report cut after ``cut`` bytes, with the byte at ``at`` (if kept) replaced."""
    data = bytearray(VALID[:cut])
    if at < len(data):
        data[at] = byte
    return bytes(data)


# Derandomized and without an example database, like tests/test_fuzz.py: CI sees the same cases.
@hypothesis.settings(max_examples=300, deadline=None, derandomize=True, database=None)
@hypothesis.given(
    cut=st.integers(min_value=0, max_value=len(VALID)),
    at=st.integers(min_value=0, max_value=len(VALID) - 1),
    byte=st.integers(min_value=0, max_value=255),
    wrapper=st.sampled_from(["plain", "gzip", "zip"]),
)
def test_damaged_reports_are_report_errors_never_tracebacks(
    cut: int, at: int, byte: int, wrapper: str
) -> None:
    data = damaged(cut, at, byte)
    if wrapper == "gzip":
        data = gzip.compress(data)[: max(cut, 1)] if cut % 2 else gzip.compress(data)
    elif wrapper == "zip":
        data = zip_of("report.xml", data)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "report"
        path.write_bytes(data)
        try:
            parse(path)
        except ReportError as error:
            assert "\n" not in str(error)


class Trickle(io.RawIOBase):
    """A stream giving at most ``size`` bytes per read, as a slow or chunked one does."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._size, self._at = data, size, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = self._size if size < 0 else min(size, self._size)
        chunk = self._data[self._at : self._at + step]
        self._at += len(chunk)
        return chunk


def outcome_of(stream: io.RawIOBase | io.BytesIO) -> object:
    """The report and its records, or that it was refused: what a reader made of it.

    Which of a document's faults is named first may differ (a tree's syntax
    error is seen before its records are judged, a stream judges the records
    it has read before it meets the syntax error further on): a refusal is
    compared as one, and its message must be one line.
    """
    try:
        report, batches = read_aggregate(stream)  # type: ignore[arg-type]
        return report, [record for batch in batches for record in batch]
    except ReportError as error:
        assert "\n" not in str(error)
        return "refused"


@hypothesis.settings(max_examples=300, deadline=None, derandomize=True, database=None)
@hypothesis.given(
    cut=st.integers(min_value=0, max_value=len(VALID)),
    at=st.integers(min_value=0, max_value=len(VALID) - 1),
    byte=st.integers(min_value=0, max_value=255),
    size=st.integers(min_value=1, max_value=400),
)
def test_a_report_read_whole_or_in_pieces_gives_the_same_outcome(
    cut: int, at: int, byte: int, size: int
) -> None:
    # A document that comes whole at its first read is parsed as one tree, a longer one
    # is streamed through the pull parser: both must give the same records, or both refuse.
    data = damaged(cut, at, byte)
    whole = outcome_of(io.BytesIO(data))
    assert outcome_of(Trickle(data, size)) == whole


@pytest.mark.parametrize(
    "name",
    ["protection.outlook.com!example.com!1796428800!1796515200.xml", "rfc9990-namespace.xml",
     "upper-cased-results.xml"],
)  # fmt: skip
def test_each_fixture_read_whole_or_in_pieces_gives_the_same_records(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    whole = outcome_of(io.BytesIO(data))
    assert isinstance(whole, tuple) and whole[1]
    assert outcome_of(Trickle(data, 64)) == whole
