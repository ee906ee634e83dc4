"""Property-based fuzzing of every parser: whatever the input, only the parser's documented
error escapes, with a one-line message; records, answers and messages are always judged.

Inputs are mostly mutations of real ones (the fixtures, records that pass, messages signed
here), so that the fuzzing gets past the first check of each parser. Hypothesis runs
derandomized (a fixed seed): CI sees the same examples every run.
"""

from __future__ import annotations

import copy
import glob
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dns.message
import dns.rrset
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import storage_directory
from sqlalchemy import Engine

from checks.dkim import check_dkim, evaluate_dkim_key
from checks.dmarc import DmarcFacts, check_dmarc, evaluate_dmarc, parse_record_tags
from checks.dns import DnsError, DnsSettings, DnsSweep, parse_nameserver
from checks.dns_bulk import TRUNCATED, BulkAnswer, encode_question, read_reply
from checks.mx import check_mx
from checks.spf import SpfFacts, check_spf, evaluate_spf, has_redirect, parse_all_qualifier
from checks.targets import normalize_domain, parse_target, validate_selector
from checks.zoneserver import ZoneServer
from compliance.contacts.fields import address_of, address_problem, stamp_of
from compliance.contacts.importer import ContactImportFailed, import_contacts
from compliance.events.formats import FORMATS
from compliance.events.formats.generic_csv import Layout, row_values
from compliance.events.importer import ImportFailed, import_file
from compliance.events.normalised import RecordError, parse_time
from compliance.messages.audit import KeyUnavailable, audit_message
from monitor.settings import (
    HookSettings,
    Settings,
    SettingsError,
    WebSettings,
    load_settings,
    setting_keys,
)
from store.engine import open_database, session_factory
from tests.conftest import zone
from tests.test_audit_message import PUBLIC, build, sign
from web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The parsers that talk to a DNS server or a database cost milliseconds an example.
FUZZ_SLOW = settings(FUZZ, max_examples=200)
STATUSES = {"pass", "warn", "fail", "error"}


def one_line(error: BaseException) -> None:
    assert str(error) and "\n" not in str(error), repr(str(error))


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes], tokens: list[bytes]) -> bytes:
    """One of ``samples`` with bytes inserted (tokens that matter to the format, or any)
    and deleted here and there."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 5))):
        position = draw(st.integers(0, len(data)))
        if draw(st.integers(0, 3)):
            data[position:position] = draw(st.sampled_from(tokens) | st.binary(max_size=8))
        else:
            del data[position : position + draw(st.integers(1, 30))]
    return bytes(data)


def compressed(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` as it is, gzipped, gzipped and cut short, or gzipped with a flipped byte."""
    how = draw(st.sampled_from(["plain", "plain", "gzip", "cut", "flipped"]))
    if how == "plain":
        return data
    packed = gzip.compress(data)
    if how == "cut":
        return packed[: draw(st.integers(2, len(packed) - 1))]
    if how == "flipped":
        at = draw(st.integers(10, len(packed) - 1))
        return packed[:at] + bytes([packed[at] ^ 0x55]) + packed[at + 1 :]
    return packed


# -- SPF, DMARC and DKIM records, retrieved from a real DNS server ------------------------


@pytest.fixture(scope="module")
def record_server() -> Iterator[ZoneServer]:
    with ZoneServer() as server:
        yield server


def quoted(value: str) -> str:
    """``value`` as TXT rdata in zone-file syntax, every byte that needs it escaped."""
    data = value.encode("utf-8")
    chunks = [data[i : i + 200] for i in range(0, len(data), 200)] or [b""]
    return "( " + " ".join(
        '"' + "".join(chr(c) if 32 < c < 127 and chr(c) not in '"\\;()' else f"\\{c:03d}"
                      for c in chunk) + '"'
        for chunk in chunks
    ) + " )"  # fmt: skip


NAMES = st.sampled_from([
    "a.fuzz.test", "b.fuzz.test", "fuzz.test", "nx.fuzz.test", "a..b", "-x.fuzz.test",
    "x" * 70 + ".test", ".", "%{d}", "%{i}.fuzz.test", "%{l}", "%{", "%{z}", "é.test", "",
]) | st.text(max_size=8)  # fmt: skip
SPF_TERM = st.tuples(
    st.sampled_from(["", "+", "-", "~", "?"]),
    st.sampled_from(["all", "include:", "a", "a:", "mx", "mx:", "ptr", "exists:", "ip4:", "ip6:",
                     "redirect=", "exp=", "foo=", "a/", "mx/"]),
    NAMES | st.sampled_from(["192.0.2.1", "192.0.2.0/33", "::1/129", "1.2.3", "24//64"]),
).map("".join)  # fmt: skip
SPF_RECORD = st.lists(SPF_TERM, max_size=8).map(lambda terms: " ".join(["v=spf1", *terms])) | (
    st.text(max_size=30).map(lambda text: "v=spf1 " + text)
)
DMARC_TAG = st.tuples(
    st.sampled_from(["v", "p", "sp", "np", "pct", "rua", "ruf", "adkim", "aspf", "fo", "ri",
                     "t", "psd", "x"]),
    st.sampled_from(["DMARC1", "none", "reject", "quarantine", "50", "-1", "999999999999",
                     "mailto:r@other.test", "mailto:r@fuzz.test!10m", "https://x", "r", "s",
                     "y", "n", "1:d:s", "", "²"]) | st.text(max_size=6),
).map(lambda tag: f"{tag[0]}={tag[1]}")  # fmt: skip
DMARC_RECORD = st.lists(DMARC_TAG, max_size=7).map(lambda tags: "; ".join(["v=DMARC1", *tags])) | (
    st.text(max_size=30)
)
DKIM_TAG = st.tuples(
    st.sampled_from(["v", "k", "p", "t", "h", "s", "n", "P"]),
    st.sampled_from(["DKIM1", "rsa", "ed25519", "y", "s", "y:s", "sha1", "sha256", "email", "*",
                     "", PUBLIC, "A", "AAAA", "MIIBx", "====", PUBLIC[:-9]])
    | st.text(alphabet="ABCDEFGHabc0123+/= ", max_size=20),
).map(lambda tag: f"{tag[0]}={tag[1]}")  # fmt: skip
DKIM_RECORD = st.lists(DKIM_TAG, max_size=6).map("; ".join) | st.text(max_size=40)


def test_hypothesis_keeps_nothing_in_the_working_tree() -> None:
    # conftest's home directory: otherwise every fuzz run leaves ./.hypothesis behind.
    assert not storage_directory("constants", intent_to_write=False).path.is_relative_to(Path.cwd())


@FUZZ_SLOW
@given(spf=SPF_RECORD, included=SPF_RECORD, dmarc=DMARC_RECORD, dkim=DKIM_RECORD)
def test_records_served_by_dns_are_always_judged(
    record_server: ZoneServer, spf: str, included: str, dmarc: str, dkim: str
) -> None:
    record_server.set_zone(
        "fuzz.test.",
        zone(
            f"@ TXT {quoted(spf)}\na TXT {quoted(included)}\nb TXT {quoted(spf)}\n"
            f"_dmarc TXT {quoted(dmarc)}\ns1._domainkey TXT {quoted(dkim)}\n@ MX 10 mx\n"
            "mx A 192.0.2.1\n"
        ),
    )
    record_server.set_zone("other.test.", zone(f"fuzz.test._report._dmarc TXT {quoted(dmarc)}\n"))
    nameserver = parse_nameserver(record_server.nameserver)
    sweep = DnsSweep(DnsSettings((nameserver,), timeout=0.5, retries=0))
    results = [
        check_spf("fuzz.test", sweep.resolver()),
        check_dmarc("fuzz.test", sweep.resolver()),
        check_mx("fuzz.test", sweep.resolver()),
        *check_dkim("fuzz.test", ["s1", "nx"], sweep.resolver()).selectors.values(),
    ]
    assert all(result.status in STATUSES for result in results)


@FUZZ
@given(spf=SPF_RECORD, dmarc=DMARC_RECORD, tags=st.dictionaries(
    st.sampled_from(["p", "sp", "np", "t", "rua", "pct"]), st.text(max_size=8)))  # fmt: skip
def test_the_pure_halves_of_the_checks_judge_any_text(
    spf: str, dmarc: str, tags: dict[str, str]
) -> None:
    parse_all_qualifier(spf)
    has_redirect(spf)
    assert evaluate_spf("fuzz.test", SpfFacts(record=spf)).status in STATUSES
    parse_record_tags(dmarc)
    facts = DmarcFacts(record=dmarc, tags=tags, explicit=frozenset(tags))
    assert evaluate_dmarc("fuzz.test", facts).status in STATUSES


@FUZZ
@given(records=st.lists(DKIM_RECORD, max_size=3))
def test_any_dkim_key_record_is_judged(records: list[str]) -> None:
    assert evaluate_dkim_key("s1", "fuzz.test", records).status in STATUSES


@FUZZ
@given(text=st.text(max_size=40) | st.sampled_from(["[::1]:5353", "[::1", "1.2.3.4:²", "a:b:c"]))
def test_names_and_addresses_are_refused_with_a_value_error(text: str) -> None:
    parsers: list[Callable[[str], object]] = [
        parse_nameserver,
        parse_target,
        normalize_domain,
        validate_selector,
    ]
    for parse in parsers:
        try:
            parse(text)
        except ValueError as error:
            one_line(error)


# -- DNS replies ------------------------------------------------------------------------

REPLY_NAME = "2.0.0.127.zen.example"


def _reply(rdtype: str) -> bytes:
    query = dns.message.make_query(REPLY_NAME, rdtype)
    response = dns.message.make_response(query)
    if rdtype == "A":
        response.answer.append(
            dns.rrset.from_text(REPLY_NAME + ".", 300, "IN", "CNAME", "x.zen.example.")
        )
        response.answer.append(
            dns.rrset.from_text("x.zen.example.", 300, "IN", "A", "127.0.0.2", "127.0.0.10")
        )
    else:
        response.answer.append(
            dns.rrset.from_text(REPLY_NAME + ".", 300, "IN", "TXT", '"listed" "here"')
        )
    response.authority.append(
        dns.rrset.from_text(
            "zen.example.", 300, "IN", "SOA", "ns.zen.example. h.zen.example. 1 2 3 4 5"
        )
    )
    return response.to_wire()


REPLIES = {1: _reply("A"), 16: _reply("TXT")}


@FUZZ
@given(rdtype=st.sampled_from([1, 16]), header=st.binary(min_size=12, max_size=12),
       keep_header=st.booleans(), at=st.integers(0, 200), inserted=st.binary(max_size=40),
       cut=st.integers(0, 40))  # fmt: skip
def test_any_reply_to_a_question_is_an_answer_or_a_reason(
    rdtype: int, header: bytes, keep_header: bool, at: int, inserted: bytes, cut: int
) -> None:
    # Replies reach read_reply with the question echoed as asked (the channel drops others).
    question = encode_question(REPLY_NAME, rdtype)
    tail = REPLIES[rdtype][12 + len(question) :]
    tail = tail[:at] + inserted + tail[at + cut :]
    wire = (REPLIES[rdtype][:12] if keep_header else header) + question + tail
    judged = read_reply(REPLY_NAME, rdtype, wire)
    assert isinstance(judged, BulkAnswer) or judged == TRUNCATED or isinstance(judged, str)


# -- ESP payloads and the generic CSV -------------------------------------------------------


def _payloads() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(glob.glob(str(FIXTURES / "events" / "*.json*"))):
        text = Path(path).read_text(encoding="utf-8")
        documents = (
            [json.loads(line) for line in text.splitlines() if line.strip()]
            if (path.endswith(".jsonl"))
            else json.loads(text)
        )
        for document in documents if isinstance(documents, list) else [documents]:
            found.append((Path(path).name.split("_")[0], document))
            if isinstance(document.get("Message"), str):  # the SES notification inside SNS
                found.append(("ses", json.loads(document["Message"])))
    return found


PAYLOADS = _payloads()
LEAF = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**10)
        | st.floats() | st.text(max_size=12)
        | st.sampled_from(["", "1e400", "99999999999999999999", "NaN", "-1", "2026-13-45T00:00Z",
                           "0001-01-01T00:00:00+01:00", "a@b", "x@y.z", "permanent",
                           "Permanent", "Notification", "{}", "[]"])
        | st.lists(st.integers(), max_size=2)
        | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*prefix, index))


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A fixture payload with one to three values (or whole branches) replaced."""
    source, document = draw(st.sampled_from(PAYLOADS))
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(document))))
        if not path:
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(LEAF)
    return source, document


@FUZZ
@given(payload=payloads())
def test_esp_payloads_raise_only_record_errors(payload: tuple[str, dict[str, Any]]) -> None:
    source, record = payload
    for event_format in (FORMATS[source], *FORMATS.values()):
        try:
            list(event_format.parse(record))
        except RecordError as error:
            one_line(error)


CSV_FIELD = st.text(max_size=12) | st.sampled_from([
    "sent", "bounce", "hard", "soft", "a@example.com", "2026-11-01T10:00:00Z", "1",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-30T00:00:00Z",
    "2026-11-01 10:00:00+05:30", "01-02-2026", "31/12/2026 10:00", "true", "yes", "¹", "1.5e3",
])  # fmt: skip


@FUZZ
@given(
    columns=st.permutations(
        ["event_id", "type", "bounce_type", "recipient", "time", "campaign", "message_id", "reason"]
    ),
    row=st.lists(CSV_FIELD, min_size=7, max_size=9),
    day_first=st.booleans(),
)
def test_csv_values_raise_only_record_errors(
    columns: list[str], row: list[str], day_first: bool
) -> None:
    try:
        row_values(list(row), Layout.from_header(columns))
    except RecordError as error:
        one_line(error)
    for value in row:
        for parse in (
            lambda v: stamp_of(v, "time", day_first=day_first),
            parse_time,
            lambda v: address_problem(address_of(v, "email")),
        ):
            try:
                parse(value)
            except RecordError as error:
                one_line(error)


# -- Files of events and contacts, imported into a real database ---------------------------


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'pw.db'}")
    yield engine
    engine.dispose()


EVENT_FILES = [
    Path(p).read_bytes() for p in sorted(glob.glob(str(FIXTURES / "events" / "*.json*")))
]
EVENT_FILES.append(
    b"event_id,type,bounce_type,recipient,time,campaign,message_id\n"
    b"e1,sent,,ann@gmail.com,2026-11-01T10:00:00Z,c1,m1\n"
    b'e2,bounce,hard,"bob@yahoo.com",2026-11-01T11:00:00+01:00,c1,\n'
)
CONTACT_FILES = [
    Path(p).read_bytes() for p in sorted(glob.glob(str(FIXTURES / "contacts" / "*.csv")))
]
FILE_TOKENS = [b",", b";", b"\t", b"\n", b"\r\n", b"\r", b'"', b"\x00", b"\xff", b"\xef\xbb\xbf",
               b"\xff\xfe", b"\x1f\x8b", b"@", b"{", b"[", b"}", b"]", b"[[[[[[[[", b"NaN",
               b"1e999", b"0001-01-01T00:00:00+01:00", b'"a""b"', b"x" * 200, b"\\",
               b"99999999999999999999", b"email", b"Email Address"]  # fmt: skip


@st.composite
def files(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    return compressed(draw, draw(mutated(samples, FILE_TOKENS)))


@FUZZ_SLOW
@given(data=files(EVENT_FILES), source=st.sampled_from(["auto", "csv", *FORMATS]))
def test_event_files_fail_only_with_a_one_line_import_error(
    database: Engine, tmp_path_factory: pytest.TempPathFactory, data: bytes, source: str
) -> None:
    path = tmp_path_factory.getbasetemp() / "events.json"
    path.write_bytes(data)
    with session_factory(database)() as session:
        try:
            import_file(session, path, source=source, now=NOW)
        except ImportFailed as error:
            one_line(error)
            assert str(error).startswith("events.json")
        finally:
            session.rollback()


@FUZZ_SLOW
@given(
    data=files(CONTACT_FILES),
    source=st.sampled_from(["auto", "generic", "mailchimp", "brevo", "mailjet"]),
)
def test_contact_files_fail_only_with_a_one_line_import_error(
    database: Engine, tmp_path_factory: pytest.TempPathFactory, data: bytes, source: str
) -> None:
    path = tmp_path_factory.getbasetemp() / "contacts.csv"
    path.write_bytes(data)
    with session_factory(database)() as session:
        try:
            import_contacts(session, path, now=NOW, source=source)
        except ContactImportFailed as error:
            one_line(error)
            assert str(error).startswith("contacts.csv")
        finally:
            session.rollback()


# -- Sent messages, their DKIM keys served by a real DNS server ------------------------------


@pytest.fixture(scope="module")
def key_server() -> Iterator[ZoneServer]:
    keys = (
        f"s1._domainkey TXT {quoted(f'v=DKIM1; k=rsa; p={PUBLIC}')}\n"
        f"junk._domainkey TXT {quoted('v=DKIM1; p=A')}\n"
        f"ed._domainkey TXT {quoted('v=DKIM1; k=ed25519; p=AAAA')}\n"
    )
    with ZoneServer({"sender.example.": zone(keys), "x.": zone("")}) as server:
        server.set_fault("slow._domainkey.sender.example", "servfail")
        yield server


MESSAGES = [
    sign(build()),
    build().as_bytes(),
    sign(build(unsubscribe="<https://a>", post=None)),
    b"From: a@b\r\nDKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=junk; h=from; "
    b"bh=AAAA; b=AAAA\r\n\r\nbody\r\n",
    b"From: a@b\r\nDKIM-Signature: v=1; a=ed25519-sha256; d=sender.example; s=ed; h=from; bh=A; "
    b"b=A=\r\nDKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=slow; h=from; bh=A; b=A\r\n"
    b"Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/html; "
    b"charset=bogus\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"PGEgaHJlZj0iaHR0cHM6Ly94L3Vuc3Vic2NyaWJlIj5VbnN1YnNjcmliZTwvYT4=\r\n--x--\r\n",
]
MESSAGE_TOKENS = [b"\r\n", b"\n", b"\r\n\r\n", b":", b";", b"=", b"<", b">", b'"', b"\x00",
                  b"\xff", b"=?utf-8?q?=FF?=", b"=?bogus?b?AAAA?=", b"--", b"boundary=",
                  b'Content-Type: multipart/mixed; boundary="', b"charset=", b" ", b"\t",
                  b"Content-Transfer-Encoding: base64\r\n", b"From: ", b"List-Unsubscribe: ",
                  b"<https://", b"mailto:", b"@", b",", b"(", b"\\", b'Reply-To: "" <@>',
                  b"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n", b"Feedback-ID: ::::\r\n",
                  b"DKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=s1; bh="]  # fmt: skip


@FUZZ
@given(raw=mutated(MESSAGES, MESSAGE_TOKENS))
def test_any_message_is_judged(key_server: ZoneServer, raw: bytes) -> None:
    nameserver = parse_nameserver(key_server.nameserver)
    resolver = DnsSweep(DnsSettings((nameserver,), timeout=0.5, retries=0)).resolver()

    def key(name: str) -> str:
        try:
            return "".join(resolver.lookup_txt(name))
        except DnsError as error:  # as `audit-message` does
            raise KeyUnavailable(str(error)) from None

    result = audit_message(raw, key)
    assert result.status in STATUSES
    json.dumps(result.to_json())  # what `audit-message --format json` prints


# -- The configuration file and the environment ---------------------------------------------

SETTING_KEYS = list(setting_keys())
TOML_VALUES = st.sampled_from([
    "1", "0", "-1", "1.5", "nan", "inf", "-inf", "1e400", "1" + "0" * 400, "1" + "0" * 5000,
    "true", '"x"', '""', '"1"', "[]", '["a", "b"]', "[1, 2]", '{a = "b"}', "{}", "1979-05-27",
    "1979-05-27T07:32:00Z", '"127.0.0.1:53"', '["[::1]:5353"]', '"a=b,c"', '"\\u0000"',
    '"/nonexistent"', '"a\\nb"', "0x10", '"https://x"', '"ssl"',
])  # fmt: skip


CONFIG_NOISE = st.sampled_from(
    [b"\xff", b"[", b"=", b"\n[x]\n", b'"', b"\x00", b"]]", b"[[a]]\n", b'"a\\nb" = 1\n']
)


@st.composite
def config_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(st.sampled_from(SETTING_KEYS), TOML_VALUES), max_size=5))
    data = "".join(f"[{section}]\n{key} = {value}\n" for (section, key), value in lines).encode()
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        noise = draw(CONFIG_NOISE | st.binary(max_size=6))
        data = data[:at] + noise + data[at:]
    return data


@FUZZ
@given(data=config_files())
def test_config_files_fail_only_with_a_one_line_settings_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.getbasetemp() / "postwarden.toml"
    path.write_bytes(data)
    try:
        load_settings(str(path), environ={})
    except SettingsError as error:
        one_line(error)


@FUZZ
@given(
    key=st.sampled_from(SETTING_KEYS),
    value=st.text(max_size=12)
    | st.sampled_from(["1e400", "nan", "inf", "-1", "1" + "0" * 400, "a\nb", "[::1", "x=y,z"]),
)
def test_environment_values_fail_only_with_a_one_line_settings_error(
    key: tuple[str, str], value: str
) -> None:
    try:
        load_settings(None, environ={f"POSTWARDEN_{key[0]}_{key[1]}".upper(): value})
    except SettingsError as error:
        one_line(error)


# -- Webhook bodies ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hooks') / 'pw.db'}"
    engine = open_database(url)
    hooks = HookSettings(postmark_credentials="pm:s3cret", mailjet_credentials="mj:s3cret")
    app = create_app(
        Settings(database_url=url, web=WebSettings(secret_key="k"), hooks=hooks),
        session_factory(engine),
    )
    yield app
    app.extensions["postwarden_inbox"].close()
    engine.dispose()


def _bodies(source: str) -> list[bytes]:
    return [
        Path(p).read_bytes() for p in sorted(glob.glob(str(FIXTURES / "events" / f"{source}_*")))
    ]


@FUZZ
@given(esp=st.sampled_from(["postmark", "mailjet"]), data=st.data())
def test_a_webhook_body_is_taken_or_a_bad_request(
    hooks_app: Flask, esp: str, data: st.DataObject
) -> None:
    body = data.draw(mutated(_bodies(esp), FILE_TOKENS))
    auth = {"postmark": "cG06czNjcmV0", "mailjet": "bWo6czNjcmV0"}[esp]  # base64 of user:password
    response = hooks_app.test_client().post(
        f"/hooks/{esp}",
        data=body,
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:200]


def test_the_fuzzing_is_reproducible() -> None:
    # Derandomized: the same examples on every run and every machine.
    assert FUZZ.derandomize and FUZZ.database is None
