"""Webmentions: read an article's mentions from webmention.io's JF2 API, and send webmentions.

Pitfalls. webmention.io reports a deleted or edited mention only when its
source is re-sent, and an edit keeps the mention's ``wm-id``, so an incremental
read (``since_id``, the highest ``wm-id`` seen, as the cursor) can miss both: it
is marked incomplete, and callers do a full read (no cursor) now and then.
Reads page with ``page``/``per-page`` in receiving order (``sort-dir=up`` and
the default ``created`` sort, which follows ``wm-id``) so a mention arriving
mid-read lands on the last page instead of shifting one out of sight; the
brief's ``sort-by=published`` would allow that. The token travels in the query
string (the only way every webmention.io version accepts it); error messages
never show query strings and httpx's request log is filtered. Private mentions
(``wm-private``) are never shown. With a target, webmention.io answers without
checking a token, so ``WEBMENTIONIO_TOKEN`` is optional for reading.

Threading. webmention.io's JF2 names the *target page* in ``in-reply-to`` for
every mention, replies to other replies included (see the recordings in
tests/recordings/webmention); which comment a reply answers is only in the
source page's own microformats (its ``u-in-reply-to``), and this adapter does
not fetch source pages. So replies are kept flat under the article, never
lost; only an ``in-reply-to`` that names another mention's URL (other JF2
producers) nests a reply under that mention. ``published`` may come without
a time zone (then it is UTC), as ``null`` (Bridgy's likes) or unparsable
(then ``wm-received`` counts).

Sending follows the Webmention recommendation: the endpoint comes from the
first ``Link`` header with ``rel="webmention"``, then the first ``<link>`` or
``<a>`` whose rel contains ``webmention`` in document order, resolved against
the final URL after redirects (an empty href is the target itself); any 2xx
answer means accepted, and a 201/202 ``Location`` is the status URL.
``allow_private`` (default True for now) can refuse loopback and private
addresses on every hop, which a production sender should do against request
forgery. All requests go through the one HTTP path (``http_client``).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup

from ..errors import Transient, Unsupported
from ..http_client import HttpSession, Limits, int_option, text_to_html, where
from .base import (
    Adapter,
    AdapterContext,
    Author,
    Counts,
    OutgoingPost,
    RemoteComment,
    RemoteRef,
    ThreadSnapshot,
    parse_time,
)

log = logging.getLogger(__name__)

PER_PAGE = 100
NO_LIMIT = 1_000_000  # nothing is posted to "the web"; plan should never find a text too long
COMMENT_KINDS = {"in-reply-to": "reply", "mention-of": "mention"}
RELATIONS = ("in-reply-to", "like-of", "repost-of", "bookmark-of", "mention-of")
HTML_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REPLY_HINT = (
    "a webmention cannot be answered here: reply on your own site and send a webmention "
    "to the commenter's post"
)

# One link of a Link header: <url> followed by ;-separated parameters.
LINK_RE = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,=\s]+(?:\s*=\s*(?:"[^"]*"|[^;,]*))?)*)')
PARAM_RE = re.compile(r';\s*([^;,=\s]+)(?:\s*=\s*(?:"([^"]*)"|([^;,]*)))?')


class WebmentionAdapter(Adapter):
    """Mentions of an article (read from webmention.io) and sending webmentions (``send``)."""

    name = "webmention"
    default_base_url = "https://webmention.io"

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self._max_length = int_option(self.name, self.options, "max_length", NO_LIMIT)
        self.max_pages = int_option(self.name, self.options, "max_pages", 50)
        self.max_redirects = int_option(self.name, self.options, "max_redirects", 10)
        self.allow_private = bool(self.options.get("allow_private", True))
        # The author's own site: mentions from there are is_own.
        self.me = str(self.options.get("me") or "")
        self._api: HttpSession | None = None
        self._web: HttpSession | None = None

    # -- text -----------------------------------------------------------------
    def max_length(self) -> int:
        return self._max_length

    def measure(self, text: str) -> int:
        return len(text)

    # -- writing --------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        raise Unsupported(
            self.name,
            "there is nothing to post: a webmention is sent with send(source, target) "
            "when an article links to a page",
        )

    def reply(
        self, to: RemoteRef, text: str, idempotency_key: str, created_at: datetime | None = None
    ) -> RemoteRef:
        raise Unsupported(self.name, REPLY_HINT)

    def send(self, source: str, target: str) -> RemoteRef:
        """Tell ``target``'s webmention endpoint that ``source`` links to it."""
        web = self._web_session()
        page = web.request("GET", target, follow_redirects=True, headers={"Accept": ACCEPT_HTML})
        endpoint = discover_endpoint(page)
        if endpoint is None:
            raise Unsupported(self.name, f"no webmention endpoint at {target}")
        answer = web.request(
            "POST", endpoint, data={"source": source, "target": target}, follow_redirects=False
        )
        location = answer.headers.get("location")
        status_url = (
            urljoin(endpoint, location) if location and answer.status_code in (201, 202) else None
        )
        log.info("webmention: %s accepted a webmention for %s", where(endpoint), where(target))
        extra = {
            "source": source,
            "target": target,
            "endpoint": endpoint,
            "status": str(answer.status_code),
        }
        return RemoteRef(self.name, status_url or target, status_url or target, extra)

    # -- reading --------------------------------------------------------------
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """Mentions of the article ``post.url``; with ``cursor`` only those received since."""
        target = post.url or post.id
        since = _since_id(cursor)
        entries, read_all = self._read(target, since)
        seen = [n for n in (_wm_id(e) for e in entries) if n is not None]
        highest = max(seen, default=since)
        public = [e for e in entries if not e.get("wm-private")]
        comments = list(self._comments(public, post.id))
        counts = _count(public) if since is None else self._counts(target)
        return ThreadSnapshot(
            post=post,
            counts=counts,
            comments=comments,
            complete=read_all and since is None,
            cursor=None if highest is None else str(highest),
        )

    def _read(self, target: str, since: int | None) -> tuple[list[dict[str, Any]], bool]:
        """Every entry page by page; False when ``max_pages`` stopped the read."""
        params = {"target": target, "per-page": str(PER_PAGE), "sort-dir": "up"}
        token = self.ctx.env.get("WEBMENTIONIO_TOKEN")
        if token:
            params["token"] = token
        if since is not None:
            params["since_id"] = str(since)
        entries: list[dict[str, Any]] = []
        for page in range(self.max_pages):
            body = self._api_session().get_json(
                "/api/mentions.jf2", params={**params, "page": str(page)}
            )
            children = body.get("children") if isinstance(body, dict) else None
            if not isinstance(children, list):
                raise Transient(self.name, "webmention.io answered without a list of children")
            entries.extend(e for e in children if isinstance(e, dict))
            if len(children) < PER_PAGE:
                return entries, True
        return entries, False

    def _counts(self, target: str) -> Counts:
        """Totals from the count API, since an incremental read sees only what is new."""
        body = self._api_session().get_json("/api/count.json", params={"target": target})
        types = body.get("type") if isinstance(body, dict) else None
        types = types if isinstance(types, dict) else {}
        return Counts(
            likes=int(types.get("like") or 0),
            reposts=int(types.get("repost") or 0),
            replies=int(types.get("reply") or 0),
        )

    def _comments(self, entries: list[dict[str, Any]], article_id: str) -> Iterator[RemoteComment]:
        by_url: dict[str, str] = {}
        for entry in entries:
            wm_id = _wm_id(entry)
            for key in ("url", "wm-source"):
                if wm_id is not None and entry.get(key):
                    by_url.setdefault(str(entry[key]), str(wm_id))
        for entry in entries:
            kind = COMMENT_KINDS.get(_property(entry))
            wm_id = _wm_id(entry)
            if kind is None or wm_id is None:
                continue
            # webmention.io names the article here; only an in-reply-to naming another
            # mention's URL (other JF2 producers) can nest a reply under that mention.
            answered = [by_url[u] for u in _as_list(entry.get("in-reply-to")) if u in by_url]
            parent = next((p for p in answered if p != str(wm_id)), article_id)
            yield self._comment(entry, str(wm_id), parent, kind)

    def _comment(self, entry: dict[str, Any], wm_id: str, parent: str, kind: str) -> RemoteComment:
        source = str(entry.get("wm-source") or entry.get("url") or "")
        url = str(entry.get("url") or source)
        card = _mapping(entry.get("author"))
        author_url = str(card.get("url") or "")
        author = Author(
            name=str(card.get("name") or urlsplit(author_url or source).netloc or "someone"),
            handle=urlsplit(author_url or source).netloc,
            url=author_url,
            avatar=str(card["photo"]) if card.get("photo") else None,
        )
        return RemoteComment(
            ref=RemoteRef(self.name, wm_id, url, {"source": source}),
            parent_id=parent,
            author=author,
            html=_entry_html(entry, url),
            created_at=_entry_time(entry),
            is_own=bool(self.me) and (author_url or source).startswith(self.me),
            kind=kind,
        )

    # -- plumbing -------------------------------------------------------------
    def _api_session(self) -> HttpSession:
        if self._api is None:
            self._api = HttpSession(
                self.name,
                limits=Limits(timeout=self.timeout),
                base_url=self.base_url,
                headers={"Accept": "application/json"},
                secrets=[self.ctx.env.get("WEBMENTIONIO_TOKEN", "")],
            )
        return self._api

    def _web_session(self) -> HttpSession:
        """A client without the token, for other people's sites."""
        if self._web is None:
            self._web = HttpSession(
                self.name,
                limits=Limits(timeout=self.timeout, max_redirects=self.max_redirects),
                refuse_private=not self.allow_private,
            )
        return self._web

    def close(self) -> None:
        for session in (self._api, self._web):
            if session is not None:
                session.close()
        self._api = self._web = None


def discover_endpoint(page: httpx.Response) -> str | None:
    """The webmention endpoint a fetched page advertises, resolved against its final URL."""
    base = str(page.url)
    for value in page.headers.get_list("link"):
        for url, rels in parse_link_header(value):
            if "webmention" in rels:
                return urljoin(base, url)
    content_type = page.headers.get("content-type", "").lower()
    if not any(t in content_type for t in HTML_TYPES):
        return None
    soup = BeautifulSoup(page.content, "html.parser")
    for element in soup.find_all(["link", "a"]):
        rel: Any = element.get("rel") or []
        rels = rel.split() if isinstance(rel, str) else [str(r) for r in rel]
        href = element.get("href")
        if "webmention" in (r.lower() for r in rels) and isinstance(href, str):
            return urljoin(base, href)
    return None


def parse_link_header(value: str) -> Iterator[tuple[str, list[str]]]:
    """(url, rel values) for each link in one ``Link`` header value."""
    for match in LINK_RE.finditer(value):
        url, params = match.groups()
        rels: list[str] = []
        for name, quoted, bare in PARAM_RE.findall(params):
            if name.lower() == "rel":
                rels = (quoted or bare.strip()).lower().split()
        yield url.strip(), rels


def _since_id(cursor: str | None) -> int | None:
    if cursor is None or not str(cursor).strip().isdigit():
        return None
    return int(cursor)


def _wm_id(entry: dict[str, Any]) -> int | None:
    value = entry.get("wm-id")
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [str(value)] if value else []


def _property(entry: dict[str, Any]) -> str:
    """``wm-property``; for the older entry form without it (webmention.io's documented
    example), the relation the entry carries, else a plain mention: never dropped."""
    if entry.get("wm-property"):
        return str(entry["wm-property"])
    return next((k for k in RELATIONS if entry.get(k)), "mention-of")


def _count(entries: list[dict[str, Any]]) -> Counts:
    properties = [_property(e) for e in entries]
    return Counts(
        likes=properties.count("like-of"),
        reposts=properties.count("repost-of"),
        replies=properties.count("in-reply-to"),
    )


def _entry_html(entry: dict[str, Any], url: str) -> str:
    content = _mapping(entry.get("content"))
    if content.get("html"):
        return str(content["html"])
    if content.get("text"):
        return text_to_html(str(content["text"]))
    if entry.get("name"):
        return text_to_html(str(entry["name"]))
    # A bare mention: show where it is.
    return f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>' if url else ""


def _entry_time(entry: dict[str, Any]) -> datetime:
    for key in ("published", "wm-received"):
        value = entry.get(key)
        if value:
            try:
                return parse_time(str(value))
            except ValueError:
                continue
    return parse_time(None)
