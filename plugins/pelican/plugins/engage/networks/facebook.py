"""Facebook Pages through the Graph API over httpx: post a link, read comments, answer them.

Pitfalls. The Graph API has no idempotency key: after a crash the ledger calls
``find_published``, which looks for the post among the Page's recent posts (or
for our comment under its parent). Rate limits arrive as error codes 4, 17, 32,
613 or 80001-80014 in the JSON body, usually with HTTP 400 or 403 rather than
429; the time to wait is in the ``X-Business-Use-Case-Usage``, ``X-Page-Usage``
and ``X-App-Usage`` headers as ``estimated_time_to_regain_access`` in minutes.
The Page access token travels in an ``Authorization: Bearer`` header, never the
``access_token`` parameter, so it cannot leak through a logged URL; the
``paging.next`` links Facebook returns embed the token, so paging uses
``paging.cursors.after`` instead of following them. Comments carry no HTML:
their text is escaped into ``<p>``. A comment the Page hid (``is_hidden``) is
left out together with the replies under it.

Real comment pages can carry rows without ``id`` (the token's user lacks the
MODERATE task on the Page) or without ``from`` (not a Page access token, or no
``pages_read_engagement``) while ``summary.total_count`` still counts them. A
row without an id cannot be threaded or answered, one without ``from`` cannot
be checked against the blocklist: such a read raises :class:`AuthFailed` with
one sentence naming the fix, so nothing stored is deleted or hidden and
``engage sync`` exits 3. The crash-recovery lookup of our own comment does the
same rather than answer "not found" and post twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import (
    AuthFailed,
    ConfigError,
    Duplicate,
    NetworkError,
    NotFound,
    RateLimited,
    Transient,
)
from ..http_client import HttpSession, Limits, int_option, json_or_none, retry_after, text_to_html
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot
from .base import URL_RE, AdapterContext, CodePoints, parse_time, replies_only
from .facebook_notices import FacebookFeed

DEFAULT_MAX_LENGTH = 63206
DEFAULT_RETRY_AFTER = 60.0
WEB = "https://www.facebook.com"

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
BUSINESS_RATE_LIMIT_CODES = range(80000, 80015)
AUTH_CODES = frozenset({102, 104, 190, 10})
PERMISSION_CODES = range(200, 300)

COUNT_FIELDS = (
    "permalink_url,shares,reactions.summary(total_count).limit(0),"
    "comments.filter(stream).summary(total_count).limit(0)"
)
COMMENT_FIELDS = (
    "id,message,from{id,name,picture},created_time,parent{id},permalink_url,"
    "is_hidden,like_count,message_tags"
)
POST_FIELDS = "id,message,permalink_url,created_time,attachments{url,unshimmed_url}"
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")
READ_PERMISSION = "pages_read_engagement"
MAX_GRAPH_MESSAGE = 220  # of Facebook's error text, so the code and fbtrace_id stay in view
MODERATOR = "from a user who has the MODERATE task on the Page"


class FacebookAdapter(CodePoints, FacebookFeed):
    """A Facebook Page: posts on its feed, comments and replies under them."""

    name = "facebook"
    default_base_url = "https://graph.facebook.com/v21.0"

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self.page_id = str(self.options.get("page_id") or "").strip()
        if not self.page_id:
            raise ConfigError(
                "ENGAGE_NETWORKS['facebook']['page_id'] is required: the numeric id of the Page"
            )
        self._max_length = int_option(self.name, self.options, "max_length", DEFAULT_MAX_LENGTH)
        self.max_comment_pages = int_option(self.name, self.options, "max_comment_pages", 20)
        self._session: HttpSession | None = None

    # -- writing --------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        if post.reply_to is not None:
            return self._comment_on(post.reply_to.id, post.text)
        data = {"message": post.text}
        if post.link:
            data["link"] = post.link
        post_id = self._created_id(
            self._http().request("POST", f"{self._path(self.page_id)}/feed", data=data)
        )
        return RemoteRef(self.name, post_id, f"{WEB}/{post_id}")

    def find_published(self, post: OutgoingPost) -> RemoteRef | None:
        """Our post among the Page's latest posts, or our comment under its parent."""
        if post.reply_to is not None:
            return self._find_own_comment(post.reply_to.id, post.text)
        body = self._get(f"{self._path(self.page_id)}/posts", fields=POST_FIELDS, limit="50")
        candidates = [p for p in body.get("data") or [] if isinstance(p, dict)]
        text = post.text.strip()
        for found in candidates:
            if (found.get("message") or "").strip() == text:
                return self._post_ref(found)
        if post.link:
            since = post.created_at - timedelta(minutes=10) if post.created_at else None
            for found in candidates:
                recent = since is None or parse_time(found.get("created_time")) >= since
                if recent and post.link in _linked_urls(found):
                    return self._post_ref(found)
        return None

    def like(self, ref: RemoteRef) -> str:
        """Like the comment ``ref`` as the Page; the Graph API keeps one like per Page."""
        response = self._http().request("POST", f"{self._path(ref.id)}/likes")
        body = self._http().decode(response)
        if not (isinstance(body, dict) and body.get("success")):
            raise Transient(self.name, "the Graph API did not confirm the like")
        return ""

    def _comment_on(self, object_id: str, text: str) -> RemoteRef:
        response = self._http().request(
            "POST", f"{self._path(object_id)}/comments", data={"message": text}
        )
        comment_id = self._created_id(response)
        return RemoteRef(self.name, comment_id, f"{WEB}/{comment_id}", {"parent_id": object_id})

    def _find_own_comment(self, object_id: str, text: str) -> RemoteRef | None:
        body = self._get(
            f"{self._path(object_id)}/comments",
            fields="id,message,from{id},permalink_url",
            filter="toplevel",
            limit="100",
        )
        for found in body.get("data") or []:
            _require_ids_and_authors(self.name, [found])
            mine = str((found.get("from") or {}).get("id")) == self.page_id
            if mine and (found.get("message") or "").strip() == text.strip():
                comment_id = str(found["id"])
                url = found.get("permalink_url") or f"{WEB}/{comment_id}"
                return RemoteRef(self.name, comment_id, url, {"parent_id": object_id})
        return None

    # -- reading --------------------------------------------------------------
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """Counts and every visible comment; always a full read (the Graph API has no "since")."""
        node = self._get(self._path(post.id), fields=COUNT_FIELDS)
        raw, complete = self._comment_stream(post.id)
        comments = list(self._visible(raw, post.id))
        counts = Counts(
            likes=_summary_count(node.get("reactions")),
            reposts=int((node.get("shares") or {}).get("count") or 0),
            replies=len(comments) if complete else _summary_count(node.get("comments")),
        )
        ref = RemoteRef(self.name, post.id, node.get("permalink_url") or post.url, post.extra)
        return ThreadSnapshot(post=ref, counts=counts, comments=comments, complete=complete)

    def fetch_changed(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """The comments alone: the figures came with the posts listing (facebook_notices)."""
        raw, complete = self._comment_stream(post.id)
        return replies_only(post, list(self._visible(raw, post.id)), complete=complete)

    def _comment_stream(self, post_id: str) -> tuple[list[dict[str, Any]], bool]:
        """All comments and replies in chronological order; False when the page bound stopped us."""
        params = {
            "filter": "stream",
            "order": "chronological",
            "fields": COMMENT_FIELDS,
            "summary": "true",
            "limit": "100",
        }
        found: list[dict[str, Any]] = []
        for _ in range(self.max_comment_pages):
            body = self._get(f"{self._path(post_id)}/comments", **params)
            rows = [c for c in body.get("data") or [] if isinstance(c, dict)]
            _require_ids_and_authors(self.name, rows, _summary_count(body))
            found.extend(rows)
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return found, True
            params["after"] = str(after)
        return found, False

    def _visible(self, raw: list[dict[str, Any]], post_id: str) -> Iterator[RemoteComment]:
        """Comments minus hidden ones and whatever hangs under them (parents come first)."""
        dropped: set[str] = set()
        for data in raw:
            comment_id = str(data.get("id") or "")
            parent_id = str((data.get("parent") or {}).get("id") or post_id)
            if not comment_id or data.get("is_hidden") or parent_id in dropped:
                dropped.add(comment_id)
                continue
            yield self._comment(data, comment_id, parent_id)

    def _comment(self, data: dict[str, Any], comment_id: str, parent_id: str) -> RemoteComment:
        who = data.get("from") or {}
        author_id = str(who.get("id") or "")
        own = author_id == self.page_id
        picture = ((who.get("picture") or {}).get("data") or {}).get("url")
        author = Author(
            name=str(who.get("name") or "Facebook user"),
            handle=author_id,
            # People's ids are app-scoped and lead nowhere; only the Page has a public address.
            url=f"{WEB}/{author_id}" if own else "",
            avatar=str(picture) if picture else None,
        )
        url = data.get("permalink_url") or f"{WEB}/{comment_id}"
        return RemoteComment(
            ref=RemoteRef(self.name, comment_id, str(url), {"parent_id": parent_id}),
            parent_id=parent_id,
            author=author,
            html=text_to_html(str(data.get("message") or "")),
            created_at=parse_time(data.get("created_time")),
            is_own=own,
            likes=int(data.get("like_count") or 0),
        )

    # -- plumbing -------------------------------------------------------------
    def _http(self) -> HttpSession:
        if self._session is None:
            (token,) = self.ctx.credential(self.name, "FACEBOOK_PAGE_ACCESS_TOKEN")
            self._session = HttpSession(
                self.name,
                limits=Limits(timeout=self.timeout),
                base_url=self.base_url + "/",
                headers={"Authorization": f"Bearer {token}"},
                error_text=graph_error_text,
                retry_after=usage_retry_after,
                default_retry_after=DEFAULT_RETRY_AFTER,
                classify=self._classify,
                secrets=[token],
            )
            hooks = self._session.client.event_hooks  # count answers, read the usage headers
            self._session.client.event_hooks = {
                **hooks,
                "response": [*hooks.get("response", []), self._on_response],
            }
        return self._session

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        body = self._http().get_json(path, params=params)
        if not isinstance(body, dict):
            raise Transient(self.name, f"GET {path} answered with an unexpected JSON shape")
        return body

    def _created_id(self, response: httpx.Response) -> str:
        body = self._http().decode(response)
        if not isinstance(body, dict) or not body.get("id"):
            raise Transient(self.name, "the Graph API accepted the post but returned no id")
        return str(body["id"])

    def _post_ref(self, found: dict[str, Any]) -> RemoteRef:
        post_id = str(found["id"])
        return RemoteRef(self.name, post_id, str(found.get("permalink_url") or f"{WEB}/{post_id}"))

    @staticmethod
    def _path(object_id: str) -> str:
        return quote(str(object_id), safe="")

    def _classify(self, response: httpx.Response, message: str) -> NetworkError | None:
        return classify_graph_error(self.name, response, message)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def graph_error(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph API error body ({} if there is none)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def graph_error_text(response: httpx.Response) -> str | None:
    error = graph_error(response)
    if not error.get("message"):
        return None
    details = [f"code {error.get('code')}"]
    if error.get("error_subcode"):
        details.append(f"subcode {error['error_subcode']}")
    if error.get("fbtrace_id"):
        details.append(f"fbtrace_id {error['fbtrace_id']}")
    # Messages run long (the recorded permission error has 500 characters): keep the
    # code and the trace id, which the message cap would otherwise cut off.
    message = str(error["message"])
    if len(message) > MAX_GRAPH_MESSAGE:
        message = message[: MAX_GRAPH_MESSAGE - 1].rstrip() + "…"
    return f"{message} ({', '.join(details)})"


def classify_graph_error(
    network: str, response: httpx.Response, message: str
) -> NetworkError | None:
    """Our error from the Graph API's error code, which matters more than the HTTP status."""
    error = graph_error(response)
    try:
        code = int(error.get("code") or "")
    except (TypeError, ValueError):
        return None
    subcode = error.get("error_subcode")
    if code in RATE_LIMIT_CODES or code in BUSINESS_RATE_LIMIT_CODES:
        wait = usage_retry_after(response) or retry_after(response.headers) or DEFAULT_RETRY_AFTER
        return RateLimited(network, message, wait)
    if code in AUTH_CODES or code in PERMISSION_CODES:
        return AuthFailed(network, message)
    if (code == 100 and str(subcode) == "33") or code == 803:
        return NotFound(network, message)
    if code == 506:
        return Duplicate(network, message)
    if code in (1, 2):
        return Transient(network, message)
    return None


def usage_retry_after(response: httpx.Response) -> float | None:
    """Seconds until access returns, from the usage headers (which count minutes)."""
    minutes = [
        m
        for name in USAGE_HEADERS
        for m in _regain_minutes(json_or_none(response.headers.get(name, "")))
    ]
    longest = max(minutes, default=0.0)
    return longest * 60.0 if longest > 0 else None


def _regain_minutes(value: Any) -> Iterator[float]:
    """Every ``estimated_time_to_regain_access`` in a usage header, however nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "estimated_time_to_regain_access":
                try:
                    yield float(item)
                except (TypeError, ValueError):
                    continue
            else:
                yield from _regain_minutes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _regain_minutes(item)


def _require_ids_and_authors(network: str, rows: list[dict[str, Any]], total: int = 0) -> None:
    """AuthFailed naming the fix when comment rows come without ``id`` or ``from``.

    Without an id a comment cannot be threaded or answered; without ``from`` the
    blocklist cannot check it. Either way the read must not count as complete.
    """
    no_id = sum(1 for row in rows if not row.get("id"))
    no_from = sum(1 for row in rows if not isinstance(row.get("from"), dict))
    if not (no_id or no_from):
        return
    lacking = max(no_id, no_from)
    counted = f"{lacking} of {max(total, lacking)} comments" if total else "comments"
    if no_id and no_from:
        what = "their ids and authors"
        fix = f"use a Page access token with the {READ_PERMISSION} permission, {MODERATOR}"
    elif no_id:
        what = "their ids (which threading and answering need)"
        fix = f"the token must come {MODERATOR}"
    else:
        what = "their authors (which the blocklist needs)"
        fix = f"use a Page access token with the {READ_PERMISSION} permission"
    raise AuthFailed(network, f"{counted} came without {what}, so nothing was changed: {fix}")


def _summary_count(edge: Any) -> int:
    if not isinstance(edge, dict):
        return 0
    return int((edge.get("summary") or {}).get("total_count") or 0)


def _linked_urls(post: dict[str, Any]) -> set[str]:
    """The URLs a Page post links to: its attachments (unshimmed) and its message."""
    urls = set()
    for attachment in (post.get("attachments") or {}).get("data") or []:
        for key in ("unshimmed_url", "url"):
            if attachment.get(key):
                urls.add(str(attachment[key]))
    urls.update(URL_RE.findall(post.get("message") or ""))
    return urls
