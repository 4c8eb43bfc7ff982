"""Replay recorded answers (``tests/recordings/``) on 127.0.0.1, and compare JSON shapes.

:class:`ReplayServer` is a tiny stdlib HTTP server (tests/local_http.py): each
route maps a method and a path pattern (optionally a query condition) to
recorded ``(status, headers, body)`` answers, served in order (the last one
repeats). It records every request, so a test can check what the adapter asked
for. It knows nothing of any network: it serves what the recordings say and
nothing else.

:func:`shape_of` and :func:`mismatches` compare the *shape* of a JSON value
with recorded samples: key names, nesting and value types, never values. A
stand-in passes when it uses no key the recordings never show, gives every
key the recordings always show, and gives each key a recorded type (a key
recorded only as ``null`` accepts any type).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_http import LocalServer
from recordings_data import load

Answer = tuple[int, dict[str, str], Any]  # (status, headers, body: JSON value or str)


def recorded(network: str, name: str, **changes: Any) -> Answer:
    """One recording as an answer; ``changes`` replace the status or the headers."""
    status, headers, body = load(network, name)
    return changes.get("status", status), {**headers, **changes.get("headers", {})}, body


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    answers: list[Answer]
    when: Callable[[Seen], bool] | None = None
    served: int = 0

    def next_answer(self) -> Answer:
        answer = self.answers[min(self.served, len(self.answers) - 1)]
        self.served += 1
        return answer


@dataclass
class ReplayServer(LocalServer):
    """Serves recorded answers for the routes a test maps; 404 ``{}`` for anything else."""

    routes: list[Route] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    def add(
        self,
        method: str,
        path: str,
        *answers: Answer,
        when: Callable[[Seen], bool] | None = None,
    ) -> Route:
        """Answer ``method`` on paths matching the regex ``path`` (whole path) in turn."""
        route = Route(method.upper(), re.compile(path + r"\Z"), list(answers), when)
        # Later, more specific mappings win over earlier ones.
        self.routes.insert(0, route)
        return route

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        pattern = re.compile(path + r"\Z") if path else None
        return [
            s
            for s in list(self.seen)
            if (method is None or s.method == method.upper())
            and (pattern is None or pattern.match(s.path))
        ]

    def answer(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
            for route in self.routes:
                matches = route.method == seen.method and route.pattern.match(seen.path)
                if matches and (route.when is None or route.when(seen)):
                    return route.next_answer()
        return 404, {}, {"replay": f"no recording mapped for {seen.method} {seen.path}"}


def _handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            status, headers, body = server.answer(seen)
            if isinstance(body, str):
                payload, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
            else:
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
                content_type = "application/json; charset=UTF-8"
            sent = {k.lower() for k in headers}
            # A recorded Date (and Server) is replayed as it was: the clock the client
            # reads rate-limit resets against; only missing ones are added.
            self.log_request(status)
            self.send_response_only(status)
            if "server" not in sent:
                self.send_header("Server", self.version_string())
            if "date" not in sent:
                self.send_header("Date", self.date_time_string())
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            if "content-type" not in sent:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# -- shapes ----------------------------------------------------------------------------------


@dataclass
class Shape:
    """What recorded samples of one JSON position have in common."""

    types: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    required: set[str] | None = None  # keys present in every recorded object here
    items: Shape | None = None

    def add(self, value: Any) -> None:
        self.types.add(_kind(value))
        if isinstance(value, dict):
            present = set(value)
            self.required = present if self.required is None else self.required & present
            for key, item in value.items():
                self.keys.setdefault(key, Shape()).add(item)
        elif isinstance(value, list):
            for item in value:
                if self.items is None:
                    self.items = Shape()
                self.items.add(item)


def shape_of(*samples: Any) -> Shape:
    """The merged shape of recorded samples (e.g. every entry of a recorded list)."""
    shape = Shape()
    for sample in samples:
        shape.add(sample)
    return shape


def mismatches(
    value: Any,
    shape: Shape,
    path: str = "$",
    *,
    ignore: Mapping[str, set[str]] | None = None,
    optional: Mapping[str, set[str]] | None = None,
) -> list[str]:
    """Where ``value`` departs from ``shape``: one line per extra or missing key or wrong type.

    ``ignore`` maps a path to key names not compared there (say why at the call site);
    ``optional`` maps a path to key names that may be missing there but are compared
    when present (e.g. what a lexicon marks optional and one recording happens to have).
    """
    skip = (ignore or {}).get(path, set())
    may_lack = (optional or {}).get(path, set())
    kind = _kind(value)
    if shape.types and shape.types != {"null"} and kind not in shape.types:
        return [f"{path}: {kind} where the recording has {'/'.join(sorted(shape.types))}"]
    found: list[str] = []
    if isinstance(value, dict) and "object" in shape.types:
        for key in sorted(set(value) - set(shape.keys) - skip):
            found.append(f"{path}.{key}: not in the recording")
        for key in sorted((shape.required or set()) - set(value) - skip - may_lack):
            found.append(f"{path}.{key}: missing (the recording always has it)")
        for key in sorted(set(value) & set(shape.keys) - skip):
            found.extend(
                mismatches(
                    value[key], shape.keys[key], f"{path}.{key}", ignore=ignore, optional=optional
                )
            )
    elif isinstance(value, list) and shape.items is not None:
        for index, item in enumerate(value):
            found.extend(
                mismatches(item, shape.items, f"{path}[]", ignore=ignore, optional=optional)
            )
            if index >= 20:
                break
    return sorted(set(found))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
