"""What a comment answers, before you answer it: the thread above it and your earlier answers.

`engage show`, the `$EDITOR` template of `engage reply` and the answer desk all
read the same :class:`Context`: the comment, the comments it answers up to the
post, the post's own snippet as it went out on that network, and what you
already wrote in that conversation. Everything in it but the snippet was
written by strangers: the text is plain (from the sanitized HTML), with
control characters removed so that printing it cannot drive the terminal.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..backfeed.sanitize import plain_text, web_url
from ..errors import EngageError
from ..networks import network_label
from ..store import Store

MAX_ANCESTORS = 6  # the nearest comments above; a long chain is cut from the top
MAX_EARLIER = 5  # your latest answers in the same conversation
# C0 and C1 control characters (ESC, CSI …): text from strangers never reaches a terminal raw.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class UnknownComment(EngageError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"no comment {name!r}; `engage inbox` lists the refs (41) and ids of waiting comments"
        )


def clean(text: str) -> str:
    """``text`` without control characters (tabs and newlines become spaces)."""
    return _CONTROL_RE.sub("", text.replace("\t", " ").replace("\n", " "))


def when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def comment_row(store: Store, name: str) -> Mapping[str, Any]:
    """The stored comment named by its short ref (``41``, ``#41``) or full id, with ``ref``."""
    cid = store.comments.resolve(name)
    row = store.comments.with_ref(cid) if cid is not None else None
    if row is None:
        raise UnknownComment(name.strip())
    return row


@dataclass(frozen=True)
class Note:
    """One comment as the context shows it."""

    id: str
    ref: int | None
    author: str  # "Bob Marsh (@bob@social.example)", or "You"
    is_own: bool
    text: str  # plain, cleaned
    html: str  # the stored, sanitized HTML (for pages that print it as the blog does)
    url: str  # an http(s) URL, or ""
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Note:
        own = bool(row["is_own"])
        name = clean(row["author_name"] or "") or clean(row["author_handle"] or "") or "someone"
        handle = clean(row["author_handle"] or "")
        author = "You" if own else (f"{name} ({handle})" if handle and handle != name else name)
        return cls(
            id=row["id"],
            ref=row.get("ref"),
            author=author,
            is_own=own,
            text=clean(plain_text(row["html"])),
            html=row["html"],
            url=web_url(row["url"]),
            created_at=when(row["created_at"]),
        )


@dataclass
class Context:
    comment: Note
    network: str
    article: str
    post: str = ""  # the snippet that went out on this network ("" when not ours to know)
    post_url: str = ""
    above: list[Note] = field(default_factory=list)  # what it answers, top first, nearest last
    earlier: list[Note] = field(default_factory=list)  # your answers in this conversation
    liked: bool = False
    done: bool = False

    @property
    def label(self) -> str:
        return network_label(self.network)

    @property
    def name(self) -> str:
        """How commands name the comment: its ref, or its full id before it has one."""
        return str(self.comment.ref) if self.comment.ref is not None else self.comment.id


def context(store: Store, name: str) -> Context:
    """The comment named ``name`` with the thread around it."""
    row = comment_row(store, name)
    rows = {r["id"]: r for r in store.comments.thread(row["article"], row["network"])}
    rows.setdefault(row["id"], dict(row))
    above: list[Note] = []
    parent = rows.get(row["parent_id"] or "")
    while parent is not None and len(above) < MAX_ANCESTORS and parent["id"] != row["id"]:
        above.insert(0, Note.from_row(parent))
        parent = rows.get(parent["parent_id"] or "")
    shown = {n.id for n in above}
    earlier = [Note.from_row(r) for r in rows.values() if r["is_own"] and r["id"] not in shown]
    earlier = earlier[-MAX_EARLIER:]
    entry = store.ledger.get(row["article"], row["network"], 0)
    kinds = store.acknowledgements.kinds([row["id"]]).get(row["id"], set())
    return Context(
        comment=Note.from_row(row),
        network=row["network"],
        article=row["article"],
        post=(entry or {}).get("text") or "",
        post_url=web_url((entry or {}).get("remote_url")),
        above=above,
        earlier=earlier,
        liked="like" in kinds,
        done="done" in kinds,
    )


# -- as text: `engage show` and the editor template ---------------------------------------------


def ago(moment: datetime, now: datetime | None = None) -> str:
    """``3h ago``, ``2d ago``: for people."""
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` columns; a URL longer than that stays whole on its line."""
    return textwrap.wrap(
        " ".join(text.split()), width=width, break_long_words=False, break_on_hyphens=False
    )


def _block(heading: str, text: str, width: int) -> Iterator[str]:
    yield from _wrap(heading, width)
    yield from ("  │ " + line for line in _wrap(text, max(20, width - 4)) or ["(no text)"])


def lines(ctx: Context, width: int = 80, now: datetime | None = None) -> list[str]:
    """The context as wrapped lines, at most ``width`` columns: no table to squeeze."""
    c = ctx.comment
    state = [s for s, on in (("liked", ctx.liked), ("marked done", ctx.done)) if on]
    head = f"#{ctx.name} · {c.author} on {ctx.label} · {ago(c.created_at, now)}"
    out = _wrap(head + (f" · {', '.join(state)}" if state else ""), width)
    out += _wrap(f"about {ctx.article}", width)
    if ctx.post:
        out += ["", *_block("Your post:", clean(ctx.post), width)]
    for note in ctx.above:
        ref = f" (#{note.ref})" if note.ref is not None and not note.is_own else ""
        who = "You answered:" if note.is_own else f"{note.author}{ref} wrote:"
        out += ["", *_block(who, note.text, width)]
    out += ["", *_block(f"▶ {c.author} wrote, {ago(c.created_at, now)}:", c.text, width)]
    if c.url:
        out.append(f"  {c.url}")
    if ctx.earlier:
        out += ["", "Your earlier answers in this conversation:"]
        for note in ctx.earlier:
            out += list(_block(f"· {ago(note.created_at, now)}:", note.text, width))
    return out


def editor_template(ctx: Context, width: int = 72) -> str:
    """What `engage reply REF` opens in $EDITOR: room for the answer, then the context."""
    comment_lines = [
        "Write your answer above. Lines starting with '# ' are dropped;",
        "an empty answer sends nothing.",
        "",
        *lines(ctx, width - 2),
    ]
    return "\n\n" + "\n".join(("# " + line).rstrip() for line in comment_lines) + "\n"


def from_editor(edited: str) -> str:
    """The answer in an edited template: every comment line (``#`` alone or ``# …``) dropped.

    A line that starts with a hashtag (``#python``) is part of the answer.
    """
    kept = [ln for ln in edited.splitlines() if not (ln == "#" or ln.startswith("# "))]
    return "\n".join(kept).strip()
