"""A loopback HTTPS stand-in of Google's OAuth token endpoint and the Postmaster Tools API v2.

It serves the documented v2 shapes (tests/fixtures/gmail/SOURCES.md):
``domainStats:query`` answers one page per metric group with a
``nextPageToken`` (so clients must page), ``complianceStatus`` the
DomainComplianceStatus shape, and errors the Google JSON error shape.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.servers import make_certificate

REFRESH_TOKEN = "1//rt-secret-refresh-token"
ACCESS_TOKEN = "ya29.access-token"


@dataclass
class Postmaster:
    """What the stand-in answers: per domain its days, compliance, or an HTTP error."""

    days: dict[str, dict[date, dict[str, float]]] = field(default_factory=dict)
    compliance: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    expired: bool = False
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    ca_file: str = ""


def _error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:
        state: Postmaster = self.server.state
        if self.path == "/token":
            self._token(state, {k: v[0] for k, v in parse_qs(self._body().decode()).items()})
            return
        body = json.loads(self._body() or b"{}")
        state.requests.append(("POST", self.path, body))
        if not self._authorised():
            return
        domain = self.path.removeprefix("/v2/domains/").removesuffix("/domainStats:query")
        if domain in state.errors:
            code, status = state.errors[domain]
            self._answer(code, _error(code, status, f"{status} for {domain}"))
            return
        self._stats(state, domain, body)

    def do_GET(self) -> None:
        state: Postmaster = self.server.state
        state.requests.append(("GET", self.path, {}))
        if not self._authorised():
            return
        domain = self.path.removeprefix("/v2/domains/").removesuffix("/complianceStatus")
        if domain in state.errors:
            code, status = state.errors[domain]
            self._answer(code, _error(code, status, f"{status} for {domain}"))
            return
        self._answer(200, state.compliance.get(domain, {"name": self.path[4:]}))

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            self._answer(401, _error(401, "UNAUTHENTICATED", "bad access token"))
            return False
        return True

    def _token(self, state: Postmaster, form: dict[str, str]) -> None:
        scope = "https://www.googleapis.com/auth/postmaster.traffic.readonly"
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") == "good-code":
            self._answer(200, {"access_token": ACCESS_TOKEN, "expires_in": 3599,
                               "refresh_token": REFRESH_TOKEN, "scope": scope,
                               "token_type": "Bearer"})  # fmt: skip
        elif (
            grant == "refresh_token"
            and form.get("refresh_token") == REFRESH_TOKEN
            and not (state.expired)
        ):
            self._answer(200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "scope": scope,
                               "token_type": "Bearer"})  # fmt: skip
        else:
            expired = "Token has been expired or revoked."
            self._answer(400, {"error": "invalid_grant", "error_description": expired})

    def _stats(self, state: Postmaster, domain: str, body: dict[str, Any]) -> None:
        asked = {
            date(d["year"], d["month"], d["day"]) for d in body["timeQuery"]["dateList"]["dates"]
        }
        names = [m["name"] for m in body["metricDefinitions"]]
        rows = [
            {
                "name": f"domains/{domain}/domainStats/{day:%Y%m%d}{name}",
                "metric": name,
                "date": {"year": day.year, "month": day.month, "day": day.day},
                "value": {"doubleValue": metrics[name]},
            }
            for day, metrics in sorted(state.days.get(domain, {}).items())
            if day in asked
            for name in names
            if name in metrics
        ]
        # Pages of 3 rows whatever pageSize says ("the server may return fewer").
        start = int(body.get("pageToken") or 0)
        page: dict[str, Any] = {"domainStats": rows[start : start + 3]}
        if start + 3 < len(rows):
            page["nextPageToken"] = str(start + 3)
        self._answer(200, page)


@contextmanager
def postmaster_server(directory: Path) -> Iterator[Postmaster]:
    """Serve the stand-in over HTTPS on 127.0.0.1; ``ca_file`` is its certificate."""
    cert, key = make_certificate(directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state = Postmaster(url=f"https://127.0.0.1:{server.server_address[1]}", ca_file=str(cert))
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
