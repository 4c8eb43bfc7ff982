"""The machinery every local stand-in shares: an HTTP server on 127.0.0.1, a
conversation model, fault injection and a request log (the HTTP types are in ``wire``).

A stand-in subclasses :class:`StandIn`, declares its routes with
:func:`route`, renders :class:`Item` objects into its network's JSON, and says
how its network words a rate limit (:meth:`StandIn.rate_limited`), an error
(:meth:`StandIn.error`) and a check of credentials (:meth:`StandIn.authenticate`,
run before every route marked ``auth=``). Tests drive the conversation with
``add_reply``, ``edit``, ``delete``, ``hide``, ``like`` and ``repost``, inject
faults with ``fail_next`` and ``lose_answers`` and read ``requests`` to check
bodies and headers.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

from .wire import Handler, Request, Response, handler_class, route

# Stand-ins and tests import the HTTP types from here, next to StandIn.
__all__ = [
    "Account",
    "Item",
    "LoopbackServer",
    "Request",
    "Response",
    "StandIn",
    "iso_millis",
    "plain_urls",
    "route",
]

# A URL as a person types it; networks that link more cleverly (Mastodon) have their own rule.
PLAIN_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def plain_urls(text: str) -> Iterator[tuple[int, str]]:
    """``(start, url)`` of each URL in ``text``, trailing sentence punctuation left out."""
    for match in PLAIN_URL.finditer(text):
        yield match.start(), match.group().rstrip(".,:;!?")


def iso_millis(moment: datetime) -> str:
    """``2026-01-01T10:00:00.123Z``: UTC with milliseconds, as most JSON APIs write times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Account:
    key: str  # short name used by tests: "author", "bob"
    handle: str
    name: str
    id: str
    avatar: str | None = None


@dataclass
class Item:
    """A post or a reply, whatever the network calls it."""

    id: str
    author: str  # Account.key
    text: str
    parent_id: str | None = None
    root_id: str | None = None
    html: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    edited_at: datetime | None = None
    deleted: bool = False
    hidden: bool = False  # hidden by the thread's author on the network
    visibility: str = "public"
    liked_by: set[str] = field(default_factory=set)
    reposted_by: set[str] = field(default_factory=set)
    scheduled_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULT_ACCOUNTS = (
    ("author", "Ada Quill"),
    ("bob", "Bob Marsh"),
    ("carol", "Carol Nguyen"),
    ("dave", "Dave Okafor"),
    ("eve", "Eve Adler"),
)


class LoopbackServer:
    """Serves ``handler`` from a daemon thread once started; ``base_url`` names it.

    The stand-ins run on it, and so do the tests' own servers (tests/local_http.py):
    it knows nothing of any network. Port 0 picks a free one.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        thread_name: str | None = None,
    ) -> None:
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        # A short poll interval makes stop() take milliseconds instead of half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self._thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StandIn(LoopbackServer):
    """A stateful local server speaking one network's API."""

    network: ClassVar[str] = ""
    timeout_seconds: ClassVar[float] = 3.0  # how long a "timeout" fault stalls

    def __init__(self, *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency = latency
        # Seconds to hold an answer after the request took effect: the window in which a
        # client that dies has written remotely but not yet recorded it (crash tests).
        self.response_delay = 0.0
        # Permissive mode accepts every duplicate the real service would refuse (X's recent
        # identical text, Facebook's 506, a taken Bluesky record key, a reused Mastodon
        # Idempotency-Key), so in the crash tests only our own recovery prevents a double post.
        self.permissive = False
        self.requests: list[Request] = []
        self.items: dict[str, Item] = {}
        self.accounts: dict[str, Account] = {}
        self.lock = threading.RLock()
        self._faults: list[tuple[str, float]] = []
        self._lost: tuple[int, str | None] = (0, None)  # answers to drop, and on which path
        self._ids = itertools.count(1)
        self._routes = self._collect_routes()
        super().__init__(
            handler_class(self._dispatch_now),
            host=host,
            port=port,
            thread_name=f"standin-{self.network}",
        )
        for key, name in DEFAULT_ACCOUNTS:
            self.add_account(key, name)

    # -- pointing a site at it ---------------------------------------------------
    def network_options(self) -> dict[str, Any]:
        """The ENGAGE_NETWORKS options that point a site at this stand-in."""
        return {"base_url": self.base_url}

    def environment(self) -> dict[str, str]:
        """The credential environment variables this stand-in accepts."""
        return {}

    # -- accounts and ids ---------------------------------------------------------
    def next_id(self) -> str:
        return str(next(self._ids))

    def add_account(self, key: str, name: str) -> Account:
        account = Account(key=key, handle=self.handle_for(key), name=name, id=self.account_id(key))
        self.accounts[key] = account
        return account

    def handle_for(self, key: str) -> str:
        return key

    def account_id(self, key: str) -> str:
        return str(1000 + len(self.accounts))

    def account_by_id(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.id == account_id), None)

    # -- conversation controls (for tests) -------------------------------------------
    def add_post(self, author: str, text: str, parent_id: str | None = None, **kw: Any) -> Item:
        with self.lock:
            parent = self.items.get(parent_id) if parent_id else None
            if parent_id and parent is None:
                raise KeyError(f"no item {parent_id!r} on the {self.network} stand-in")
            item = Item(
                id=kw.pop("id", None) or self.next_id(),
                author=author,
                text=text,
                parent_id=parent_id,
                root_id=(parent.root_id or parent.id) if parent else None,
                **kw,
            )
            self.items[item.id] = item
            return item

    def add_reply(
        self, parent_id: str, author: str = "bob", text: str = "Nice post!", **kw: Any
    ) -> Item:
        """Another account answers ``parent_id`` (a post or a reply)."""
        return self.add_post(author, text, parent_id=parent_id, **kw)

    def edit(self, item_id: str, text: str, html: str | None = None) -> Item:
        with self.lock:
            item = self.items[item_id]
            item.text, item.html, item.edited_at = text, html, datetime.now(UTC)
            return item

    def delete(self, item_id: str) -> None:
        with self.lock:
            self.items[item_id].deleted = True

    def hide(self, item_id: str) -> None:
        with self.lock:
            self.items[item_id].hidden = True

    def like(self, item_id: str, *accounts: str) -> None:
        with self.lock:
            self.items[item_id].liked_by.update(accounts or ("carol",))

    def repost(self, item_id: str, *accounts: str) -> None:
        with self.lock:
            self.items[item_id].reposted_by.update(accounts or ("dave",))

    def live(self, item_id: str) -> Item | None:
        item = self.items.get(item_id)
        return item if item is not None and not item.deleted else None

    def children(self, item_id: str) -> list[Item]:
        return sorted(
            (i for i in self.items.values() if i.parent_id == item_id and not i.deleted),
            key=lambda i: i.created_at,
        )

    def descendants(self, item_id: str) -> Iterator[Item]:
        for child in self.children(item_id):
            yield child
            yield from self.descendants(child.id)

    def posts_by(self, author: str = "author") -> list[Item]:
        """Live items written by ``author``, oldest first (what tests count)."""
        return sorted(
            (i for i in self.items.values() if i.author == author and not i.deleted),
            key=lambda i: (i.created_at, int(i.id) if i.id.isdigit() else 0),
        )

    # -- faults -----------------------------------------------------------------
    def fail_next(self, count: int = 1, kind: str = "429", retry_after: float = 30.0) -> None:
        """Make the next ``count`` API calls fail: ``"timeout"`` or an HTTP status such as
        ``"429"`` (with the network's rate-limit headers), ``"500"``, ``"503"``, ``"410"``."""
        if kind != "timeout" and not (kind.isdigit() and 400 <= int(kind) <= 599):
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self._faults.extend([(kind, retry_after)] * count)

    def lose_answers(self, count: int = 1, path: str | None = None) -> None:
        """Carry out the next ``count`` successful calls (to ``path`` only, if given), then
        stall and drop the answer: the call took effect but the client never hears so."""
        with self.lock:
            self._lost = (self._lost[0] + count, path)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()
            self._lost = (0, None)

    def reset(self) -> None:
        """Forget every post, request and fault, keeping the server and its accounts."""
        with self.lock:
            self.items.clear()
            self.requests.clear()
            self.clear_faults()
            self.latency = 0.0

    def rate_limited(self, retry_after: float) -> Response:
        """The network's own 429 (override: each network words its headers differently)."""
        return Response(
            429, self.error(429, "Too many requests").body, {"Retry-After": str(int(retry_after))}
        )

    def error(self, status: int, message: str) -> Response:
        """The network's own error body (override)."""
        return Response(status, {"error": message})

    def authenticate(self, request: Request, required: bool) -> Response | None:
        """Vet the caller of a route marked ``auth=...`` (override): set ``request.viewer``
        and return None to go on, or return the network's refusal. ``required`` refuses
        anonymous callers too; otherwise only a wrong credential is refused."""
        return None

    @staticmethod
    def reset_epoch(retry_after: float) -> str:
        return str(int(time.time() + retry_after))

    @staticmethod
    def reset_iso(retry_after: float) -> str:
        """A reset moment as ISO 8601 in UTC with microseconds and ``Z`` (Mastodon's style)."""
        moment = datetime.now(UTC) + timedelta(seconds=retry_after)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"

    # -- the request log -----------------------------------------------------------
    def calls(self, method: str | None = None, path_pattern: str | None = None) -> list[Request]:
        """Recorded requests, optionally filtered by method and a path regex."""
        pattern = re.compile(path_pattern) if path_pattern else None
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.search(r.path))
        ]

    # -- dispatch ----------------------------------------------------------------
    def _collect_routes(self) -> list[tuple[str, re.Pattern[str], str, Handler]]:
        found = []
        for name in dir(type(self)):
            func = getattr(type(self), name, None)
            spec = getattr(func, "_route", None)
            if spec:
                found.append((*spec, getattr(self, name)))
        # Longer patterns first, so /statuses/(id)/context wins over /statuses/(id).
        found.sort(key=lambda r: -len(r[1].pattern))
        return found

    def _dispatch_now(self, request: Request) -> Response | None:
        # Looked up per request, so a test may replace ``dispatch`` on a running stand-in.
        return self.dispatch(request)

    def dispatch(self, request: Request) -> Response | None:
        """The response to ``request``, or None to drop the connection (timeout fault)."""
        with self.lock:
            self.requests.append(request)
            fault = self._faults.pop(0) if self._faults else None
        if self.latency:
            time.sleep(self.latency)
        if fault:
            kind, retry_after = fault
            if kind == "timeout":
                time.sleep(self.timeout_seconds)
                return None
            if kind == "429":
                return self.rate_limited(retry_after)
            return self.error(int(kind), "The server had an error while processing your request")
        allowed = []
        for method, pattern, auth, handler in self._routes:
            match = pattern.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            request.params = {k: v for k, v in match.groupdict().items() if v is not None}
            with self.lock:
                refusal = self.authenticate(request, auth == "required") if auth else None
                response = handler(request) if refusal is None else refusal
                lost = self._answer_lost(request, response)
            if self.response_delay:
                time.sleep(self.response_delay)
            if lost:
                time.sleep(self.timeout_seconds)
                return None
            return response
        if allowed:
            return self.error(405, f"method {request.method} not allowed")
        return self.error(404, f"no route for {request.path}")

    def _answer_lost(self, request: Request, response: Response | None) -> bool:
        count, path = self._lost
        if count <= 0 or response is None or response.status >= 400:
            return False
        if path is not None and request.path != path:
            return False
        self._lost = (count - 1, path if count > 1 else None)
        return True
