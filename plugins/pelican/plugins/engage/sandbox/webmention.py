"""A local stand-in for webmention.io's read API, plus web pages to send webmentions to.

The read side serves ``/api/mentions.jf2`` and ``/api/count.json`` with
webmention.io's JF2 entry fields (``type``, ``author`` card, ``url``,
``published``, ``wm-received``, ``wm-id``, ``wm-source``, ``wm-target``,
``wm-property``, ``wm-private``, ``content.html``/``content.text`` and the
``in-reply-to``/``like-of``/``repost-of``/``mention-of`` relation), with
``since_id``, ``per-page``, ``page``, ``sort-by`` and ``sort-dir``, and errors
as ``{"error", "error_description"}``. As in webmention.io's recorded answers
(tests/test_conformance_webmention.py) the relation always names the *target
page*, also for a reply to another mention: which mention a reply answers is
only in the source page's own microformats, so ``add_reply`` keeps it as the
item's parent for the stand-in's bookkeeping and never shows it in the JF2.
There is no ``wm-protocol`` key (the recordings have none). A wrong token gets webmention.io's 401
``forbidden`` / "Access token was not valid". Deviation: webmention.io ignores
a token on target queries and never shows private mentions there; this
stand-in checks any token it is given and shows the owner (right token) the
private ones, so tests can see the adapter drop them.

The sending side hosts ``/site/<name>`` pages that advertise an endpoint in
every way the Webmention recommendation allows (see :data:`PAGES`),
``/redirect/<name>`` (302 to the page) and the receiving endpoint
``/webmention/receive``, which records what it gets in :attr:`received` and
answers ``receive_status`` (202 with a ``Location`` by default).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .base import Item, Request, Response, StandIn, route

KINDS = ("in-reply-to", "like-of", "repost-of", "mention-of", "bookmark-of")
COUNT_TYPES = {
    "in-reply-to": "reply",
    "like-of": "like",
    "repost-of": "repost",
    "mention-of": "mention",
    "bookmark-of": "bookmark",
}
ERROR_NAMES = {
    400: "invalid_input",
    401: "forbidden",
    404: "not_found",
    405: "invalid_request",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
E = "/webmention/receive"

# name -> (Link header or None, HTML body or None, content type). "{base}" is the stand-in's URL.
PAGES: dict[str, tuple[str | None, str | None, str]] = {
    "header": (f'<{{base}}{E}?via=header>; rel="webmention"', None, "text/html"),
    "header-relative": (f"<{E}?via=header-relative>; rel=webmention", None, "text/html"),
    "header-second-link": (
        f'<{E}?via=wrong>; rel="other", <{E}?via=header-second>; rel="webmention"',
        None,
        "text/html",
    ),
    "header-wins": (
        f'<{E}?via=header>; rel="webmention"',
        f'<link rel="webmention" href="{E}?via=html">',
        "text/html",
    ),
    "link": (None, f'<link rel="webmention" href="{{base}}{E}?via=link">', "text/html"),
    "a": (None, f'<p>See <a rel="webmention" href="{E}?via=a">here</a>.</p>', "text/html"),
    "a-before-link": (
        None,
        (
            f'<a rel="webmention" href="{E}?via=a-first">a</a>'
            f'<link rel="webmention" href="{E}?via=link-second">'
        ),
        "text/html",
    ),
    "relative": (None, '<link rel="webmention" href="endpoint">', "text/html"),
    "empty": (None, '<link rel="webmention" href="">', "text/html"),
    "rel-list": (None, f'<link rel="nofollow webmention" href="{E}?via=rel-list">', "text/html"),
    "not-webmention": (
        None,
        (
            f'<link rel="not-webmention" href="{E}?via=wrong">'
            f'<a rel="webmention" href="{E}?via=right">r</a>'
        ),
        "text/html",
    ),
    "comment": (
        None,
        (
            f'<!-- <link rel="webmention" href="{E}?via=comment"> -->'
            f'<link rel="webmention" href="{E}?via=real">'
        ),
        "text/html",
    ),
    "query": (None, f'<link rel="webmention" href="{E}?version=1&amp;via=query">', "text/html"),
    "xhtml": (None, f'<link rel="webmention" href="{E}?via=xhtml" />', "application/xhtml+xml"),
    "none": (None, "<p>No endpoint here.</p>", "text/html"),
    "text": (None, f'<link rel="webmention" href="{E}?via=text">', "text/plain"),
}


class WebmentionStandIn(StandIn):
    """webmention.io's read API for one account, and a small web of target pages."""

    network = "webmention"
    token: ClassVar[str] = "wm-standin-token"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: list[dict[str, str]] = []
        self.receive_status = 202

    # -- set-up for `engage sandbox` ----------------------------------------------
    def environment(self) -> dict[str, str]:
        return {"WEBMENTIONIO_TOKEN": self.token}

    def site_url(self, name: str) -> str:
        """The URL of a target page (a key of PAGES)."""
        return f"{self.base_url}/site/{name}"

    # -- conversation controls ---------------------------------------------------------
    def add_mention(
        self,
        target: str,
        kind: str = "in-reply-to",
        author: str = "bob",
        html: str | None = None,
        private: bool = False,
        text: str | None = None,
        reply_to: str | None = None,
        published: str | None = None,
    ) -> Item:
        """Someone's post mentions ``target``; ``reply_to`` (a wm-id) answers another mention
        (on the source page only: the JF2 still names ``target``)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        with self.lock:
            if target not in self.items:
                self.items[target] = Item(
                    id=target, author="author", text="", extra={"article": True}
                )
            if text is None and html is not None:
                text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
            if text is None:
                text = "Nice post!" if kind in ("in-reply-to", "mention-of") else ""
            return self.add_post(
                author,
                text,
                parent_id=reply_to or target,
                html=html,
                visibility="private" if private else "public",
                extra={"kind": kind, "target": target, "published": published},
            )

    def add_reply(
        self, parent_id: str, author: str = "bob", text: str = "Nice post!", **kw: Any
    ) -> Item:
        """A reply to an article URL or to another mention (by wm-id)."""
        parent = self.items.get(parent_id)
        if parent is not None and not parent.extra.get("article"):
            return self.add_mention(
                parent.extra["target"], author=author, text=text, reply_to=parent_id, **kw
            )
        return self.add_mention(parent_id, author=author, text=text, **kw)

    def like(self, item_id: str, *accounts: str) -> None:
        for account in accounts or ("carol",):
            self.add_mention(item_id, "like-of", author=account)

    def repost(self, item_id: str, *accounts: str) -> None:
        for account in accounts or ("dave",):
            self.add_mention(item_id, "repost-of", author=account)

    def mentions(self) -> list[Item]:
        return [i for i in self.items.values() if "kind" in i.extra and not i.deleted]

    # -- errors ----------------------------------------------------------------------
    def error(self, status: int, message: str) -> Response:
        name = ERROR_NAMES.get(status, "error")
        return Response(status, {"error": name, "error_description": message})

    def rate_limited(self, retry_after: float) -> Response:
        response = self.error(429, "Too many requests from your address; try again in a minute")
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    # -- the read API ------------------------------------------------------------------
    @route("GET", r"/api/mentions\.jf2")
    def list_mentions(self, request: Request) -> Response:
        token = request.arg("token") or request.arg("access_token") or request.bearer()
        targets = request.query.get("target", []) + request.query.get("target[]", [])
        if not targets and not token:
            return self.error(400, "Either a token or a target URL is required")
        if token and token != self.token:
            return self.error(401, "Access token was not valid")
        found = [
            m
            for m in self.mentions()
            if (not targets or m.extra["target"] in targets) and (token or m.visibility == "public")
        ]
        domains = request.query.get("domain", [])
        if domains:  # one request for the whole site (webmention.io wants the token then)
            if not token:
                return self.error(401, "A token is required to read a domain's mentions")
            found = [m for m in found if urlsplit(m.extra["target"]).hostname in domains]
        if request.arg("since_id"):
            since = int(request.arg("since_id") or 0)
            found = [m for m in found if int(m.id) > since]
        properties = request.query.get("wm-property", []) + request.query.get("wm-property[]", [])
        if properties:
            found = [m for m in found if m.extra["kind"] in properties]
        sort_by = request.arg("sort-by")
        if sort_by == "published":
            found.sort(key=lambda m: (self._published(m), int(m.id)))
        else:
            found.sort(key=lambda m: int(m.id))
        if request.arg("sort-dir", "down") != "up":
            found.reverse()
        per_page = min(max(0, int(request.arg("per-page") or request.arg("perPage") or 20)), 1000)
        page = max(0, int(request.arg("page") or 0))
        chunk = found[page * per_page : (page + 1) * per_page]
        return Response(
            200,
            {"type": "feed", "name": "Webmentions", "children": [self._entry(m) for m in chunk]},
            {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"},
        )

    @route("GET", r"/api/count(?:\.json)?")
    def count(self, request: Request) -> Response:
        targets = request.query.get("target", []) + request.query.get("target[]", [])
        if not targets:
            return self.error(400, "A target URI is required")
        found = [
            m for m in self.mentions() if m.extra["target"] in targets and m.visibility == "public"
        ]
        types: dict[str, int] = {}
        for mention in found:
            name = COUNT_TYPES[mention.extra["kind"]]
            types[name] = types.get(name, 0) + 1
        return Response(200, {"count": len(found), "type": dict(sorted(types.items()))})

    def _published(self, item: Item) -> str:
        return str(
            item.extra.get("published") or item.created_at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        )

    def _entry(self, item: Item) -> dict[str, Any]:
        account = self.accounts[item.author]
        kind, target = item.extra["kind"], item.extra["target"]
        site = f"https://{account.key}.example"
        source = f"{site}/notes/{item.id}"
        entry: dict[str, Any] = {
            "type": "entry",
            "author": {
                "type": "card",
                "name": account.name,
                "photo": f"https://avatars.webmention.io/{account.key}.example/{account.id}.jpg",
                "url": f"{site}/",
            },
            "url": source,
            "published": self._published(item),
            "wm-received": item.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wm-id": int(item.id),
            "wm-source": source,
            "wm-target": target,
        }
        # Sources with markup give html and text; plain-text notes give text only.
        if item.html:
            entry["content"] = {"html": item.html, "text": item.text}
        elif item.text:
            entry["content"] = {"text": item.text}
        entry[kind] = target  # the target page, even for a reply to another mention
        entry["wm-property"] = kind
        entry["wm-private"] = item.visibility == "private"
        return entry

    # -- pages to send webmentions to --------------------------------------------------
    @route("GET", r"/site/(?P<name>[\w-]+)")
    def site_page(self, request: Request) -> Response:
        spec = PAGES.get(request.params["name"])
        if spec is None:
            return Response(404, "<h1>Not found</h1>", content_type="text/html; charset=utf-8")
        link, body, content_type = spec
        headers = {"Link": link.replace("{base}", self.base_url)} if link else {}
        page = f"<!doctype html><html><head><title>{request.params['name']}</title>"
        page += (body or "").replace(
            "{base}", self.base_url
        ) + "</head><body><p>A page.</p></body></html>"
        return Response(200, page, headers, content_type=f"{content_type}; charset=utf-8")

    @route("GET", r"/redirect/(?P<name>[\w-]+)")
    def redirect(self, request: Request) -> Response:
        name = request.params["name"]
        location = f"/redirect/{name}" if name == "loop" else f"/site/{name}"
        return Response(302, "", {"Location": location}, content_type="text/html")

    @route("POST", r"/site/(?P<name>[\w-]+)")
    def receive_at_page(self, request: Request) -> Response:
        return self.receive(request)

    @route("POST", E)
    def receive(self, request: Request) -> Response:
        form = request.form()
        source, target = form.get("source", ""), form.get("target", "")
        if not source or not target:
            return self.error(400, "source or target were missing")
        self.received.append(
            {
                "source": source,
                "target": target,
                "path": request.path,
                "via": request.arg("via") or "",
            }
        )
        if self.receive_status == 200:
            return Response(200, {"status": "success", "summary": "Webmention was successful"})
        status_url = f"{self.base_url}/webmention/status/{len(self.received)}"
        body = {
            "status": "queued",
            "summary": "Webmention was queued for processing",
            "location": status_url,
            "source": source,
            "target": target,
        }
        return Response(self.receive_status, body, {"Location": status_url})

    @route("GET", r"/webmention/status/(?P<number>\d+)")
    def status(self, request: Request) -> Response:
        number = int(request.params["number"])
        if not 0 < number <= len(self.received):
            return self.error(404, "not_found")
        sent = self.received[number - 1]
        return Response(
            200, {"status": "success", "source": sent["source"], "target": sent["target"]}
        )
