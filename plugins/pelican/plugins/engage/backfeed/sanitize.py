"""Make other people's HTML safe to publish: an allowlist sanitizer and plain-text helpers.

Comment bodies come from six networks and from anyone who can send a
webmention, so they are cleaned with nh3 (the Rust ammonia sanitizer) before
they are stored, and the page prints them as they are. The allowlist keeps
text formatting and links only: no images, no styles, no classes, no ids, no
event handlers, no forms, no frames. Scripts, styles and embedded documents
(SVG, MathML) are dropped together with their content, so their text never
shows up as stray words. Links keep only ``http``, ``https`` and ``mailto``
targets (relative ones would point into our own site) and get
``rel="nofollow ugc noopener"``: search engines must not credit commenters'
links to us, and a linked page must not reach back into ours.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

LINK_REL = "nofollow ugc noopener"
URL_SCHEMES = frozenset({"http", "https", "mailto"})
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "cite",
        "code",
        "del",
        "em",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "strong",
        "sub",
        "sup",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
# Dropped with everything inside them: their content is code, not words for the reader.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "template",
        "noscript",
        "svg",
        "math",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "textarea",
        "select",
        "title",
        "head",
        "xmp",
        "noembed",
        "noframes",
        "plaintext",
    }
)

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    link_rel=LINK_REL,
    url_schemes=set(URL_SCHEMES),
    url_relative="deny",
    strip_comments=True,
)
_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))

# Where a block ends, the plain text needs a space, or "<p>a</p><p>b</p>" reads "ab".
_BLOCK_END_RE = re.compile(r"<\s*(?:br|/p|/li|/blockquote|/pre|/h\d|/div|/tr)\b[^>]*>", re.I)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def clean_html(fragment: str) -> str:
    """``fragment`` reduced to the allowlist; safe to print unescaped."""
    return _CLEANER.clean(fragment or "").strip()


def plain_text(fragment: str) -> str:
    """The words of an HTML fragment on one line, entities decoded (not escaped)."""
    spaced = _BLOCK_END_RE.sub(" ", fragment or "")
    return " ".join(html.unescape(_TEXT_ONLY.clean(spaced)).split())


def excerpt(fragment: str, limit: int = 200) -> str:
    """At most ``limit`` characters of the fragment's text, cut at a word with "…"."""
    text = plain_text(fragment)
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def web_url(url: str | None) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else an empty string.

    Author pages, avatars and permalinks are links we print ourselves: a
    ``javascript:`` or ``data:`` URL from a hostile server must never become one.
    """
    if not url or _CONTROL_RE.search(url) or url != url.strip():
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url


def one_line(text: str | None, limit: int = 200) -> str:
    """A name or handle as one line of plain text without control characters."""
    flat = " ".join(_CONTROL_RE.sub(" ", text or "").split())
    return flat[:limit]
