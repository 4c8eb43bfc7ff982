"""Turn stored comments into the threaded conversation templates render.

Pure with respect to networks: reads rows, returns plain objects. Comments
from every network are merged into one tree per article, each level in time
order; the author's own answers are marked.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup

from .model import NetworkCounts
from .networks import LABELS


@dataclass
class CommentAuthor:
    name: str
    url: str
    avatar: str | None
    handle: str = ""

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.replace("@", " ").split() if p[:1].isalnum()]
        return "".join(p[0] for p in parts[:2]).upper() or "?"


@dataclass
class CommentNode:
    id: str
    network: str
    network_label: str
    kind: str
    author: CommentAuthor
    html: Markup
    url: str
    published: datetime
    is_author: bool
    likes: int = 0
    reposts: int = 0
    children: list[CommentNode] = field(default_factory=list)

    @property
    def published_iso(self) -> str:
        return self.published.isoformat()


@dataclass
class Conversation:
    comments: list[CommentNode] = field(default_factory=list)
    counts: dict[str, NetworkCounts] = field(default_factory=dict)


def _node(row: sqlite3.Row) -> CommentNode:
    return CommentNode(
        id=row["id"],
        network=row["network"],
        network_label=LABELS.get(row["network"], row["network"]),
        kind=row["kind"],
        author=CommentAuthor(
            row["author_name"], row["author_url"], row["avatar_url"], row["author_handle"]
        ),
        html=Markup(row["html"]),  # sanitized with an allowlist before it was stored
        url=row["url"],
        published=datetime.fromisoformat(row["created_at"]),
        is_author=bool(row["is_own"]),
        likes=row["likes"],
        reposts=row["reposts"],
    )


def load_conversations(conn: sqlite3.Connection) -> dict[str, Conversation]:
    """Every article's visible comments as a tree, and its counts per network."""
    conversations: dict[str, Conversation] = {}
    nodes: dict[str, CommentNode] = {}
    parents: dict[str, str | None] = {}
    articles: dict[str, str] = {}
    rows = conn.execute(
        "SELECT * FROM comment WHERE removed = 0 AND moderated = 0 ORDER BY created_at, id"
    )
    for row in rows:
        nodes[row["id"]] = _node(row)
        parents[row["id"]] = row["parent_id"]
        articles[row["id"]] = row["article"]
    for comment_id, node in nodes.items():
        parent = nodes.get(parents[comment_id] or "")
        if parent is not None:
            parent.children.append(node)
        elif parents[comment_id] is None:  # a reply to a hidden comment is hidden with it
            conversations.setdefault(articles[comment_id], Conversation()).comments.append(node)
    for row in conn.execute("SELECT * FROM engagement ORDER BY network"):
        conversation = conversations.setdefault(row["article"], Conversation())
        conversation.counts[row["network"]] = NetworkCounts(
            LABELS.get(row["network"], row["network"]), row["likes"], row["reposts"], row["replies"]
        )
    return conversations
