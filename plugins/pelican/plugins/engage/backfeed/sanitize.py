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

A stranger also chooses how much to send. :func:`clean_comment` caps a body
at MAX_BODY_CHARS *before* the sanitizer sees it (nh3's cost grows faster
than the input on deeply nested markup) and ends a cut body with a link to
the original, drops control characters, and flattens elements nested deeper
than MAX_NESTING, so no later walk of the stored HTML (excerpts, the inbox,
a browser) meets a pathological tree.
"""

from __future__ import annotations

import html
import re

import nh3

from ..model import web_url

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
# C0 and C1 control characters and DEL; in HTML, tabs and line breaks are text.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_HTML_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

MAX_BODY_CHARS = 64 * 1024  # of a comment's HTML as it arrives; the rest is a link away
MAX_NESTING = 16  # elements inside elements; deeper ones keep their text, lose their tag
MAX_TAGS = 1000  # tags in a body as it arrives; later ones are dropped (their text stays)
# Anything an HTML parser may take for a tag, a comment or a declaration.
_RAW_TAG_RE = re.compile(r"<[/!?a-zA-Z][^>]*>")
# One tag of nh3's output (html5ever's serializer): attribute values are always quoted,
# and a "<" or ">" in text is always escaped, so this reads the tags exactly.
_TAG_RE = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*)\s*/?>')
_VOID = frozenset({"br"})


def clean_html(fragment: str) -> str:
    """``fragment`` reduced to the allowlist; safe to print unescaped."""
    return _CLEANER.clean(fragment or "").strip()


def clean_comment(fragment: str, url: str = "", where: str = "") -> str:
    """A stranger's comment body as it is stored: capped, sanitized, flattened.

    Past MAX_BODY_CHARS the body is cut before sanitizing and ends with
    "Read the rest on {where}", linked to ``url`` (its original) when that is
    an http(s) URL.
    """
    body = fragment or ""
    cut = len(body) > MAX_BODY_CHARS
    if cut:
        body = body[:MAX_BODY_CHARS]
    cleaned = cap_nesting(clean_html(_cap_tags(_HTML_CONTROL_RE.sub("", body))))
    if not cut:
        return cleaned
    label = html.escape(
        f"Read the rest on {where}" if where else "Read the rest where it was written"
    )
    link = web_url(url)
    rest = f'<a href="{html.escape(link)}" rel="{LINK_REL}">{label}</a>' if link else label
    return f"{cleaned}<p><em>… {rest}.</em></p>"


def _cap_tags(body: str, limit: int = MAX_TAGS) -> str:
    """``body`` with the tags past the first ``limit`` removed: the parser's work on
    misnested or deeply nested markup grows faster than the number of tags."""
    if body.count("<") <= limit:
        return body
    seen = 0

    def keep_first(tag: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return tag.group(0) if seen <= limit else ""

    return _RAW_TAG_RE.sub(keep_first, body)


def cap_nesting(cleaned: str, limit: int = MAX_NESTING) -> str:
    """Sanitized HTML with elements nested deeper than ``limit`` unwrapped (text kept)."""
    if cleaned.count("<") <= 2 * limit:  # too few tags to nest that deep
        return cleaned
    out: list[str] = []
    kept: list[bool] = []  # per open element: whether its tags were kept
    depth = 0
    at = 0
    for tag in _TAG_RE.finditer(cleaned):
        out.append(cleaned[at : tag.start()])
        at = tag.end()
        closing, name = tag.group(1), tag.group(2).lower()
        if name in _VOID:
            out.append(tag.group(0))
        elif not closing:
            keep = depth < limit
            kept.append(keep)
            depth += keep
            if keep:
                out.append(tag.group(0))
        elif kept and kept.pop():  # the closing tag of an element whose tags were kept
            depth -= 1
            out.append(tag.group(0))
    out.append(cleaned[at:])
    return "".join(out)


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


__all__ = [
    "MAX_BODY_CHARS",
    "MAX_NESTING",
    "cap_nesting",
    "clean_comment",
    "clean_html",
    "excerpt",
    "one_line",
    "plain_text",
    "web_url",  # the one URL policy (model.web_url), for author pages, avatars and permalinks
]


def one_line(text: object, limit: int = 200) -> str:
    """A name or handle as one line of plain text without control characters."""
    flat = " ".join(_CONTROL_RE.sub(" ", text if isinstance(text, str) else "").split())
    return flat[:limit]
