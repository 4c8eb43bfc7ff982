"""A stranger's web server on 127.0.0.1, for the hostile tests and the security benchmark.

Each route answers with a status, headers and a body, optionally dripped a
few bytes at a time (headers included) so a client's total deadline can be
tried. Every request is recorded. The server only ever listens on loopback,
its threads are daemons, and a drip is finite: nothing outlives the test.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from local_http import LocalServer


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Callable[[], Iterator[bytes]] = b""
    drip: tuple[int, float] | None = None  # (bytes per write, seconds between writes)
    drip_headers: bool = False  # drip the status line and headers too


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HostileServer(LocalServer):
    """``server.route("/x", status=..., headers=..., body=...)``; ``server.url("/x")``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.dynamic: dict[str, Callable[[Seen], Route]] = {}  # path -> answer for a request
        self.seen: list[Seen] = []
        self.on_request: Callable[[Seen], None] | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                owner.seen.append(seen)
                if owner.on_request is not None:
                    owner.on_request(seen)
                if path in owner.dynamic:
                    route = owner.dynamic[path](seen)
                else:
                    route = owner.routes.get(path) or owner.routes.get("*") or Route(404)
                with contextlib.suppress(OSError):  # the client gave up, as it should
                    owner._write(self, route)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                return

        super().__init__(Handler)

    @property
    def base(self) -> str:
        return self.base_url

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, **kwargs: Any) -> Route:
        self.routes[path] = Route(**kwargs)
        return self.routes[path]

    def answer(self, path: str, respond: Callable[[Seen], Route]) -> None:
        """Answer requests for ``path`` with ``respond(request)``."""
        self.dynamic[path] = respond

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, route: Route) -> None:
        body = route.body
        chunks = body() if callable(body) else iter([body])
        head = f"HTTP/1.1 {route.status} X\r\n"
        headers = {"Connection": "close", **route.headers}
        if not callable(body) and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        out = handler.wfile
        if route.drip and route.drip_headers:
            _drip(out, head.encode("latin-1"), *route.drip)
        else:
            out.write(head.encode("latin-1"))
            out.flush()
        for chunk in chunks:
            if route.drip:
                _drip(out, chunk, *route.drip)
            else:
                out.write(chunk)
        out.flush()
        handler.close_connection = True


def _drip(out: Any, data: bytes, size: int, pause: float) -> None:
    for start in range(0, len(data), size):
        out.write(data[start : start + size])
        out.flush()
        time.sleep(pause)


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer().start()
    try:
        yield server
    finally:
        server.stop()
