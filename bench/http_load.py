"""A lean HTTP/1.1 load generator: keep-alive connections driven by one thread.

The benchmark's clients share the 2 cores with the server they measure, so
what a request costs the client is taken from the server. httpx clients in
threads cost about 450 µs of CPU per request; this loop (raw sockets, one
``selectors`` loop, request heads built once) about 50 µs, as wrk or ab would,
but it sends a different body each time and reads every answer, so the
events the server accepted are known exactly.

Each connection has one request in flight (no pipelining). A request still
unanswered when the time is up is waited for: nothing sent goes uncounted.
"""

from __future__ import annotations

import base64
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# A request body and what it carries: (body, the event ids in it).
Body = tuple[bytes, list[str]]


@dataclass
class Load:
    """What the clients sent and what the server accepted."""

    requests: int = 0
    accepted_events: int = 0
    failed: int = 0
    unique_ids: set[str] = field(default_factory=set)


@dataclass
class _Connection:
    sock: socket.socket
    head: bytes
    number: int = 0
    sent: int = 0
    buffer: bytes = b""
    ids: list[str] = field(default_factory=list)


def _head(url: str, auth: tuple[str, str] | None) -> tuple[tuple[str, int], bytes]:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"{url}: a host and port are needed")
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
    ]
    if auth:
        token = base64.b64encode(":".join(auth).encode()).decode()
        lines.append(f"Authorization: Basic {token}")
    return (parts.hostname, parts.port), ("\r\n".join(lines) + "\r\n").encode()


def _response(buffer: bytes) -> tuple[int, bytes] | None:
    """The status of the complete response at the start of ``buffer`` and what follows
    it; None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].decode("latin-1").split("\r\n")
    length = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise ValueError(f"a response without Content-Length: {head[0]}")
    if len(buffer) < end + 4 + length:
        return None
    return int(head[0].split()[1]), buffer[end + 4 + length :]


def run_load(
    urls: list[str],
    seconds: float,
    connections: int,
    body: Callable[[int, int], Body],
    auth: tuple[str, str] | None = None,
) -> tuple[Load, float]:
    """POST ``body(connection, n)`` on each connection, one after the other, for ``seconds``;
    the load and the time it took (the last answers included). The connections are
    spread over ``urls``; a 2xx answer counts the body's events as accepted."""
    load = Load()
    selector = selectors.DefaultSelector()
    open_connections = []
    for number in range(connections):
        address, head = _head(urls[number % len(urls)], auth)
        sock = socket.create_connection(address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(sock, head, number)
        selector.register(sock, selectors.EVENT_READ, connection)
        open_connections.append(connection)
    started = time.perf_counter()
    deadline = started + seconds

    def send(connection: _Connection) -> None:
        payload, connection.ids = body(connection.number, connection.sent)
        connection.sent += 1
        connection.sock.sendall(
            connection.head + b"Content-Length: %d\r\n\r\n" % len(payload) + payload
        )

    for connection in open_connections:
        send(connection)
    waiting = len(open_connections)
    while waiting:
        ready = selector.select(timeout=60)
        if not ready:
            raise TimeoutError("no answer from the server for 60 s")
        for key, _ in ready:
            connection = key.data
            chunk = connection.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed a connection")
            connection.buffer += chunk
            answered = _response(connection.buffer)
            if answered is None:
                continue
            status, connection.buffer = answered
            load.requests += 1
            if 200 <= status < 300:
                load.accepted_events += len(connection.ids)
                load.unique_ids.update(connection.ids)
            else:
                load.failed += 1
            if time.perf_counter() < deadline:
                send(connection)
            else:
                selector.unregister(connection.sock)
                connection.sock.close()
                waiting -= 1
    return load, time.perf_counter() - started
