"""A local stand-in for a site that publishes comment feeds in RSS 2.0 and Atom.

Each feed is named (``add_comment("my-post", ...)``) and served from the same
comments as ``/rss/<name>`` and ``/atom/<name>``. ``/bozo/<name>`` serves the
RSS with an undefined entity (feedparser flags it but still reads the entries)
``/broken/<name>`` a truncated document with no entries, ``/moved/<name>``
redirects to the Atom feed and ``/html/<name>`` is a web page, not a feed. Like most comment
feeds it is public: no credentials. RSS authors are written as
``email (Name)`` with a short top-level domain, because feedparser's e-mail
pattern accepts only two to four letters there.
"""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .base import Item, Request, Response, StandIn, route

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"


def _opening(name: str, attrs: dict[str, str]) -> str:
    return name + "".join(f" {key}={quoteattr(value)}" for key, value in attrs.items())


def _tag(name: str, text: str | None = None, /, **attrs: str) -> str:
    """``<name attr="...">text</name>`` with text and attributes escaped; no text: ``<name/>``."""
    opening = _opening(name, attrs)
    return f"<{opening}/>" if text is None else f"<{opening}>{escape(text)}</{name}>"


def _nest(name: str, *children: str | None, **attrs: str) -> str:
    """``<name attr="...">`` around the children (markup already) that are there."""
    return (
        f"<{_opening(name, attrs)}>" + "".join(child for child in children if child) + f"</{name}>"
    )


class FeedStandIn(StandIn):
    """Comment feeds generated from the stand-in's items."""

    network = "feed"

    # -- set-up for `engage sandbox` ----------------------------------------------
    def feed_url(self, name: str, kind: str = "rss") -> str:
        """Where a feed is served: kind is "rss", "atom", "bozo" or "broken"."""
        return f"{self.base_url}/{kind}/{name}"

    # -- conversation controls -----------------------------------------------------------
    def add_comment(
        self,
        feed_name: str,
        author: str = "bob",
        text: str = "Nice post!",
        html: str | None = None,
        *,
        guid: bool = True,
        link: bool = True,
        published: datetime | None = None,
    ) -> Item:
        """A comment on the feed ``feed_name``; its Item.id is the id a reader should report.

        Without ``guid`` a reader falls back to the link; without either, to a hash.
        """
        with self.lock:
            root = self._feed(feed_name, create=True)
            number = self.next_id()
            permalink = f"{self.base_url}/comments/{number}"
            item_id = f"tag:standin.example,2026:comment-{number}" if guid else permalink
            if not guid and not link:
                item_id = f"unidentified-{number}"
            extra = {"guid": guid, "link": permalink if link else None}
            kw: dict[str, Any] = {"id": item_id, "html": html, "extra": extra}
            if published is not None:
                kw["created_at"] = published
            return self.add_post(author, text, parent_id=root.id, **kw)

    def add_reply(
        self, parent_id: str, author: str = "bob", text: str = "Nice post!", **kw: Any
    ) -> Item:
        """Comment feeds are flat: a reply to anything lands in that thing's feed."""
        parent = self.items[parent_id]
        feed_name = (parent.root_id or parent.id).removeprefix("feed:")
        return self.add_comment(feed_name, author, text, **kw)

    def _feed(self, name: str, create: bool = False) -> Item:
        key = f"feed:{name}"
        if key not in self.items and create:
            self.items[key] = Item(id=key, author="author", text=f"Comments on {name}")
        return self.items[key]

    def comments(self, name: str) -> list[Item]:
        return [i for i in self.children(f"feed:{name}") if not i.hidden]

    # -- errors ----------------------------------------------------------------------
    def error(self, status: int, message: str) -> Response:
        return Response(status, f"{status} {message}\n", content_type="text/plain; charset=utf-8")

    # -- routes ----------------------------------------------------------------------
    @route("GET", r"/(?P<kind>rss|atom)/(?P<name>[\w-]+)")
    def feed(self, request: Request) -> Response:
        """The feed in RSS 2.0 (``/rss/<name>``) or Atom (``/atom/<name>``)."""
        name = request.params["name"]
        if f"feed:{name}" not in self.items:
            return self.error(404, "Not Found")
        if request.params["kind"] == "rss":
            return self._conditional(request, self._rss(name), RSS_TYPE)
        return self._conditional(request, self._atom(name), ATOM_TYPE)

    def _conditional(self, request: Request, body: str, content_type: str) -> Response:
        """ETag (of the body) and Last-Modified; 304 when the client's copy is current."""
        etag = '"' + hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()[:20] + '"'
        headers = {"ETag": etag, "Last-Modified": self._last_modified}
        if request.headers.get("if-none-match") == etag:
            return Response(304, b"", headers, content_type=content_type)
        return Response(200, body, headers, content_type=content_type)

    @property
    def _last_modified(self) -> str:
        newest = max((i.edited_at or i.created_at for i in self.items.values()), default=None)
        return format_datetime(newest or datetime(2026, 1, 1, tzinfo=UTC), usegmt=True)

    @route("GET", r"/bozo/(?P<name>[\w-]+)")
    def bozo(self, request: Request) -> Response:
        """Not well-formed (an HTML entity XML does not define), but entries are recoverable."""
        name = request.params["name"]
        body = self._rss(name).replace("<title>Comments on", "<title>Comments&nbsp;on", 1)
        return Response(200, body, content_type=RSS_TYPE)

    @route("GET", r"/broken/(?P<name>[\w-]+)")
    def broken(self, request: Request) -> Response:
        body = '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Comme'
        return Response(200, body, content_type=RSS_TYPE)

    @route("GET", r"/moved/(?P<name>[\w-]+)")
    def moved(self, request: Request) -> Response:
        """A feed that moved for good (301 to its Atom address)."""
        location = f"/atom/{request.params['name']}"
        return Response(301, "", {"Location": location}, content_type="text/plain")

    @route("GET", r"/html/(?P<name>[\w-]+)")
    def html_page(self, request: Request) -> Response:
        """An HTML page where a feed was expected (a mistyped Comments_Feed)."""
        page = "<!doctype html><html><head><title>Blog</title></head><body><p>Hi</p></body></html>"
        return Response(200, page, content_type="text/html; charset=utf-8")

    # -- rendering ---------------------------------------------------------------------
    def _rss(self, name: str) -> str:
        channel = _nest(
            "channel",
            _tag("title", f"Comments on {name}"),
            _tag("link", f"{self.base_url}/posts/{name}"),
            _tag("description", f"Comments on {name}"),
            *(self._rss_item(i) for i in self.comments(name)),
        )
        rss = _nest("rss", channel, version="2.0", **{"xmlns:content": CONTENT_NS})
        return XML_DECLARATION + rss

    def _rss_item(self, item: Item) -> str:
        account, link = self.accounts[item.author], item.extra.get("link")
        return self._entry(
            "item",
            item,
            _tag("link", link) if link else None,
            _tag("guid", item.id, isPermaLink="false") if item.extra.get("guid") else None,
            _tag("author", f"{account.key}@{account.key}.example.org ({account.name})"),
            _tag("pubDate", format_datetime(item.created_at, usegmt=True)),
            # RSS descriptions are HTML; plain text is escaped once for HTML, once for XML.
            _tag("description", f"<p>{html.escape(item.text)}</p>"),
            _tag("content:encoded", item.html) if item.html else None,
        )

    def _atom(self, name: str) -> str:
        comments = self.comments(name)
        updated = max(
            (c.edited_at or c.created_at for c in comments), default=self._feed(name).created_at
        )
        url = self.feed_url(name, "atom")
        feed = _nest(
            "feed",
            _tag("id", url),
            _tag("title", f"Comments on {name}"),
            _tag("updated", updated.isoformat()),
            _tag("link", rel="self", href=url),
            *(self._atom_entry(i) for i in comments),
            xmlns=ATOM_NS,
        )
        return XML_DECLARATION + feed

    def _atom_entry(self, item: Item) -> str:
        account, link = self.accounts[item.author], item.extra.get("link")
        author = _nest(
            "author", _tag("name", account.name), _tag("uri", f"https://{account.key}.example/")
        )
        if item.html:
            content = _tag("content", item.html, type="html")
        else:
            content = _tag("content", item.text, type="text")
        return self._entry(
            "entry",
            item,
            _tag("id", item.id) if item.extra.get("guid") else None,
            _tag("link", rel="alternate", href=link) if link else None,
            author,
            _tag("published", item.created_at.isoformat()),
            _tag("updated", (item.edited_at or item.created_at).isoformat()),
            content,
        )

    def _entry(self, tag: str, item: Item, *fields: str | None) -> str:
        """An RSS ``<item>`` or an Atom ``<entry>``: the comment's title, then its fields."""
        title = _tag("title", f"Comment by {self.accounts[item.author].name}")
        return _nest(tag, title, *fields)
