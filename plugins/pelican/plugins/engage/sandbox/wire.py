"""The HTTP side of the stand-ins: request and response types, routes, the request handler."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    viewer: str | None = None  # the account key StandIn.authenticate found (None: anonymous)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """The body as a form (urlencoded), falling back to JSON objects."""
        ctype = self.headers.get("content-type", "")
        if "json" in ctype:
            data = self.json() or {}
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
        if "multipart/form-data" in ctype:
            return parse_multipart(self.body, ctype)
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def caller(self) -> str:
        """The authenticated account key, on a route with ``auth="required"``."""
        if self.viewer is None:
            raise LookupError("no authenticated caller: the route lacks auth='required'")
        return self.viewer

    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer`` header, or None."""
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else None


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, or bytes/str for raw bodies
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


Handler = Callable[[Request], Response | None]
H = TypeVar("H", bound=Callable[..., Any])


def route(method: str, pattern: str, auth: str = "") -> Callable[[H], H]:
    """Mark a method as the handler of ``method`` on paths matching ``pattern``.

    ``pattern`` is a regex matched against the whole path; named groups become
    ``request.params``. With ``auth="optional"`` or ``"required"`` the stand-in's
    :meth:`StandIn.authenticate` vets the caller first and its refusal is the answer.
    """
    if auth not in ("", "optional", "required"):
        raise ValueError(f"unknown auth {auth!r}")

    def mark(func: H) -> H:
        func._route = (method.upper(), re.compile(pattern + r"\Z"), auth)  # type: ignore[attr-defined]
        return func

    return mark


def handler_class(dispatch: Handler) -> type[BaseHTTPRequestHandler]:
    """A request handler that feeds every request to ``dispatch`` (None: drop the connection)."""

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this every keep-alive response waits ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = dispatch(request)
            except Exception as exc:  # noqa: BLE001 - a stand-in bug must show, not hang the client
                response = Response(500, {"error": f"stand-in crashed: {exc!r}"})
            if response is None:
                self.close_connection = True
                return
            payload = response.encoded()
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return  # the stand-in keeps its own request log

    return _Handler


def parse_multipart(body: bytes, content_type: str) -> dict[str, str]:
    """Text fields of a multipart/form-data body (Mastodon.py posts statuses this way)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                fields[str(name)] = payload.decode("utf-8", "replace")
    return fields
