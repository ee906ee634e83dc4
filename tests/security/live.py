"""A real Postwarden server on loopback (waitress, as ``postwarden serve`` runs it, without
the schedule) and a client that browses it like a person: cookies, forms, CSRF tokens."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from sqlalchemy import Engine

from monitor.settings import Settings, WebSettings
from tests.dashboard_data import PASSWORD
from web.serving import serve_until_stopped


@dataclass
class LiveServer:
    url: str
    settings: Settings
    browsers: list[Browser] = field(default_factory=list)

    def browser(self, address: str = "127.0.0.1") -> Browser:
        """A client connecting from ``address`` (any of 127.0.0.0/8); closed with the server."""
        transport = httpx.HTTPTransport(local_address=address)
        browser = Browser(httpx.Client(base_url=self.url, transport=transport, timeout=10))
        self.browsers.append(browser)
        return browser


@contextmanager
def serving(engine: Engine, settings: Settings | None = None) -> Iterator[LiveServer]:
    """Serve the app on a free loopback port until the block ends."""
    settings = settings or Settings(database_url=str(engine.url))
    if settings.web == WebSettings():
        # Plain http on loopback: cookies must not be Secure for the client to send them.
        settings = replace(settings, web=WebSettings(secret_key="live", secure_cookies=False))
    stop = threading.Event()
    bound: list[int] = []
    ready = threading.Event()

    def announce(port: int) -> None:
        bound.append(port)
        ready.set()

    thread = threading.Thread(
        target=serve_until_stopped,
        args=(settings, engine, "127.0.0.1", 0, stop),
        kwargs={"scheduler": False, "ready": announce},
        daemon=True,
    )
    thread.start()
    assert ready.wait(30), "the server did not start"
    live = LiveServer(f"http://127.0.0.1:{bound[0]}", settings)
    try:
        yield live
    finally:
        for browser in live.browsers:
            browser.close()
        stop.set()
        thread.join(30)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Browser:
    """An HTTP client with a cookie jar, and helpers for the forms."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def submit(self, form_page: str, path: str, data: dict[str, str]) -> httpx.Response:
        """POST ``data`` to ``path`` with the CSRF token of ``form_page``."""
        token = csrf_of(self.get(form_page).text)
        return self.post(path, data={**data, "csrf_token": token})

    def log_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.submit("/login", "/login", {"username": username, "password": password})

    def session_cookie(self) -> str:
        return str(self.client.cookies.get("session"))

    def close(self) -> None:
        self.client.close()
