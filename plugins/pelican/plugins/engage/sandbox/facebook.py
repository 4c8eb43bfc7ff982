"""A local stand-in for the Facebook Graph API, as far as a Page's feed and comments go.

It speaks the Graph API's shapes: ``{"id": "PAGEID_N"}`` for a new post,
comment edges with ``data`` and cursor ``paging``, field-expansion summaries
for reactions and comments, ``created_time`` as ``2026-01-01T10:00:00+0000``
and errors as ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``. Throttling is worded as Facebook words it: error code 32 with
HTTP 403 (``rate_limit_status``) and ``X-Business-Use-Case-Usage`` /
``X-App-Usage`` headers carrying ``estimated_time_to_regain_access`` in
minutes. The Page token is accepted as ``Authorization: Bearer`` or as the
``access_token`` parameter, like the real API.

Like the Graph API it answers only the fields asked for (``fields``, nested
``{...}`` selections and ``.as(alias)`` included; ``id`` always on a node
read), or the object's default fields; comment edges add ``summary`` when asked
(``summary=true``) and page with ``paging.cursors``, ``next`` and ``previous``.
Checked against recorded Graph answers (tests/test_conformance_facebook.py).
Real comment rows lack ``id`` when the token's user lacks the MODERATE task on
the Page and ``from`` when the token is not a Page token with
``pages_read_engagement``: set :attr:`moderate_task` / :attr:`read_engagement`
to False to answer like that.
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from .base import Item, Request, Response, route
from .facebook_usage import FacebookUsage

VERSION = r"(?:/v\d+\.\d+)?"
OBJECT = r"/(?P<obj>[0-9A-Za-z_]+)"
# The fields the Graph API answers when none are asked for.
COMMENT_DEFAULT_FIELDS = "created_time,from,message,id"
POST_DEFAULT_FIELDS = "created_time,message,id"
NOT_FOUND = (
    "Unsupported {method} request. Object with ID '{obj}' does not exist, cannot be loaded due "
    "to missing permissions, or does not support this operation. Please read the Graph API "
    "documentation at https://developers.facebook.com/docs/graph-api"
)


class FacebookStandIn(FacebookUsage):
    """The Graph API of one Page (account "author") commented on by bob, carol, dave and eve."""

    network = "facebook"
    api_version: ClassVar[str] = "v21.0"
    page_token: ClassVar[str] = "fb-standin-page-token"
    rate_limit_status: ClassVar[int] = 403

    def __init__(self, **kwargs: Any) -> None:
        self._trace = 0
        super().__init__(**kwargs)
        self.moderate_task = True  # False: comment rows come without "id"
        self.read_engagement = True  # False: comment rows come without "from"

    def reset(self) -> None:
        super().reset()
        self.moderate_task = self.read_engagement = True

    # -- set-up for `engage sandbox` ----------------------------------------------
    def network_options(self) -> dict[str, Any]:
        return {"base_url": f"{self.base_url}/{self.api_version}", "page_id": self.page.id}

    def environment(self) -> dict[str, str]:
        return {"FACEBOOK_PAGE_ACCESS_TOKEN": self.page_token}

    @property
    def page(self) -> Any:
        return self.accounts["author"]

    def account_id(self, key: str) -> str:
        # The Page first, then app-scoped user ids, as long as Facebook's.
        return str(
            (104_000_000_000_000 if key == "author" else 7_100_000_000_000_000) + len(self.accounts)
        )

    # -- conversation -------------------------------------------------------------------
    def add_post(self, author: str, text: str, parent_id: str | None = None, **kw: Any) -> Item:
        """Posts get ``PAGEID_N`` ids and comments ``POSTNUMBER_N``, as on Facebook."""
        if not kw.get("id"):
            number = self.next_id()
            if parent_id is None:
                kw["id"] = f"{self.page.id}_{number}"
            else:
                parent = self.items.get(parent_id)
                root = (parent.root_id or parent.id) if parent else parent_id
                kw["id"] = f"{root.rsplit('_', 1)[-1]}_{number}"
        return super().add_post(author, text, parent_id=parent_id, **kw)

    def thread(self, root_id: str) -> list[Item]:
        """Every live comment under ``root_id`` at any depth, oldest first (filter=stream)."""
        below = {i.id for i in self.descendants(root_id)}
        return [i for i in self.items.values() if i.id in below]

    # -- errors ----------------------------------------------------------------------
    def graph_error(
        self,
        status: int,
        code: int,
        message: str,
        kind: str = "OAuthException",
        subcode: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        self._trace += 1
        error: dict[str, Any] = {"message": message, "type": kind, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        error["fbtrace_id"] = f"AStandIn{self._trace:06d}"
        return Response(status, {"error": error}, headers or {})

    def error(self, status: int, message: str) -> Response:
        if status >= 500:
            code, text = (
                (1, "An unknown error has occurred.")
                if status == 500
                else (
                    2,
                    "An unexpected error has occurred. Please retry your request later.",
                )
            )
            return self.graph_error(status, code, text)
        if status == 404:
            return self.graph_error(
                404, 803, f"(#803) Some of the aliases you requested do not exist: {message}"
            )
        return self.graph_error(status, 100, f"(#100) {message}", "GraphMethodException")

    def rate_limited(self, retry_after: float) -> Response:
        minutes = math.ceil(retry_after / 60)
        usage = {
            self.page.id: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 14,
                    "total_time": 21,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
        }
        headers = {
            "X-Business-Use-Case-Usage": json.dumps(usage),
            "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 9, "total_time": 12}),
        }
        return self.graph_error(
            self.rate_limit_status, 32, "(#32) Page request limit reached", headers=headers
        )

    def _not_found(self, method: str, obj: str) -> Response:
        return self.graph_error(
            400, 100, NOT_FOUND.format(method=method.lower(), obj=obj), "GraphMethodException", 33
        )

    def authenticate(self, request: Request, required: bool) -> Response | None:
        """The Page token, as a bearer header or an ``access_token`` parameter."""
        token = (
            request.bearer() or request.arg("access_token") or request.form().get("access_token")
        )
        if not token:
            return self.graph_error(
                400, 104, "An access token is required to request this resource."
            )
        if token != self.page_token:
            challenge = 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"'
            return self.graph_error(
                400,
                190,
                "Invalid OAuth access token - Cannot parse access token",
                headers={"WWW-Authenticate": challenge},
            )
        request.viewer = "author"
        return None

    # -- routes ----------------------------------------------------------------------
    @route("POST", VERSION + OBJECT + r"/feed", auth="required")
    def create_post(self, request: Request) -> Response:
        if request.params["obj"] != self.page.id:
            return self._not_found("post", request.params["obj"])
        form = request.form()
        message, link = form.get("message", ""), form.get("link")
        if not message and not link:
            return self.graph_error(
                400, 100, "(#100) Missing message or attachment", "OAuthException"
            )
        latest = next(reversed([p for p in self.posts_by("author") if p.parent_id is None]), None)
        same = latest is not None and latest.text == message and latest.extra.get("link") == link
        if same and not self.permissive:  # only an identical *consecutive* post is refused
            return self.graph_error(400, 506, "(#506) Duplicate status message")
        item = self.add_post("author", message, extra={"link": link} if link else {})
        return Response(200, {"id": item.id})

    @route("POST", VERSION + OBJECT + r"/comments", auth="required")
    def create_comment(self, request: Request) -> Response:
        parent = self.live(request.params["obj"])
        if parent is None:
            return self._not_found("post", request.params["obj"])
        form = request.form()
        message = form.get("message", "")
        if not message:
            return self.graph_error(400, 100, "(#100) Missing message or attachment")
        item = self.add_reply(parent.id, "author", message)
        fields = request.arg("fields") or form.get("fields")
        return Response(200, select(self._comment(item), fields) if fields else {"id": item.id})

    @route("POST", VERSION + OBJECT + r"/likes", auth="required")
    def like_object(self, request: Request) -> Response:
        """The Page likes a post or comment; a Page likes a thing once, however often asked."""
        item = self.live(request.params["obj"])
        if item is None:
            return self._not_found("post", request.params["obj"])
        item.liked_by.add("author")
        return Response(200, {"success": True})

    @route("GET", VERSION + OBJECT + r"/comments", auth="required")
    def list_comments(self, request: Request) -> Response:
        obj = self.live(request.params["obj"])
        if obj is None:
            return self._not_found("get", request.params["obj"])
        stream = request.arg("filter") == "stream"
        items = self.thread(obj.id) if stream else self.children(obj.id)
        order = request.arg("order") or "chronological"
        if order == "reverse_chronological":
            items.reverse()
        fields = request.arg("fields") or COMMENT_DEFAULT_FIELDS
        summary = None
        if (request.arg("summary") or "").lower() in ("1", "true"):
            summary = {"order": order, "total_count": len(items), "can_comment": True}
        rows = [select(self._comment(i), fields) for i in items]
        return self._page_of(request, rows, summary)

    @route("GET", VERSION + OBJECT + r"/(?:posts|feed|published_posts)", auth="required")
    def page_posts(self, request: Request) -> Response:
        if request.params["obj"] != self.page.id:
            return self._not_found("get", request.params["obj"])
        posts = [p for p in reversed(self.posts_by("author")) if p.parent_id is None]
        fields = request.arg("fields") or POST_DEFAULT_FIELDS
        # Render only the page asked for: a Page may have thousands of posts (benchmarks).
        limit = max(1, min(int(request.arg("limit") or 25), 100))
        start = _decode_cursor(request.arg("after")) + 1 if request.arg("after") else 0
        rows = [
            select(self._post(p, fields), fields) if start <= i < start + limit else {}
            for i, p in enumerate(posts)
        ]
        return self._page_of(request, rows)

    @route("GET", VERSION + OBJECT, auth="required")
    def node(self, request: Request) -> Response:
        item = self.live(request.params["obj"])
        if item is None:
            return self._not_found("get", request.params["obj"])
        fields = request.arg("fields")
        if item.parent_id is None:
            data = self._post(item, fields or "")
            default = POST_DEFAULT_FIELDS
        else:
            data, default = self._comment(item), COMMENT_DEFAULT_FIELDS
        return Response(200, {**select(data, fields or default), "id": item.id})

    # -- rendering ---------------------------------------------------------------------
    def _page_of(
        self, request: Request, rows: list[dict[str, Any]], summary: dict[str, Any] | None = None
    ) -> Response:
        """Cursor paging: ``after`` is an opaque cursor, ``next``/``previous`` full URLs
        (token and all), then the edge's ``summary`` when one was asked for."""
        limit = max(1, min(int(request.arg("limit") or 25), 100))
        start = _decode_cursor(request.arg("after")) + 1 if request.arg("after") else 0
        chunk = rows[start : start + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            last = start + len(chunk) - 1
            paging: dict[str, Any] = {
                "cursors": {"before": _encode_cursor(start), "after": _encode_cursor(last)}
            }
            query = {k: v[-1] for k, v in request.query.items() if k not in ("after", "before")}
            if last + 1 < len(rows):
                after = urlencode({**query, "after": _encode_cursor(last)})
                paging["next"] = f"{self.base_url}{request.path}?{after}"
            if start > 0:
                before = urlencode({**query, "before": _encode_cursor(start)})
                paging["previous"] = f"{self.base_url}{request.path}?{before}"
            body["paging"] = paging
        if summary is not None:
            body["summary"] = summary
        return Response(200, body)

    def _post(self, item: Item, fields: str) -> dict[str, Any]:
        stream = "comments.filter(stream)" in fields
        comments = self.thread(item.id) if stream else self.children(item.id)
        updated = max([item.created_at, *(c.created_at for c in self.thread(item.id))])
        data: dict[str, Any] = {
            "id": item.id,
            "message": item.text,
            "created_time": _fb_time(item.created_at),
            "updated_time": _fb_time(updated),
            "permalink_url": f"https://www.facebook.com/{self.page.id}/posts/{_local(item.id)}",
            "reactions": {
                "data": [],
                "summary": {"total_count": len(item.liked_by), "viewer_reaction": "NONE"},
            },
            "comments": {
                "data": [],
                "summary": {
                    "order": "chronological",
                    "total_count": len(comments),
                    "can_comment": True,
                },
            },
        }
        if item.reposted_by:
            data["shares"] = {"count": len(item.reposted_by)}
        link = item.extra.get("link")
        if link:
            data["attachments"] = {
                "data": [
                    {
                        "type": "share",
                        "url": "https://l.facebook.com/l.php?u=" + quote(link, safe=""),
                        "unshimmed_url": link,
                    }
                ]
            }
        return data

    def _comment(self, item: Item) -> dict[str, Any]:
        account = self.accounts[item.author]
        root = item.root_id or item.id
        # A reply's permalink names its top-level comment and itself, as Facebook's do.
        top = item
        while top.parent_id and top.parent_id != root and top.parent_id in self.items:
            top = self.items[top.parent_id]
        link = f"?comment_id={_local(top.id)}"
        if top is not item:
            link += f"&reply_comment_id={_local(item.id)}"
        data: dict[str, Any] = {
            "id": item.id,
            "message": item.text,
            "created_time": _fb_time(item.created_at),
            "from": {
                "id": account.id,
                "name": account.name,
                "picture": {
                    "data": {
                        "height": 50,
                        "width": 50,
                        "is_silhouette": False,
                        "url": f"https://scontent.example/{account.id}.jpg",
                    }
                },
            },
            "permalink_url": f"https://www.facebook.com/{self.page.id}/posts/{_local(root)}{link}",
            "is_hidden": item.hidden,
            "like_count": len(item.liked_by),
            "comment_count": len(self.children(item.id)),
            "message_tags": [],
        }
        parent = self.items.get(item.parent_id or "")
        if parent is not None and parent.parent_id is not None:
            data["parent"] = {
                "id": parent.id,
                "message": parent.text,
                "created_time": _fb_time(parent.created_at),
            }
        # What a token without the Page task / permission is not told.
        if not self.moderate_task:
            data.pop("id")
            data.pop("parent", None)
        if not self.read_engagement:
            data.pop("from")
        return data


def parse_fields(spec: str) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """``a,b{c,d},e.summary(true).limit(0),e.type(LIKE).as(f)`` -> answer key -> (field, nested).

    Modifiers such as ``.summary()`` and ``.limit()`` are left to the route; ``.as(x)``
    renames the key.
    """
    parts, depth, current = [], 0, ""
    for char in spec:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        current += char
    parts.append(current)
    fields: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for part in (p.strip() for p in parts):
        if not part:
            continue
        name = re.split(r"[.{]", part, maxsplit=1)[0]
        alias = re.search(r"\.as\(([^)]*)\)", part.split("{", 1)[0] + part.rsplit("}", 1)[-1])
        nested = None
        if "{" in part:
            inner = part[part.index("{") + 1 : part.rindex("}")]
            nested = parse_fields(inner)
        fields[alias.group(1) if alias else name] = (name, nested)
    return fields


def select(data: dict[str, Any], spec: str | dict[str, Any] | None) -> dict[str, Any]:
    """Only the fields asked for, in the order asked; nested selections apply to each row."""
    if not spec:
        return data
    fields = parse_fields(spec) if isinstance(spec, str) else spec
    chosen: dict[str, Any] = {}
    for key, (name, nested) in fields.items():
        if name not in data:
            continue
        value = data[name]
        if nested and isinstance(value, dict):
            rows = value.get("data")
            if isinstance(rows, list):
                value = {**value, "data": [select(r, nested) for r in rows]}
            else:
                value = select(value, nested)
        chosen[key] = value
    return chosen


def _fb_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _local(object_id: str) -> str:
    return object_id.rsplit("_", 1)[-1]


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"index:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    try:
        padded = (cursor or "") + "=" * (-len(cursor or "") % 4)
        return int(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return -1
