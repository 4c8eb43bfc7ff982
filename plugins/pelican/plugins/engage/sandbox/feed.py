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
    @route("GET", r"/rss/(?P<name>[\w-]+)")
    def rss(self, request: Request) -> Response:
        name = request.params["name"]
        if f"feed:{name}" not in self.items:
            return self.error(404, "Not Found")
        return self._conditional(request, self._rss(name), RSS_TYPE)

    @route("GET", r"/atom/(?P<name>[\w-]+)")
    def atom(self, request: Request) -> Response:
        name = request.params["name"]
        if f"feed:{name}" not in self.items:
            return self.error(404, "Not Found")
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
        items = "".join(self._rss_item(i) for i in self.comments(name))
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Comments on {escape(name)}</title>"
            f"<link>{escape(self.base_url)}/posts/{escape(name)}</link>"
            f"<description>Comments on {escape(name)}</description>{items}</channel></rss>"
        )

    def _rss_item(self, item: Item) -> str:
        account = self.accounts[item.author]
        parts = [f"<title>Comment by {escape(account.name)}</title>"]
        if item.extra.get("link"):
            parts.append(f"<link>{escape(item.extra['link'])}</link>")
        if item.extra.get("guid"):
            parts.append(f'<guid isPermaLink="false">{escape(item.id)}</guid>')
        parts.append(
            f"<author>{account.key}@{account.key}.example.org ({escape(account.name)})</author>"
        )
        parts.append(f"<pubDate>{format_datetime(item.created_at, usegmt=True)}</pubDate>")
        # RSS descriptions are HTML; plain text is escaped once for HTML, once for XML.
        parts.append(
            f"<description>{escape('<p>' + html.escape(item.text) + '</p>')}</description>"
        )
        if item.html:
            parts.append(f"<content:encoded>{escape(item.html)}</content:encoded>")
        return "<item>" + "".join(parts) + "</item>"

    def _atom(self, name: str) -> str:
        comments = self.comments(name)
        updated = max(
            (c.edited_at or c.created_at for c in comments), default=self._feed(name).created_at
        )
        entries = "".join(self._atom_entry(i) for i in comments)
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{escape(self.feed_url(name, 'atom'))}</id>"
            f"<title>Comments on {escape(name)}</title>"
            f"<updated>{updated.isoformat()}</updated>"
            f'<link rel="self" href={quoteattr(self.feed_url(name, "atom"))}/>{entries}</feed>'
        )

    def _atom_entry(self, item: Item) -> str:
        account = self.accounts[item.author]
        parts = [f"<title>Comment by {escape(account.name)}</title>"]
        if item.extra.get("guid"):
            parts.append(f"<id>{escape(item.id)}</id>")
        if item.extra.get("link"):
            parts.append(f'<link rel="alternate" href={quoteattr(item.extra["link"])}/>')
        parts.append(
            f"<author><name>{escape(account.name)}</name>"
            f"<uri>https://{account.key}.example/</uri></author>"
        )
        parts.append(f"<published>{item.created_at.isoformat()}</published>")
        parts.append(f"<updated>{(item.edited_at or item.created_at).isoformat()}</updated>")
        if item.html:
            parts.append(f'<content type="html">{escape(item.html)}</content>')
        else:
            parts.append(f'<content type="text">{escape(item.text)}</content>')
        return "<entry>" + "".join(parts) + "</entry>"
