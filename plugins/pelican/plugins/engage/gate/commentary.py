"""Find the author's commentary in a post's rendered HTML, in one streaming pass.

Working on the HTML (not the Markdown or reST source) makes every input format
behave alike. The commentary is the section under a heading whose text is one
of the configured headings, up to the next heading of the same or a higher
level (or the end of the heading's parent, which is how reST wraps sections),
or else the first element with class ``commentary``.

The same pass counts the whole post's words and how many of them are quoted
(blockquotes, ``<q>`` and passages in quotation marks); code is neither the
author's words nor a quotation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import unescape

from . import text as textmod

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
QUOTE_TAGS = frozenset({"blockquote", "q"})
CODE_TAGS = frozenset({"pre", "code", "kbd", "samp", "script", "style", "template"})
HEADING_LEVEL = {f"h{n}": n for n in range(1, 7)}
COMMENTARY_CLASSES = frozenset({"commentary", "engage-commentary"})
MARK_OPEN = '<section class="engage-commentary" aria-label="The author’s take">'
MARK_CLOSE = "</section>"


@dataclass(frozen=True)
class Commentary:
    html: str  # the section's inner HTML, without its heading
    own_text: str  # the author's words: no quotations, no code
    quoted_text: str
    start: int  # the region to mark, as offsets into the post HTML
    end: int
    own_words: int = 0


@dataclass(frozen=True)
class PostAnalysis:
    commentary: Commentary | None
    total_words: int  # every word of the post but code
    quoted_words: int

    @property
    def quoted_ratio(self) -> float:
        return self.quoted_words / self.total_words if self.total_words else 0.0


def _normalize_heading(value: str) -> str:
    return " ".join(value.replace("\xa0", " ").split()).rstrip(":.!?").casefold()


# Pelican's readers emit well-formed HTML, so a few regular expressions do the
# work of a parser here, in C: the scan must stay cheap on sites with thousands
# of posts. Only the commentary region itself is walked tag by tag.
TOKEN_RE = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<[!?][^>]*>"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
HEADING_RE = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.S | re.I)
CLASSED_RE = re.compile(
    r"""<([a-zA-Z][a-zA-Z0-9:-]*)\b[^>]*?\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""",
    re.I,
)
COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
CODE_BLOCK_RE = re.compile(
    r"<(pre|code|kbd|samp|script|style|template)\b[^>]*>.*?</\1\s*>", re.S | re.I
)
QUOTE_BLOCK_RE = re.compile(r"<(blockquote|q)\b[^>]*>.*?</\1\s*>", re.S | re.I)
ANY_TAG_RE = re.compile(r"<[^>]*>")


def _plain(fragment: str) -> str:
    text = ANY_TAG_RE.sub(" ", fragment)
    return unescape(text) if "&" in text else text


def _split_text(fragment: str, takes: frozenset[str]) -> tuple[str, str]:
    """(the author's text, the quoted text) of an HTML fragment; code counts as neither."""
    fragment = COMMENT_RE.sub(" ", fragment)
    fragment = CODE_BLOCK_RE.sub(" ", fragment)
    fragment = HEADING_RE.sub(
        lambda m: " " if _normalize_heading(_plain(m.group(2))) in takes else m.group(0), fragment
    )
    quoted: list[str] = []

    def lift(match: re.Match[str]) -> str:
        quoted.append(match.group(0))
        return " "

    fragment = QUOTE_BLOCK_RE.sub(lift, fragment)
    return _plain(fragment), _plain(" ".join(quoted))


def _parent_close(html: str, start: int, stop: int) -> int | None:
    """Offset of the first end tag between ``start`` and ``stop`` that closes an
    element opened before ``start`` (the region's parent), or None."""
    depth = 0
    for token in TOKEN_RE.finditer(html, start, stop):
        closing, tag = token.group(1), token.group(2)
        if tag is None or tag.lower() in VOID or token.group(3).rstrip().endswith("/"):
            continue
        if not closing:
            depth += 1
        elif depth == 0:
            return token.start()
        else:
            depth -= 1
    return None


def _find_region(html: str, takes: frozenset[str]) -> tuple[int, int, int, int] | None:
    """(start, content start, content end, end) of the commentary, or None."""
    headings = list(HEADING_RE.finditer(html))
    take = next((h for h in headings if _normalize_heading(_plain(h.group(2))) in takes), None)
    limit = take.start() if take else len(html)
    # Most posts have no such class: a substring test spares the regex walk over
    # every classed tag (syntax-highlighted code has hundreds).
    candidates = CLASSED_RE.finditer(html, 0, limit) if "commentary" in html[:limit] else ()
    for match in candidates:
        classes = next((g for g in match.groups()[1:] if g), "").split()
        if COMMENTARY_CLASSES.intersection(classes):
            content_start = html.find(">", match.end()) + 1
            close = _parent_close(html, content_start, len(html))
            if close is None:
                return match.start(), content_start, len(html), len(html)
            return match.start(), content_start, close, html.find(">", close) + 1
    if take is None:
        return None
    level = int(take.group(1))
    following = (h for h in headings if h.start() >= take.end() and int(h.group(1)) <= level)
    nxt = next(following, None)
    stop = nxt.start() if nxt else len(html)
    # A reST section is wrapped in an element that closes before the next heading.
    close = _parent_close(html, take.end(), stop)
    end = stop if close is None else close
    return take.start(), take.end(), end, end


def analyze(html: str, headings: Iterable[str]) -> PostAnalysis:
    """Commentary and quotation measures of one post's HTML."""
    takes = frozenset(_normalize_heading(h) for h in headings)
    post_own, post_quoted = _split_text(html, takes)
    post_own, post_marked = textmod.split_quoted(post_own)
    # Totals only feed the quoted share, numerator and denominator alike: count fast.
    own_words = textmod.count_words_fast(post_own)
    quoted_words = textmod.count_words_fast(post_quoted) + textmod.count_words_fast(post_marked)
    commentary = None
    region = _find_region(html, takes)
    if region is not None:
        start, content_start, content_end, end = region
        inner = html[content_start:content_end]
        own, quoted = _split_text(inner, takes)
        own, marked = textmod.split_quoted(own)
        own_text = textmod.join_text([own])
        commentary = Commentary(
            html=inner.strip(),
            own_text=own_text,
            quoted_text=textmod.join_text([quoted, marked]),
            start=start,
            end=end,
            own_words=textmod.count_words(own_text),
        )
    return PostAnalysis(commentary, own_words + quoted_words, quoted_words)


def mark(html: str, commentary: Commentary | None) -> str:
    """``html`` with the commentary wrapped in a section the theme can style.

    Idempotent: a post whose commentary is already marked is returned as is.
    """
    if commentary is None or html.startswith(MARK_OPEN, commentary.start):
        return html
    start, end = commentary.start, commentary.end
    return html[:start] + MARK_OPEN + html[start:end] + MARK_CLOSE + html[end:]
