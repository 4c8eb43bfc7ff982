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
answer means accepted, and a 201/202 ``Location`` is the status URL, kept
only when it is an absolute http(s) URL (``model.web_url``): it ends up as a
link on the page.

Everything on the sending side is a stranger's: the target page, its
``Link`` header, the endpoint and its answer. Private addresses are refused
on every hop and on the address actually connected (``http_client``),
except the hosts of configured base URLs (option ``trusted_hosts``) or with
``allow_private_addresses`` (ENGAGE_ALLOW_PRIVATE_ADDRESSES); at most
``max_redirects`` (default 5) redirects are followed, and only the first
DISCOVERY_BYTES of a page are read. A mention is the author's own
(``is_own``) only when its source page is on the host of the option ``me``
(exact match: ``blog.example.evil`` is not ``blog.example``); what the
h-card claims never counts. All requests go through the one HTTP path.
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup

from ..errors import Transient, Unsupported
from ..http_client import HttpSession, Limits, int_option, stranger_policy, text_to_html, where
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot, web_url
from .base import Adapter, AdapterContext, CodePoints, parse_time
from .notices import Changes, Notice, dump_cursor, load_cursor

log = logging.getLogger(__name__)

PER_PAGE = 100
DISCOVERY_BYTES = 1_000_000  # of a target page: the endpoint is in the head, or near it
JF2_PAGE_BYTES = 5_000_000  # one page of PER_PAGE mentions
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


class WebmentionAdapter(CodePoints, Adapter):
    """Mentions of an article (read from webmention.io) and sending webmentions (``send``)."""

    name = "webmention"
    default_base_url = "https://webmention.io"

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        super().__init__(options, ctx)
        self._max_length = int_option(self.name, self.options, "max_length", NO_LIMIT)
        self.max_pages = int_option(self.name, self.options, "max_pages", 50)
        self.max_redirects = int_option(self.name, self.options, "max_redirects", 5)
        # The author's own site: mentions whose source page is on its host are is_own.
        self.me = str(self.options.get("me") or "")
        self.me_host = _host(self.me)
        self._api: HttpSession | None = None
        self._web: HttpSession | None = None

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
        page = web.request(
            "GET", target, follow_redirects=True, truncate=True, headers={"Accept": ACCEPT_HTML}
        )
        endpoint = discover_endpoint(page)
        if endpoint is None:
            raise Unsupported(self.name, f"no webmention endpoint at {where(target)}")
        answer = web.request(
            "POST",
            endpoint,
            data={"source": source, "target": target},
            follow_redirects=False,
            truncate=True,  # only the status and the Location matter
        )
        location = answer.headers.get("location")
        status_url = (
            web_url(urljoin(endpoint, location))
            if location and answer.status_code in (201, 202)
            else None
        ) or None
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

    # -- notifications ----------------------------------------------------------------
    def changes(self, cursor: str | None, watched: Sequence[RemoteRef]) -> Changes | None:
        """The whole site's new mentions in one request: ``domain`` and ``since_id``.

        The domain is the option ``domain``, else the host of the articles
        watched. Reading a domain needs ``WEBMENTIONIO_TOKEN``; without it there
        is no feed and every article is read on the schedule. The first call
        notes the newest ``wm-id``; later ones page forward (oldest first) from
        the cursor, so a busy spell is read to its end over several runs.
        """
        token = self.ctx.env.get("WEBMENTIONIO_TOKEN")
        domain = str(self.options.get("domain") or "") or _main_host(watched)
        if not self.notifications or not token or not domain:
            return None
        since = _since_id(load_cursor(cursor).get("since"))
        base = {"domain": domain, "token": token, "per-page": str(PER_PAGE)}
        if since is None:
            body = self._api_session().get_json(
                "/api/mentions.jf2", params={**base, "per-page": "1", "sort-dir": "down"}
            )
            newest = [n for n in map(_wm_id, _children(self.name, body)) if n is not None]
            return Changes(dump_cursor(since=str(max(newest, default=0))), baseline=True)
        changes = Changes(None)
        highest = since
        for page in range(self.max_pages):
            params = {**base, "since_id": str(since), "sort-dir": "up", "page": str(page)}
            body = self._api_session().get_json("/api/mentions.jf2", params=params)
            entries = _children(self.name, body)
            for entry in entries:
                target, wm_id = str(entry.get("wm-target") or ""), _wm_id(entry)
                if wm_id is not None:
                    highest = max(highest, wm_id)
                    if target:
                        changes.notices.append(Notice(_property(entry), target))
            if len(entries) < PER_PAGE:
                break
        changes.cursor = dump_cursor(since=str(highest))
        return changes

    def fetch_changed(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """A full read of the article's mentions: one request, and it settles deletions."""
        return self.fetch_thread(post, None)

    def _counts(self, target: str) -> Counts:
        """Totals from the count API, since an incremental read sees only what is new."""
        body = self._api_session().get_json("/api/count.json", params={"target": target})
        types = body.get("type") if isinstance(body, dict) else None
        types = types if isinstance(types, dict) else {}
        return Counts(
            likes=_number(types.get("like")),
            reposts=_number(types.get("repost")),
            replies=_number(types.get("reply")),
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
            try:
                yield self._comment(entry, str(wm_id), parent, kind)
            except (ValueError, TypeError, AttributeError) as exc:  # a stranger's malformed entry
                log.warning("webmention: skipped mention %s that cannot be read: %r", wm_id, exc)

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
            # webmention.io fetched the source page itself; an entry's "url" is a claim.
            is_own=bool(self.me_host) and _host(str(entry.get("wm-source") or "")) == self.me_host,
            kind=kind,
        )

    # -- plumbing -------------------------------------------------------------
    def _api_session(self) -> HttpSession:
        if self._api is None:
            self._api = HttpSession(
                self.name,
                limits=Limits(timeout=self.timeout, max_bytes=JF2_PAGE_BYTES),
                base_url=self.base_url,
                headers={"Accept": "application/json"},
                secrets=[self.ctx.env.get("WEBMENTIONIO_TOKEN", "")],
            )
            hooks = self._api.client.event_hooks  # count the answers
            self._api.client.event_hooks = {
                **hooks,
                "response": [*hooks.get("response", []), lambda _: self._answered()],
            }
        return self._api

    def _web_session(self) -> HttpSession:
        """A client without the token, for other people's sites."""
        if self._web is None:
            limits = Limits(
                timeout=self.timeout, max_redirects=self.max_redirects, max_bytes=DISCOVERY_BYTES
            )
            self._web = HttpSession(self.name, limits=limits, **stranger_policy(self.options))
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


def _children(network: str, body: Any) -> list[dict[str, Any]]:
    children = body.get("children") if isinstance(body, dict) else None
    if not isinstance(children, list):
        raise Transient(network, "webmention.io answered without a list of children")
    return [e for e in children if isinstance(e, dict)]


def _main_host(watched: Sequence[RemoteRef]) -> str:
    """The host most of the watched article URLs are on."""
    hosts = Counter(urlsplit(ref.url or ref.id).hostname or "" for ref in watched)
    hosts.pop("", None)
    return hosts.most_common(1)[0][0] if hosts else ""


def _number(value: Any) -> int:
    """A count as the API gave it, when it is one: 0 for anything else."""
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def _host(url: str) -> str:
    """The lower-case host of ``url`` ("" without one)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


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
