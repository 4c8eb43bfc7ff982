"""Turn stored comments into the threaded conversation the article page shows.

Pure with respect to networks: reads rows, returns plain objects. Comments
from every network are merged into one tree per article, each level in time
order; the author's own answers are marked. Bodies were sanitized with an
allowlist before they were stored (see :mod:`.sanitize`), so they are Markup;
every other field is plain text and is escaped where it is printed.

A build shows every stored comment, tens of thousands on a busy blog, so
this module is written for speed: rows come back as tuples, each node's
display strings are computed once, and :meth:`Thread.render` writes the
thread's markup in Python (about a quarter of what the same markup costs as
a Jinja loop). The partial ``engage/comments.html`` prints that; a theme
that wants other markup can walk ``article.engage.comments`` itself.

Strangers choose how deep and how many: the thread is written without
recursion, levels past MAX_DEPTH are shown flattened (each reply still
there, saying whom it answers, like Mastodon's "continue this thread"), and
past MAX_SHOWN comments the page says how many more there are and links to
where they can be read (MAX_MARKUP bounds the page's size the same way).
A row the page cannot show (a date no calendar holds, say) is logged and
left out, never fatal to the build.

Avatars follow ``ENGAGE_AVATARS``: ``initials`` shows none (no request ever
leaves a reader's browser for a commenter's server), ``hotlink`` uses the
network's URL, ``cache`` uses the copy `engage sync` downloaded into the
folder beside the database, which :func:`copy_avatars` puts into the built
site after Pelican has written (and possibly cleaned) the output folder.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import shutil
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from ..errors import StoreError
from ..gate.metadata import site_zone
from ..model import MAX_URL_CHARS, NetworkCounts, web_url
from ..networks import network_label
from ..store import Store
from ..store.comments import (
    ARTICLE,
    AUTHOR_URL,
    AVATAR,
    CREATED,
    EDITED,
    HANDLE,
    HTML,
    ID,
    KIND,
    LIKES,
    NAME,
    NETWORK,
    OWN,
    PARENT,
    REPOSTS,
    URL,
)
from .moderation import Moderation
from .thread_markup import more_item, render_thread

if TYPE_CHECKING:
    from ..settings import EngageSettings

AVATAR_FOLDER = "engage-avatars"  # beside the database, and in the built site
# Networks where a reader can answer in place; elsewhere the link only shows the original.
REPLYABLE = frozenset({"mastodon", "bluesky", "x", "facebook"})
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_DEPTH = 6  # nested levels on the page; deeper replies are listed flat at the last one
MAX_SHOWN = 1000  # comments on one page; the rest are counted and linked
MAX_MARKUP = 4_000_000  # characters of comments on one page (bodies are 64 KB at most each)
# URLs that model.web_url would return as they are (see _http): no quote, angle bracket,
# backtick, space, backslash, bracket or control character anywhere, no "@" or ":" in
# the host part.
_PLAIN_URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#][A-Za-z0-9._~!$&()*+,;=:@%/?#-]*)?")

log = logging.getLogger(__name__)


class Thread(list["CommentNode"]):
    """The comments at one level of a conversation, in time order; renders itself."""

    def render(
        self, article_url: str, siteurl: str = "", syndications: Iterable[Any] = ()
    ) -> Markup:
        """The thread as nested ``<li>`` items (microformats2 h-cite), for an ``<ol>``.

        At most MAX_SHOWN comments; then one item says how many more there are,
        linking to the ``syndications`` (objects with ``url`` and ``label``).
        """
        out: list[str] = []
        in_reply_to = str(escape(article_url))
        shown = render_thread(self, in_reply_to, siteurl, out, MAX_SHOWN, MAX_DEPTH, MAX_MARKUP)
        more = self.total() - shown
        if more > 0:
            out.append(more_item(more, syndications))
        return Markup("".join(out))

    def total(self) -> int:
        """Comments in the thread, replies at every depth included."""
        found = 0
        stack: list[CommentNode] = list(self)
        while stack:
            node = stack.pop()
            found += 1
            stack.extend(node.children)
        return found


@dataclass(slots=True)
class CommentAuthor:
    name: str
    url: str  # their page: an http(s) URL, or "" (Facebook users have none)
    avatar: str | None  # http(s) URL, or a path inside the built site when avatar_local
    handle: str = ""
    avatar_local: bool = False  # prefix with SITEURL
    initials: str = "?"  # shown (hidden from screen readers) when there is no avatar


@dataclass(slots=True)
class CommentNode:
    """One comment as the page shows it, with its display strings ready."""

    id: str  # network:remote id, what `engage hide` takes
    anchor: str  # fragment id on the page
    network: str
    network_label: str  # "Mastodon", "the web", ...
    kind: str  # reply | mention
    author: CommentAuthor
    html: Markup  # sanitized with an allowlist before it was stored
    url: str  # the original, http(s) or ""
    published: datetime  # in the site's time zone
    published_iso: str
    published_text: str  # "3 Nov 2026, 14:05"
    is_author: bool  # the blog's author answering
    link_text: str  # "Reply on Mastodon", or where it was written
    label: str  # the comment's accessible name: "Comment by Bob Marsh on Mastodon"
    likes: int = 0
    reposts: int = 0
    reactions: str = ""  # "2 likes, 1 repost"
    edited: datetime | None = None
    edited_iso: str = ""
    parent_url: str = ""  # the original of the comment this one answers ("" at the top)
    children: Thread = field(default_factory=Thread)
    parent_anchor: str = ""  # the answered comment on the page ("" at the top)
    parent_name: str = ""  # its author


@dataclass
class Conversation:
    comments: Thread = field(default_factory=Thread)
    counts: dict[str, NetworkCounts] = field(default_factory=dict)


def initials(name: str) -> str:
    parts = [p for p in name.replace("@", " ").split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def link_text(network: str, label: str) -> str:
    """What the link to the original says: "Reply on Mastodon", or where it was written."""
    if network in REPLYABLE:
        return f"Reply on {label}"
    if network == "webmention":
        return "Read it on their site"
    return "Read the original"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _http(url: str | None) -> str:
    """Links were checked (model.web_url) when stored; checked again here, so a row
    written by an older version or another tool cannot bring a script link.

    A URL of the plain shape every network gives (http(s), a host of letters, digits,
    dots and hyphens, no port, no user, a path of safe characters) is one that
    web_url returns unchanged: the pattern answers in a fraction of its time, and
    anything else still goes through web_url.
    """
    if not url:
        return ""
    if len(url) <= MAX_URL_CHARS and _PLAIN_URL_RE.fullmatch(url):
        return url
    return web_url(url)


def _local(value: str, zone: tzinfo) -> datetime:
    """A stored UTC time in the site's zone; as stored where the zone would leave the
    calendar (year 1 west of UTC, year 9999 east of it). ValueError if unreadable."""
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        return moment


# -- avatars ----------------------------------------------------------------------------


def avatar_stem(url: str) -> str:
    """The cached file's name without suffix: derived from the URL, so no column is needed."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def avatar_dir(settings: EngageSettings) -> Path:
    return settings.db_path.parent / AVATAR_FOLDER


def avatar_files(folder: Path) -> dict[str, str]:
    """stem -> file name of the cached avatars in ``folder``."""
    if not folder.is_dir():
        return {}
    return {p.stem: p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".part"}


class _Avatars:
    """What each stored avatar URL becomes on the page, per ENGAGE_AVATARS."""

    def __init__(self, settings: EngageSettings | None) -> None:
        self.mode = settings.avatars if settings is not None else "initials"
        self.files = avatar_files(avatar_dir(settings)) if settings and self.mode == "cache" else {}

    def __call__(self, url: str | None) -> tuple[str | None, bool]:
        if not url or self.mode == "initials":
            return None, False
        if self.mode == "hotlink":
            return _http(url) or None, False
        name = self.files.get(avatar_stem(url))
        return (f"{AVATAR_FOLDER}/{name}", True) if name else (None, False)


def copy_avatars(settings: EngageSettings) -> int:
    """Copy the cached avatars visible comments use into the built site; returns how many.

    Run it after Pelican has written the output (its ``finalized`` signal):
    a build with DELETE_OUTPUT_DIRECTORY cleans the folder before writing.
    """
    if settings.avatars != "cache" or not settings.db_path.exists():
        return 0
    files = avatar_files(avatar_dir(settings))
    if not files:
        return 0
    try:
        store = Store.open_readonly(settings.db_path)
    except StoreError:
        return 0  # the build already said why it went without the database
    if store is None:
        return 0
    with store:
        urls = store.comments.avatar_urls()
    target = settings.output_path / AVATAR_FOLDER
    copied = 0
    for name in {files[s] for s in map(avatar_stem, urls) if s in files}:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(avatar_dir(settings) / name, target / name)
        copied += 1
    return copied


# -- loading ----------------------------------------------------------------------------

# Rows come from ``store.comments.shown()`` as plain tuples (much faster to read than
# mappings); ID, NETWORK, ... are their column positions, defined beside the query.


class _Nodes:
    """Builds nodes from rows, sharing what repeats (authors, labels) between them."""

    def __init__(self, settings: EngageSettings | None) -> None:
        self.avatars = _Avatars(settings)
        self.zone: tzinfo = site_zone(settings.timezone if settings is not None else None)
        self.authors: dict[tuple[Any, ...], CommentAuthor] = {}
        self.labels: dict[str, tuple[str, str]] = {}

    def author(self, row: tuple[Any, ...]) -> CommentAuthor:
        key = (row[NAME], row[AUTHOR_URL], row[AVATAR], row[HANDLE])
        found = self.authors.get(key)
        if found is None:
            avatar, local = self.avatars(row[AVATAR])
            name = row[NAME]
            found = CommentAuthor(
                name, _http(row[AUTHOR_URL]), avatar, row[HANDLE], local, initials(name)
            )
            self.authors[key] = found
        return found

    def node(self, row: tuple[Any, ...]) -> CommentNode:
        network, own = row[NETWORK], bool(row[OWN])
        if network not in self.labels:
            label = network_label(network)
            self.labels[network] = (label, link_text(network, label))
        label, action = self.labels[network]
        author = self.author(row)
        published = _local(row[CREATED], self.zone)
        edited = _local(row[EDITED], self.zone) if row[EDITED] else None
        likes, reposts = row[LIKES], row[REPOSTS]
        reactions = ""
        if likes or reposts:
            parts = [_plural(likes, "like", "likes")] if likes else []
            parts += [_plural(reposts, "repost", "reposts")] if reposts else []
            reactions = ", ".join(parts)
        who = "Answer by the author" if own else f"Comment by {author.name}"
        return CommentNode(
            id=row[ID],
            anchor=f"comment-{zlib.crc32(row[ID].encode('utf-8')):08x}",
            network=network,
            network_label=label,
            kind=row[KIND],
            author=author,
            html=Markup(row[HTML]),
            url=_http(row[URL]),
            published=published,
            published_iso=row[CREATED],  # stored as UTC ISO 8601: a valid datetime attribute
            published_text=(
                f"{published.day} {MONTHS[published.month - 1]} {published.year}, "
                f"{published.hour:02d}:{published.minute:02d}"
            ),
            is_author=own,
            link_text=action,
            label=f"{who} on {label}",
            likes=likes,
            reposts=reposts,
            reactions=reactions,
            edited=edited,
            edited_iso=row[EDITED] or "",
        )


def _blocked(row: tuple[Any, ...], hides: Callable[[str, str, str, str, str], bool]) -> bool:
    """Whether the blocklist hides this stored comment (the author's answers never)."""
    if row[OWN]:
        return False
    return hides(row[ID], row[NETWORK], row[HANDLE], row[AUTHOR_URL], row[URL])


def load_conversations(
    store: Store,
    settings: EngageSettings | None = None,
    skip: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Conversation]:
    """Every article's visible comments as a tree, and its counts per network.

    ``settings`` brings the avatar mode, the time zone of the dates and the
    blocklist (applied here too, so an account blocked since the last sync is
    off the page at the next build); without it no avatar is shown. The comments
    of the ``skip`` articles are not loaded (their markup was saved: prerender.py);
    the value gives how many each shows per network, for the counts.
    """
    # Tens of thousands of new objects, all kept: the cyclic collector would run
    # many times over the whole build's heap for nothing (measured: it doubled the
    # cost of comments in a build). Pause it for the load only.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _load(store, settings, skip or {})
    finally:
        if paused:
            gc.enable()


def _load(
    store: Store, settings: EngageSettings | None, skip: Mapping[str, Mapping[str, int]]
) -> dict[str, Conversation]:
    conversations: dict[str, Conversation] = {}
    nodes: dict[str, CommentNode] = {}
    build = _Nodes(settings)
    hides = None
    if settings is not None and settings.blocklist:
        hides = Moderation.load(store, settings.blocklist).hides
    placed: list[tuple[CommentNode, str | None, str]] = []
    for row in store.comments.shown():
        if row[ARTICLE] in skip or (hides is not None and _blocked(row, hides)):
            continue
        try:
            node = build.node(row)
        except (ValueError, TypeError, OverflowError) as exc:
            log.warning("engage: comment %r cannot be shown (%s); left out", row[ID], exc)
            continue
        nodes[node.id] = node
        placed.append((node, row[PARENT], row[ARTICLE]))
    for node, parent_id, article in placed:  # in time order, so every level is too
        parent = nodes.get(parent_id) if parent_id else None
        if parent is not None:
            node.parent_url = parent.url
            node.parent_anchor, node.parent_name = parent.anchor, parent.author.name
            parent.children.append(node)
        elif parent_id is None:  # a reply to a hidden comment is hidden with it
            conversations.setdefault(article, Conversation()).comments.append(node)
    _attach_counts(store, conversations, skip)
    return conversations


def _attach_counts(
    store: Store, conversations: dict[str, Conversation], skip: Mapping[str, Mapping[str, int]]
) -> None:
    """Likes and reposts as the networks count them; replies as the page shows them."""
    shown = {article: shown_per_network(c.comments) for article, c in conversations.items()}
    shown.update((article, dict(networks)) for article, networks in skip.items())
    for article, network, likes, reposts in store.comments.all_counts():
        replies = shown.get(article, {}).pop(network, 0)
        _add_counts(conversations, article, network, likes, reposts, replies)
    for article, networks in shown.items():  # replies on a network without a counts row
        for network, replies in networks.items():
            _add_counts(conversations, article, network, 0, 0, replies)
    for conversation in conversations.values():
        conversation.counts = dict(sorted(conversation.counts.items()))


def shown_per_network(roots: Iterable[CommentNode]) -> dict[str, int]:
    found: dict[str, int] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        found[node.network] = found.get(node.network, 0) + 1
        stack.extend(node.children)
    return found


def _add_counts(
    conversations: dict[str, Conversation],
    article: str,
    network: str,
    likes: int,
    reposts: int,
    replies: int,
) -> None:
    if likes or reposts or replies:
        conversation = conversations.setdefault(article, Conversation())
        label = network_label(network)
        conversation.counts[network] = NetworkCounts(label, likes, reposts, replies)
