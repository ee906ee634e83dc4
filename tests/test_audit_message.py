"""``postwarden audit-message`` on messages signed here with dkimpy, keys served by a loopback DNS
server, one-click URIs probed on a loopback HTTPS server."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from checks.zoneserver import ZoneServer
from store.engine import make_engine, session_factory
from store.messages import MessageAudit
from tests.conftest import postwarden, zone
from tests.keys import txt
from tests.servers import make_certificate

KEY = rsa.generate_private_key(65537, 2048)
PRIVATE = KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
)
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
SIGNED = [b"from", b"to", b"subject", b"date", b"list-unsubscribe", b"list-unsubscribe-post"]
HTML = (
    "<html><body><p>Our November news.</p><p style='font-size:12px'>You receive this because "
    "you subscribed at sender.example. Sender Ltd, 12 Harbour Road, Bristol BS1 4DJ.<br>"
    "<a href='https://sender.example/unsubscribe?u=1'>Unsubscribe</a></p></body></html>"
)
TEXT = (
    "Our November news.\n\nYou receive this because you subscribed at sender.example.\n"
    "Sender Ltd, 12 Harbour Road, Bristol BS1 4DJ\nUnsubscribe: https://sender.example/u?u=1\n"
)


def build(
    unsubscribe: str | None = "<https://sender.example/one-click/1>, <mailto:u@sender.example>",
    post: str | None = "List-Unsubscribe=One-Click",
    html: str = HTML,
    text: str = TEXT,
    sender: str = "News <news@sender.example>",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ann@example.org"
    message["Subject"] = "November news"
    message["Date"] = "Wed, 25 Nov 2026 10:00:00 +0000"
    message["Message-ID"] = "<n1@sender.example>"
    message["Feedback-ID"] = "november:sender:newsletter:esp"
    if unsubscribe is not None:
        message["List-Unsubscribe"] = unsubscribe
    if post is not None:
        message["List-Unsubscribe-Post"] = post
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def sign(
    message: EmailMessage,
    headers: list[bytes] = SIGNED,
    domain: bytes = b"sender.example",
    selector: bytes = b"s1",
) -> bytes:
    raw = message.as_bytes()
    signature = dkim.sign(raw, selector, domain, PRIVATE, include_headers=headers)
    return signature + raw


@pytest.fixture
def mail_dns() -> Iterator[ZoneServer]:
    record = txt(f"v=DKIM1; k=rsa; p={PUBLIC}")
    zones = {
        "sender.example.": zone(
            f"s1._domainkey TXT {record}\nmail.s1._domainkey TXT {record}\n"
            f"s1._domainkey.mail TXT {record}\n"
        ),
        "esp.example.": zone(f"s1._domainkey TXT {record}\n"),
    }
    with ZoneServer(zones) as server:
        yield server


def run(server: ZoneServer, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, list[Any]]:
    result = postwarden("audit-message", *map(str, paths), "--nameserver", server.nameserver,
                        "--timeout", "1", "--format", "json", *extra)  # fmt: skip
    assert result.stderr == "", result.stderr
    return result.code, json.loads(result.stdout)


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {name: check["status"] for name, check in result["checks"].items()}


def codes(check: dict[str, Any]) -> list[str]:
    return [item["code"] for item in check["findings"]]


def write(tmp_path: Path, name: str, raw: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


ALL_PASS = {
    "list_unsubscribe": "pass",
    "one_click": "pass",
    "dkim": "pass",
    "body_unsubscribe": "pass",
}


def test_a_compliant_message_passes_every_check(tmp_path: Path, mail_dns: ZoneServer) -> None:
    code, [result] = run(mail_dns, write(tmp_path, "good.eml", sign(build())))
    assert code == 0 and result["status"] == "pass"
    assert statuses(result) == ALL_PASS
    assert result["file"].endswith("good.eml") and result["campaign"] == "november"
    [signature] = result["checks"]["dkim"]["signatures"]
    assert signature["domain"] == "sender.example" and signature["verified"] is True
    assert signature["aligned_strict"] and "list-unsubscribe-post" in signature["headers"]
    assert result["checks"]["one_click"]["uri"] == "https://sender.example/one-click/1"
    assert result["findings"] == []  # postal address, why-line, Feedback-ID all there


def _case(name: str) -> bytes:
    if name == "no_post":
        return sign(build(post=None))
    if name == "h_without_list_unsubscribe":
        return sign(build(), headers=[b"from", b"to", b"subject", b"date"])
    if name == "http_only":
        return sign(build(unsubscribe="<http://sender.example/u/1>"))
    if name == "no_body_link":
        return sign(build(html="<p>News. 12 Harbour Road</p>", text="News.\n"))
    if name == "altered_after_signing":
        return sign(build()).replace(b"Our November news.", b"Our December news.")
    if name == "no_list_unsubscribe":
        return sign(build(unsubscribe=None, post=None))
    if name == "malformed":
        return sign(build(unsubscribe="https://sender.example/u/1"))
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("case", "expected", "failing"),
    [
        ("no_post", {"one_click": "fail"}, {"one_click": ["ONE_CLICK_POST_MISSING"]}),
        ("h_without_list_unsubscribe", {"one_click": "fail"},
         {"one_click": ["ONE_CLICK_NOT_SIGNED"]}),
        ("http_only", {"list_unsubscribe": "fail", "one_click": "fail"},
         {"list_unsubscribe": ["LIST_UNSUBSCRIBE_NO_HTTPS_OR_MAILTO"],
          "one_click": ["ONE_CLICK_NO_HTTPS"]}),
        ("no_body_link", {"body_unsubscribe": "fail"},
         {"body_unsubscribe": ["BODY_UNSUBSCRIBE_MISSING"]}),
        ("altered_after_signing", {"dkim": "fail", "one_click": "fail"},
         {"dkim": ["DKIM_SIGNATURE_INVALID"], "one_click": ["ONE_CLICK_NOT_SIGNED"]}),
        ("no_list_unsubscribe", {"list_unsubscribe": "fail", "one_click": "fail"},
         {"list_unsubscribe": ["LIST_UNSUBSCRIBE_MISSING"],
          "one_click": ["ONE_CLICK_POST_MISSING", "ONE_CLICK_NO_HTTPS"]}),
        ("malformed", {"list_unsubscribe": "fail", "one_click": "fail"},
         {"list_unsubscribe": ["LIST_UNSUBSCRIBE_MALFORMED",
                               "LIST_UNSUBSCRIBE_NO_HTTPS_OR_MAILTO"],
          "one_click": ["ONE_CLICK_NO_HTTPS"]}),
    ],
)  # fmt: skip
def test_each_defect_fails_its_check_only(
    tmp_path: Path,
    mail_dns: ZoneServer,
    case: str,
    expected: dict[str, str],
    failing: dict[str, list[str]],
) -> None:
    code, [result] = run(mail_dns, write(tmp_path, f"{case}.eml", _case(case)))
    assert code == 2
    assert statuses(result) == {**ALL_PASS, **expected}
    assert {name: codes(result["checks"][name]) for name in failing} == failing


@pytest.mark.parametrize(
    "link",
    [
        "<a href='https://sender.example/x?id=1'>Newsletter abbestellen</a>",
        "<a href='https://sender.example/abmelden'>hier</a>",
        "<a href='https://sender.example/p'>Se désabonner</a>",
        "<a href='https://sender.example/p'>Darse de baja</a>",
        "<a href='https://sender.example/p'>Disiscriviti</a>",
    ],
)
def test_unsubscribe_links_in_other_languages(
    tmp_path: Path, mail_dns: ZoneServer, link: str
) -> None:
    raw = sign(build(html=f"<p>Neuigkeiten. {link}</p>", text="Neuigkeiten.\n"))
    _, [result] = run(mail_dns, write(tmp_path, "lang.eml", raw))
    assert result["checks"]["body_unsubscribe"]["status"] == "pass"


def test_a_hidden_link_does_not_count(tmp_path: Path, mail_dns: ZoneServer) -> None:
    html = "<div style='display: none'><a href='https://sender.example/u'>Unsubscribe</a></div>"
    _, [result] = run(mail_dns, write(tmp_path, "h.eml", sign(build(html=html, text="Hi.\n"))))
    assert codes(result["checks"]["body_unsubscribe"]) == ["BODY_UNSUBSCRIBE_HIDDEN"]


def test_alignment_and_notes(tmp_path: Path, mail_dns: ZoneServer) -> None:
    relaxed = sign(build(), domain=b"mail.sender.example")
    esp = sign(build(sender="No Reply <noreply@sender.example>"), domain=b"esp.example")
    _, results = run(mail_dns, write(tmp_path, "a.eml", relaxed), write(tmp_path, "b.eml", esp))
    dkim_a, dkim_b = (r["checks"]["dkim"] for r in results)
    assert (dkim_a["status"], dkim_a["aligned_strict"], dkim_a["aligned_relaxed"]) == (
        "pass",
        False,
        True,
    )
    assert dkim_b["status"] == "warn" and codes(dkim_b) == ["DKIM_NOT_ALIGNED"]
    assert [f["code"] for f in results[1]["findings"]] == ["NOREPLY_SENDER"]


def test_bare_message_notes(tmp_path: Path, mail_dns: ZoneServer) -> None:
    message = build(html="<a href='https://s.example/unsubscribe'>x</a>", text="x\n")
    del message["Feedback-ID"]
    _, [result] = run(mail_dns, write(tmp_path, "n.eml", sign(message)))
    assert [f["code"] for f in result["findings"]] == [
        "POSTAL_ADDRESS_MISSING",
        "WHY_RECEIVED_MISSING",
        "FEEDBACK_ID_MISSING",
    ]


def test_a_key_that_cannot_be_fetched_is_error_not_fail(
    tmp_path: Path, mail_dns: ZoneServer
) -> None:
    mail_dns.set_fault("s1._domainkey.sender.example", "servfail")
    code, [result] = run(mail_dns, write(tmp_path, "k.eml", sign(build())))
    assert result["checks"]["dkim"]["status"] == "error"
    assert codes(result["checks"]["dkim"]) == ["DKIM_KEY_UNAVAILABLE"]
    assert result["checks"]["one_click"]["status"] == "error"
    assert code == 3


def test_an_mbox_and_a_directory(tmp_path: Path, mail_dns: ZoneServer) -> None:
    box = tmp_path / "sent.mbox"
    parts = [sign(build()), _case("no_post"), _case("no_body_link")]
    box.write_bytes(
        b"".join(b"From sender@example Wed Nov 25 10:00:00 2026\n" + raw + b"\n" for raw in parts)
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.eml").write_bytes(sign(build()))
    code, results = run(mail_dns, box, folder)
    assert [(Path(r["file"]).name, r["status"]) for r in results] == [
        ("sent.mbox#1", "pass"),
        ("sent.mbox#2", "fail"),
        ("sent.mbox#3", "fail"),
        ("one.eml", "pass"),
    ]
    assert code == 2


def test_bad_input_gives_findings_or_one_line(tmp_path: Path, mail_dns: ZoneServer) -> None:
    garbage = write(tmp_path, "x.eml", bytes(range(256)) * 4)
    truncated = write(tmp_path, "t.eml", sign(build())[:-400])
    big = write(tmp_path, "big.eml", sign(build(html=HTML + "<p>filler</p>" * 1000)))
    code, results = run(mail_dns, garbage, truncated, big, extra=("--max-bytes", "8000"))
    assert code == 2  # the truncated one fails; fail outranks error
    by_name = {Path(r["file"]).name: r for r in results}
    assert [f["code"] for f in by_name["x.eml"]["findings"]] == ["MESSAGE_UNREADABLE"]
    assert by_name["x.eml"]["status"] == "error"
    assert by_name["t.eml"]["checks"]["dkim"]["status"] == "fail"  # cut body: no longer verifies
    assert [f["code"] for f in by_name["big.eml"]["findings"]] == ["MESSAGE_TOO_LARGE"]
    broken = write(tmp_path, "enc.eml", (
        b"From: news@sender.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nAbmelden: https://sender.example/u \xe9\xe8\r\n"
    ))  # fmt: skip
    _, [decoded] = run(mail_dns, broken)
    assert "MESSAGE_DEFECTS" in [f["code"] for f in decoded["findings"]]
    assert decoded["checks"]["body_unsubscribe"]["status"] == "pass"
    missing = postwarden("audit-message", str(tmp_path / "nope.eml"))
    assert missing.code == 3
    assert (
        missing.stderr.strip()
        == f"postwarden: error: {tmp_path / 'nope.eml'}: no such file or directory"
    )


@pytest.fixture
def unsubscribe_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[bytes]]]:
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/ok":
                self.send_response(200)
            elif self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "https://127.0.0.1/confirm")
            else:
                self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    cert, key = make_certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert, bodies
    finally:
        server.shutdown()
        server.server_close()


def test_probing_the_one_click_uri(
    tmp_path: Path, mail_dns: ZoneServer, unsubscribe_server: tuple[str, Path, list[bytes]]
) -> None:
    base, cert, bodies = unsubscribe_server
    paths = [
        write(tmp_path, f"{name}.eml", sign(build(unsubscribe=f"<{base}/{name}>")))
        for name in ("ok", "moved", "missing")
    ]
    _, refused = run(mail_dns, paths[0], extra=("--probe",))
    assert refused[0]["checks"]["one_click"]["status"] == "error"
    assert bodies == []  # loopback is refused without --allow-private
    code, results = run(
        mail_dns, *paths, extra=("--probe", "--allow-private", "--probe-ca", str(cert))
    )
    probes = [r["checks"]["one_click"]["probe"] for r in results]
    assert probes == [
        {"status": "pass", "http_status": 200},
        {"status": "fail", "http_status": 302},
        {"status": "fail", "http_status": 404},
    ]
    assert [r["checks"]["one_click"]["status"] for r in results] == ["pass", "fail", "fail"]
    assert bodies == [b"List-Unsubscribe=One-Click"] * 3 and code == 2


def test_results_are_saved_per_message(tmp_path: Path, mail_dns: ZoneServer) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    run(
        mail_dns,
        write(tmp_path, "g.eml", sign(build())),
        write(tmp_path, "b.eml", _case("no_post")),
        extra=("--save", "--db", db),
    )
    engine = make_engine(db)
    with session_factory(engine)() as session:
        rows = list(session.scalars(select(MessageAudit).order_by(MessageAudit.id)))
    engine.dispose()
    assert [(r.status, r.campaign, r.sender, r.checks["one_click"]) for r in rows] == [
        ("pass", "november", "news@sender.example", "pass"),
        ("fail", "november", "news@sender.example", "fail"),
    ]
