"""The markup of a conversation's thread: written in Python, without recursion.

:meth:`.conversation.Thread.render` calls :func:`render_thread`. Every text
and attribute value goes through ``escape`` (URLs passed ``model.web_url``
when stored and again when the nodes were built); bodies are Markup already,
sanitized with an allowlist before they were stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from markupsafe import escape

from ..model import web_url

if TYPE_CHECKING:
    from .conversation import CommentAuthor, CommentNode

_LINK_REL = 'rel="nofollow ugc noopener"'


def render_thread(
    nodes: Iterable[CommentNode],
    in_reply_to: str,
    siteurl: str,
    out: list[str],
    budget: int,
    max_depth: int,
    max_markup: int,
) -> int:
    """Append the markup of ``nodes`` and their replies to ``out``; returns how many
    comments it wrote (at most ``budget``).

    Every text and attribute value goes through ``escape``; bodies are Markup
    already. Replies nest inside their parent's h-cite (and list), so a
    microformats parser sees the same thread a screen reader announces; from
    ``max_depth`` on, a comment's replies at every depth are one flat list, in
    reading order, each saying whom it answers. No recursion: a chain of
    replies as long as a stranger likes costs a loop, not the stack.
    """
    shown = written = 0
    # What is left to write, last first: a comment (at a depth, flat or not) or closing tags.
    stack: list[tuple[CommentNode, int, bool] | str] = [
        (c, 0, False) for c in reversed(list(nodes))
    ]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        c, depth, flat = item
        if shown >= budget or written > max_markup:
            continue
        shown += 1
        name = escape(c.author.name)
        out.append(_item(c, name, in_reply_to, siteurl, flat))
        written += len(out[-1])
        if flat or not c.children:
            out.append("</article></li>")
            continue
        stack.append("</ol></article></li>")
        if depth + 1 < max_depth:
            out.append(f'<ol class="engage-thread engage-replies" aria-label="Replies to {name}">')
            stack.extend((child, depth + 1, False) for child in reversed(c.children))
        else:
            out.append(
                '<ol class="engage-thread engage-replies engage-flattened"'
                f' aria-label="The rest of the thread under {name}">'
            )
            stack.extend((d, depth + 1, True) for d in reversed(_descendants(c)))
    return shown


def _descendants(node: CommentNode) -> list[CommentNode]:
    """Every reply under ``node``, at any depth, in reading order (depth first)."""
    found: list[CommentNode] = []
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(reversed(child.children))
    return found


def _item(c: CommentNode, name: str, in_reply_to: str, siteurl: str, flat: bool) -> str:
    """One comment's opening markup, up to where its replies go (closed by the caller)."""
    a = c.author
    url = escape(c.url)
    answering = ""
    if flat and c.parent_anchor:
        answering = (
            f'<p class="engage-replying-to">in reply to <a href="#{escape(c.parent_anchor)}">'
            f"{escape(c.parent_name)}</a></p>"
        )
    return (
        f'<li class="engage-thread-item"><article class="h-cite u-comment engage-comment'
        f'{" is-author" if c.is_author else ""}" id="{c.anchor}"'
        f' aria-label="{escape(c.label)}"><div class="engage-comment-box">'
        f'<header class="engage-comment-header">{_author(a, name, siteurl)}'
        f"{_BADGE if c.is_author else ''} {_where(c, url)}</header>{answering}"
        f'<data class="u-in-reply-to" value="{escape(c.parent_url) or in_reply_to}"></data>'
        f'<div class="e-content engage-comment-body">{c.html}</div>'
        f"{_actions(c, url, name)}</div>"
    )


def more_item(count: int, syndications: Iterable[Any]) -> str:
    """The item after the last comment shown: how many more, and where to read them."""
    links = [
        f'<a href="{escape(url)}" {_LINK_REL}>{escape(getattr(s, "label", "") or url)}</a>'
        for s in syndications
        if (url := web_url(getattr(s, "url", "")))
    ]
    where = f"; read them on {' or '.join(links)}" if links else ""
    said = "comment is" if count == 1 else "comments are"
    return (
        f'<li class="engage-thread-item engage-more"><p>{count} more {said} not shown '
        f"here{where}.</p></li>"
    )


_BADGE = ' <span class="engage-badge">Author</span>'


def _author(a: CommentAuthor, name: str, siteurl: str) -> str:
    """The p-author h-card: avatar (or initials), name, and their page when there is one."""
    if a.avatar:
        src = escape(f"{siteurl}/{a.avatar}" if a.avatar_local else a.avatar)
        picture = (
            f'<img class="u-photo engage-avatar" src="{src}" alt="" width="40" height="40"'
            ' loading="lazy" decoding="async" referrerpolicy="no-referrer">'
        )
    else:
        picture = (
            '<span class="engage-avatar engage-avatar-initials" aria-hidden="true">'
            f"{escape(a.initials)}</span>"
        )
    card = f'{picture} <span class="p-name">{name}</span>'
    if not a.url:
        return f'<span class="p-author h-card engage-comment-author">{card}</span>'
    page = escape(a.url)
    return (
        f'<a class="p-author h-card engage-comment-author" href="{page}" {_LINK_REL}>{card}'
        f'<data class="u-url" value="{page}"></data></a>'
    )


def _where(c: CommentNode, url: str) -> str:
    """ "on Mastodon, 3 Nov 2026, 09:00" with the permalink, and "edited" when it was."""
    when = (
        f'<time class="dt-published" datetime="{escape(c.published_iso)}">{c.published_text}</time>'
    )
    if url:
        when = f'<a class="u-url" href="{url}" {_LINK_REL}>{when}</a>'
    if c.edited_iso:
        when += (
            f', <time class="dt-updated engage-edited" datetime="{escape(c.edited_iso)}">'
            "edited</time>"
        )
    mentioned = "mentioned this " if c.kind == "mention" else ""
    label = escape(c.network_label)
    return f'<span class="engage-comment-where">{mentioned}on {label}, {when}</span>'


def _actions(c: CommentNode, url: str, name: str) -> str:
    """The link to answer where the comment was written, and its own likes and reposts."""
    if not url and not c.reactions:
        return ""
    link = (
        f'<a href="{url}" {_LINK_REL}>{escape(c.link_text)}'
        f'<span class="visually-hidden"> ({name})</span></a>'
        if url
        else ""
    )
    count = f'<span class="engage-comment-count">{c.reactions}</span>' if c.reactions else ""
    return f'<p class="engage-comment-actions">{link}{count}</p>'
