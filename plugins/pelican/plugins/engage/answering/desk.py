"""The answer desk: a small web app on 127.0.0.1 to read and answer what waits (`engage desk`).

The page lists the waiting comments oldest first, each with its thread (the
post's snippet, what it answers, your earlier answers) and an avatar-free
author line, and answers, likes, marks done or hides them through the very
functions the commands use (:func:`.answers.reply`, :func:`.acknowledge.like`
…), so an answer sent twice is posted once. It polls ``/changes`` (a counter
the store bumps on every new, changed or acknowledged comment) and refreshes
the list when `engage sync` brings something new.

Security, since any web page the browser opens could try to reach a local
server and the comments are strangers' text:

* it listens on 127.0.0.1 only, on a random port;
* every request needs this run's secret: in the printed URL (``?key=``) the
  first time, then in an HttpOnly, SameSite=Strict cookie (the key leaves
  the address bar at once);
* the Host header must be the bound address (no DNS rebinding);
* every POST needs the page's CSRF token in a header, a JSON body, an
  ``Origin`` of the desk itself and, when the browser sends one,
  ``Sec-Fetch-Site: same-origin``; no CORS header is ever sent;
* comment bodies are the HTML sanitized when stored (cleaned again here),
  every other value goes through Jinja's autoescape, and a Content-Security-
  Policy lets only the page's own nonce-marked script run.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..backfeed.merge import Threads
from ..backfeed.sanitize import clean_html
from ..errors import EngageError, NetworkError
from ..settings import EngageSettings
from ..store import Store
from . import acknowledge, answers
from .context import ago, context
from .dashboard import duration

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent.parent / "templates" / "engage"
POLL_SECONDS = 3.0
MAX_ITEMS = 200  # the oldest ones; the rest show after these are answered
MAX_BODY = 64 * 1024  # an answer is short: a bigger request is refused unread
LOCK_WAIT = 10.0  # seconds to wait for a running `engage sync` to release the database
ACTIONS = ("reply", "like", "done", "hide")
BASE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
PAGE_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
    "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def _same(given: str | None, expected: str) -> bool:
    return secrets.compare_digest((given or "").encode(), expected.encode())


def _refused(status: int, message: str) -> Response:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


class Desk:
    """One run of the desk: its socket, secrets and app. :meth:`serve` blocks."""

    def __init__(self, settings: EngageSettings, *, host: str = "127.0.0.1", port: int = 0):
        self.settings = settings
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()[:2]
        self.netloc = f"{self.host}:{self.port}"
        self.origin = f"http://{self.netloc}"
        self.secret = secrets.token_urlsafe(24)
        self.csrf = secrets.token_urlsafe(24)
        self.cookie = f"engage_desk_{self.port}"
        self.poll_seconds = POLL_SECONDS
        self._writing = threading.Lock()  # one write at a time: they share the store's lock
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True)
        )
        self.app = Starlette(
            routes=[
                Route("/", self.page, methods=["GET"]),
                Route("/items", self.items, methods=["GET"]),
                Route("/changes", self.changes, methods=["GET"]),
                *(Route(f"/{name}", self.act, methods=["POST"]) for name in ACTIONS),
            ],
            middleware=[Middleware(Guard, desk=self)],
        )

    @property
    def url(self) -> str:
        """The address to open: it carries this run's secret."""
        return f"{self.origin}/?key={self.secret}"

    # -- serving ------------------------------------------------------------------------
    def serve(self) -> None:
        """Serve until interrupted (Ctrl+C) or :meth:`stop`."""
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            proxy_headers=False,
            server_header=False,
            limit_concurrency=64,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._server.run(sockets=[self.sock])

    def start(self) -> Desk:
        """Serve from a thread (tests, embedding); returns once it accepts requests."""
        started = threading.Event()
        self._thread = threading.Thread(target=self.serve, name="engage-desk", daemon=True)
        self._thread.start()
        while not started.wait(0.02):
            if self._server is not None and self._server.started:
                started.set()
            elif not self._thread.is_alive():
                raise EngageError("the answer desk could not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()

    # -- the guard ----------------------------------------------------------------------
    def refusal(self, request: Request) -> Response | None:
        """Why ``request`` must not reach the app, as the response saying so; None if fine."""
        if request.headers.get("host") != self.netloc:
            return _refused(400, f"this desk answers only at {self.origin}")
        first_visit = request.method == "GET" and request.url.path == "/"
        if first_visit and "key" in request.query_params:
            if _same(request.query_params["key"], self.secret):
                return None
            return _refused(403, "that key is not this run's: open the address engage desk printed")
        if not _same(request.cookies.get(self.cookie), self.secret):
            return _refused(403, "open the address `engage desk` printed: it carries the key")
        if request.method != "POST":
            return None
        if request.headers.get("origin") != self.origin:
            return _refused(403, "cross-origin request refused")
        if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
            return _refused(403, "cross-site request refused")
        if not _same(request.headers.get("x-csrf-token"), self.csrf):
            return _refused(403, "missing or wrong CSRF token")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _refused(415, "send JSON")
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return _refused(413, "too long")
        return None

    # -- pages ----------------------------------------------------------------------------
    def _render(self, template: str, **values: Any) -> tuple[str, str]:
        nonce = secrets.token_urlsafe(16)
        return self.env.get_template(template).render(nonce=nonce, **values), nonce

    def _listing(self) -> dict[str, Any]:
        """The waiting comments with their threads, and the change counter (read-only)."""
        store = Store.open_readonly(self.settings.db_path)
        if store is None:
            return {"items": [], "waiting": 0, "counter": 0}
        with store:
            waiting = answers.inbox(store)
            items = [context(store, w.id) for w in waiting[:MAX_ITEMS]]
            counter = store.comments.change_counter()
        return {"items": items, "waiting": len(waiting), "counter": counter}

    def _helpers(self) -> dict[str, Any]:
        return {"comment_html": comment_html, "ago": ago, "duration": duration}

    async def page(self, request: Request) -> Response:
        if "key" in request.query_params:  # first visit: trade the key for a cookie
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                self.cookie, self.secret, httponly=True, samesite="strict", path="/"
            )
            return response
        listing = await run_in_threadpool(self._listing)
        html, nonce = self._render(
            "desk.html",
            csrf=self.csrf,
            poll_ms=int(self.poll_seconds * 1000),
            **listing,
            **self._helpers(),
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP.format(nonce=nonce)})

    async def items(self, request: Request) -> Response:
        listing = await run_in_threadpool(self._listing)
        html, _ = self._render("desk_items.html", **listing, **self._helpers())
        return HTMLResponse(html, headers={"X-Engage-Counter": str(listing["counter"])})

    async def changes(self, request: Request) -> Response:
        counter = await run_in_threadpool(self._counter)
        return JSONResponse({"counter": counter})

    def _counter(self) -> int:
        store = Store.open_readonly(self.settings.db_path)
        if store is None:
            return 0
        with store:
            return store.comments.change_counter()

    # -- actions ----------------------------------------------------------------------------
    async def act(self, request: Request) -> Response:
        action = request.url.path.strip("/")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refused(413, "too long")
        try:
            data = json.loads(body)
        except ValueError:
            return _refused(400, "send a JSON object")
        if not isinstance(data, dict) or not isinstance(data.get("ref"), str | int):
            return _refused(400, 'name the comment: {"ref": 41}')
        try:
            result = await run_in_threadpool(self._act, action, str(data["ref"]), data)
        except NetworkError as exc:
            status = 503 if exc.retryable else 502
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=status)
        except EngageError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=409)
        return JSONResponse({"ok": True, **result})

    def _act(self, action: str, ref: str, data: Mapping[str, Any]) -> dict[str, Any]:
        with self._writing, Store.open(self.settings.db_path, lock_timeout=LOCK_WAIT) as store:
            row = answers.comment_row(store, ref)
            result: dict[str, Any] = {"ref": row.get("ref"), "id": row["id"]}
            if action == "reply":
                result.update(self._reply(store, row, str(data.get("text") or "")))
            elif action == "like":
                result.update(self._like(store, row))
                if data.get("done"):
                    acknowledge.done(store, row["id"])
            elif action == "done":
                result["already"] = acknowledge.done(store, row["id"]).already
            else:
                settings = self.settings
                threads = Threads(store, blocklist=settings.blocklist, site_url=settings.site_url)
                result["hidden"] = threads.hide(row["id"])
            result["counter"] = store.comments.change_counter()
        return result

    def _reply(self, store: Store, row: Mapping[str, Any], text: str) -> dict[str, Any]:
        network = row["network"]
        if network in answers.HOW_TO_ANSWER:
            raise EngageError(answers.HOW_TO_ANSWER[network].format(url=row["url"]))
        with answers.adapter_for(self.settings, store, network) as adapter:
            sent = answers.reply(store, adapter, row["id"], text, author=self.settings.author)
        return {"url": sent.ref.url, "already": sent.already}

    def _like(self, store: Store, row: Mapping[str, Any]) -> dict[str, Any]:
        refusal = acknowledge.like_refusal(row["network"], row["url"])
        if refusal is not None:
            raise EngageError(refusal)
        with answers.adapter_for(self.settings, store, row["network"]) as adapter:
            liked = acknowledge.like(store, adapter, row["id"])
        return {"already": liked.already}


def comment_html(ctx_html: str) -> Markup:
    """A comment body as the blog prints it: the stored sanitized HTML, cleaned once more."""
    return Markup(clean_html(ctx_html))


class Guard:
    """ASGI middleware: refuse what :meth:`Desk.refusal` refuses; add the safety headers."""

    def __init__(self, app: ASGIApp, desk: Desk) -> None:
        self.app = app
        self.desk = desk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        refusal = self.desk.refusal(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _with_headers(send: Send) -> Callable[[Message], Awaitable[None]]:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            extra = [
                (k.lower().encode(), v.encode())
                for k, v in BASE_HEADERS.items()
                if k.lower().encode() not in present
            ]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return sending
