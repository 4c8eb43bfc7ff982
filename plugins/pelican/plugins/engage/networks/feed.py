"""Comment feeds: read an RSS or Atom feed of comments (a post's ``Comments_Feed``) as a flat list.

Pitfalls. feedparser can fetch URLs itself, but without a timeout we control
and, given a string, it may even read a local file, so the one HTTP path
(``http_client``: timeouts, size cap, redirects) fetches the feed and
feedparser only parses the bytes (wrapped in a stream) with the response's
headers for the encoding and the final URL for relative links. feedparser
flags anything imperfect as ``bozo`` yet still recovers entries with its lax
parser: a bozo feed that yields entries is used (with a warning); one that
yields none raises :class:`~pelican.plugins.engage.errors.Transient` with the
parser's message, because an empty but "complete" snapshot would tell the
store that every comment was deleted, and a half-written feed is usually whole
again on the next read. Entry ids come from the guid/Atom id, else the link,
else a hash of the entry. Feeds cannot be written to: publishing and replying
raise Unsupported. ``base_url`` is optional here and only resolves relative
feed URLs; absolute ones are read as they are. A ``file:`` feed (a saved
mailing-list archive, say) is read from disk, relative to the site folder the
command passes in ``AdapterContext.site_dir`` (like a ``file:`` Source_Feed),
with the same size cap as a download.

A comment feed lives on a stranger's server: private addresses are refused
(unless ``allow_private_addresses`` or the host is in ``trusted_hosts``, both
filled in from the settings), at most ``max_redirects`` (default 5) are
followed, and an entry that cannot be read (a date in year 0, say) is
logged and skipped, never the whole read.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
import httpx

from ..errors import ConfigError, NotFound, Transient, Unsupported
from ..http_client import (
    Fault,
    HttpSession,
    Limits,
    int_option,
    stranger_policy,
    text_to_html,
    where,
)
from ..model import Author, Counts, OutgoingPost, RemoteComment, RemoteRef, ThreadSnapshot
from .base import Adapter, AdapterContext, CodePoints
from .notices import dump_cursor, load_cursor

log = logging.getLogger(__name__)

NO_LIMIT = 1_000_000  # nothing is ever posted to a feed
ACCEPT_FEEDS = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Adapter insists on a base URL; a feed network has none unless relative feed URLs need one.
_NO_BASE = "feed-without-base-url:"
MAX_FILE_BYTES = Limits().max_bytes  # a feed read from disk is capped like a download
READ_ONLY_HINT = "a comment feed is read-only: answer where the comment was written"


class FeedAdapter(CodePoints, Adapter):
    """Comments from an RSS or Atom feed."""

    name = "feed"

    def __init__(self, options: Mapping[str, Any], ctx: AdapterContext) -> None:
        merged = dict(options)
        merged["base_url"] = merged.get("base_url") or _NO_BASE
        super().__init__(merged, ctx)
        self.options = dict(options)
        if self.base_url == _NO_BASE:
            self.base_url = ""
        self._max_length = int_option(self.name, self.options, "max_length", NO_LIMIT)
        self.max_redirects = int_option(self.name, self.options, "max_redirects", 5)
        self._session: HttpSession | None = None

    # -- writing --------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> RemoteRef:
        raise Unsupported(self.name, READ_ONLY_HINT)

    def reply(
        self, to: RemoteRef, text: str, idempotency_key: str, created_at: datetime | None = None
    ) -> RemoteRef:
        raise Unsupported(self.name, READ_ONLY_HINT)

    # -- reading --------------------------------------------------------------
    def fetch_thread(self, post: RemoteRef, cursor: str | None = None) -> ThreadSnapshot:
        """Every entry of the feed at ``post.url`` as a comment on ``post``; always a full read.

        ``cursor`` holds the validators of the last read (ETag, Last-Modified): the
        GET is conditional, and a 304 comes back as an ``unchanged`` snapshot.
        """
        url = post.url or post.id
        validators = load_cursor(cursor)
        if url.startswith("file:"):
            body, headers = self._read_file(url)
            validators = {}
        else:
            url = self.feed_url(url)
            response = self._conditional_get(url, validators)
            if response is None:
                return ThreadSnapshot(post, Counts(), [], unchanged=True, cursor=cursor)
            validators = {
                "etag": response.headers.get("etag"),
                "modified": response.headers.get("last-modified"),
            }
            body = response.content
            headers = {
                "content-type": response.headers.get("content-type", "application/xml"),
                "content-location": str(response.url),
            }
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
        entries = list(parsed.get("entries") or [])
        if not entries and (parsed.get("bozo") or not parsed.get("version")):
            problem = parsed.get("bozo_exception") or "not an RSS or Atom feed"
            raise Transient(self.name, f"the feed at {where(url)} could not be read: {problem}")
        if parsed.get("bozo"):
            log.warning(
                "feed: %s is not well-formed (%s); using the %d entries read anyway",
                where(url),
                parsed.get("bozo_exception"),
                len(entries),
            )
        fallback = _struct_time(parsed.get("feed", {}).get("updated_parsed")) or datetime.now(UTC)
        comments: list[RemoteComment] = []
        seen: set[str] = set()
        for entry in entries:
            try:
                comment = self._comment(entry, post.id, fallback)
            except (ValueError, TypeError, AttributeError, OverflowError) as exc:
                # A stranger's malformed entry costs that entry, never the read.
                log.warning("feed: skipped an entry of %s that cannot be read: %r", where(url), exc)
                continue
            if comment.ref.id not in seen:
                seen.add(comment.ref.id)
                comments.append(comment)
        return ThreadSnapshot(
            post=post,
            counts=Counts(replies=len(comments)),
            comments=comments,
            cursor=dump_cursor(**validators) if any(validators.values()) else None,
        )

    def _conditional_get(self, url: str, validators: Mapping[str, Any]) -> httpx.Response | None:
        """The feed, or None when the server answers 304 Not Modified."""
        headers = {"Accept": ACCEPT_FEEDS}
        if validators.get("etag"):
            headers["If-None-Match"] = str(validators["etag"])
        if validators.get("modified"):
            headers["If-Modified-Since"] = str(validators["modified"])
        http = self._http()
        answer = http.fetch("GET", url, follow_redirects=True, headers=headers)
        if isinstance(answer, Fault):
            raise answer.error(self.name)
        if answer.status_code == 304:
            return None
        if not answer.is_success:
            raise http.error_for(answer)
        return answer

    def feed_url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        if not self.base_url:
            raise ConfigError(
                f"the comment feed {url!r} is relative: set ENGAGE_NETWORKS['feed']['base_url']"
            )
        return urljoin(self.base_url + "/", url)

    def feed_path(self, url: str) -> Path:
        """The file a ``file:`` feed URL names; relative ones are in the site folder."""
        path = Path(unquote(urlsplit(url).path))
        if path.is_absolute():
            return path
        if self.ctx.site_dir is None:
            raise ConfigError(
                f"the comment feed {url!r} is relative to the site folder, "
                "which this command did not give"
            )
        return self.ctx.site_dir / path

    def _read_file(self, url: str) -> tuple[bytes, dict[str, str]]:
        path = self.feed_path(url)
        try:
            with path.open("rb") as file:
                body = file.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise NotFound(self.name, f"the comment feed {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"the comment feed {path} cannot be read: {exc.strerror}") from None
        if len(body) > MAX_FILE_BYTES:
            raise ConfigError(f"the comment feed {path} is larger than {MAX_FILE_BYTES:,} bytes")
        # No content-location: feedparser would resolve ids against the file's path, and
        # an id must not change when the site folder moves.
        return body, {"content-type": "application/xml"}

    def _comment(self, entry: Any, feed_id: str, fallback: datetime) -> RemoteComment:
        published = _struct_time(entry.get("published_parsed"))
        updated = _struct_time(entry.get("updated_parsed"))
        created = published or updated or fallback
        return RemoteComment(
            ref=RemoteRef(
                self.name, entry_id(entry), str(entry.get("link") or ""), {"feed": feed_id}
            ),
            parent_id=feed_id,
            author=_author(entry),
            html=entry_html(entry),
            created_at=created,
            edited_at=updated if published and updated and updated > published else None,
        )

    # -- plumbing -------------------------------------------------------------
    def _http(self) -> HttpSession:
        if self._session is None:
            limits = Limits(timeout=self.timeout, max_redirects=self.max_redirects)
            # A comment feed is on a stranger's server: no private address unless configured.
            self._session = HttpSession(self.name, limits=limits, **stranger_policy(self.options))
            hooks = self._session.client.event_hooks  # count the answers
            self._session.client.event_hooks = {
                **hooks,
                "response": [*hooks.get("response", []), lambda _: self._answered()],
            }
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def entry_id(entry: Any) -> str:
    """The guid or Atom id, else the link, else a digest of what the entry says."""
    for key in ("id", "link"):
        if entry.get(key):
            return str(entry[key])
    # Author and date identify a comment across edits; without a date, its words must.
    parts = [str(entry.get(k) or "") for k in ("author", "published", "title")]
    if not entry.get("published"):
        parts.append(str(entry.get("summary") or ""))
        parts += [str(c.get("value") or "") for c in entry.get("content") or []]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def entry_html(entry: Any) -> str:
    """The entry's content (else its summary) as HTML; plain text gets escaped."""
    contents = entry.get("content") or []
    detail = contents[0] if contents else entry.get("summary_detail") or {}
    value = str(detail.get("value") or entry.get("summary") or "")
    if "html" not in str(detail.get("type") or "text/html"):
        return text_to_html(value)
    return value


def _author(entry: Any) -> Author:
    detail = entry.get("author_detail") or {}
    name = str(detail.get("name") or entry.get("author") or detail.get("email") or "Anonymous")
    return Author(
        name=name,
        handle=str(detail.get("email") or name),
        url=str(detail.get("href") or ""),
    )


def _struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None for a date no calendar
    holds (year 0, say), which a stranger's feed may well carry."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
