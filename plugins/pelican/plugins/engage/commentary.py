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


# One regex finds every comment and tag with its offsets. Pelican's readers emit
# well-formed HTML, so this is exact for them, and it is several times faster
# than html.parser, which matters on sites with thousands of posts.
TOKEN_RE = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<[!?][^>]*>"
    r"|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
CLASS_RE = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.I)
RAW_TEXT = frozenset({"script", "style"})


class _Scanner:
    def __init__(self, html: str, headings: frozenset[str]) -> None:
        self.html = html
        self.headings = headings
        self.stack: list[str] = []
        self.quote_depth = 0
        self.code_depth = 0
        self.post_own: list[str] = []
        self.post_quoted: list[str] = []
        # a heading being read: (level, start offset, depth, text parts)
        self.heading: tuple[int, int, int, list[str]] | None = None
        # the commentary region
        self.kind: str | None = None  # "heading" | "element"
        self.level = 0
        self.depth = 0
        self.start = self.content_start = self.content_end = -1
        self.end = -1
        self.own: list[str] = []
        self.quoted: list[str] = []

    @property
    def active(self) -> bool:
        return self.kind is not None and self.end < 0

    def run(self) -> None:
        html, position = self.html, 0
        for match in TOKEN_RE.finditer(html):
            if match.start() < position:
                continue  # inside a skipped <script> or <style>
            if match.start() > position:
                self.data(html[position : match.start()])
            position = match.end()
            closing, tag = match.group(1), match.group(2)
            if tag is None:
                continue  # a comment, doctype or processing instruction
            tag = tag.lower()
            if closing:
                self.end_tag(tag, match.start(), match.end())
            elif tag in RAW_TEXT:
                close = html.lower().find(f"</{tag}", position)
                position = len(html) if close < 0 else close
                self.start_tag(tag, match.group(3), match.start(), match.end())
            else:
                attrs = match.group(3)
                self.start_tag(tag, attrs, match.start(), match.end())
                if attrs.rstrip().endswith("/") and tag not in VOID:
                    self.end_tag(tag, match.end(), match.end())  # <div/>
        if position < len(html):
            self.data(html[position:])
        if self.active:
            self.content_end = self.end = len(html)

    # -- events -------------------------------------------------------------
    def start_tag(self, tag: str, attrs: str, offset: int, after: int) -> None:
        level = HEADING_LEVEL.get(tag)
        sibling = len(self.stack) == self.depth
        if self.active and self.kind == "heading" and level and level <= self.level and sibling:
            self.content_end = self.end = offset  # a sibling heading of the same or higher level
        if self.heading is None and level and (self.kind is None or self.active):
            self.heading = (level, offset, len(self.stack), [])
        if self.kind is None and self.heading is None and "commentary" in attrs:
            found = CLASS_RE.search(attrs)
            classes = set(next((g for g in found.groups() if g), "").split()) if found else set()
            if classes & COMMENTARY_CLASSES:
                self.kind, self.start, self.depth = "element", offset, len(self.stack)
                self.content_start = after
        if tag in VOID:
            return
        self.stack.append(tag)
        self.quote_depth += tag in QUOTE_TAGS
        self.code_depth += tag in CODE_TAGS

    def end_tag(self, tag: str, offset: int, after: int) -> None:
        if tag in VOID or tag not in self.stack:
            return
        while self.stack:
            popped = self.stack.pop()
            self.quote_depth -= popped in QUOTE_TAGS
            self.code_depth -= popped in CODE_TAGS
            if popped == tag:
                break
        if self.heading and tag == f"h{self.heading[0]}" and len(self.stack) == self.heading[2]:
            level, start, depth, parts = self.heading
            self.heading = None
            title = "".join(parts)
            is_take = _normalize_heading(title) in self.headings
            if self.kind is None and is_take:
                self.kind, self.level, self.depth, self.start = "heading", level, depth, start
                self.content_start = after
                return
            if self.active and not is_take:
                self.own.append(title)  # a sub-heading inside the take is the author's words
                self.post_own.append(title)
            elif self.kind is None:
                self.post_own.append(title)
            return
        if not self.active:
            return
        if self.kind == "element" and len(self.stack) == self.depth:
            self.content_end, self.end = offset, after
        elif self.kind == "heading" and len(self.stack) < self.depth:
            self.content_end = self.end = offset  # the heading's parent (a reST section) closed

    def data(self, data: str) -> None:
        if "&" in data:
            data = unescape(data)
        if self.heading is not None:
            self.heading[3].append(data)
            return  # a heading's words are not the author's take
        if self.code_depth:
            return
        in_region = self.active and self.content_start >= 0
        if self.quote_depth:
            self.post_quoted.append(data)
            if in_region:
                self.quoted.append(data)
        else:
            self.post_own.append(data)
            if in_region:
                self.own.append(data)


def analyze(html: str, headings: Iterable[str]) -> PostAnalysis:
    """Commentary and quotation measures of one post's HTML."""
    wanted = frozenset(_normalize_heading(h) for h in headings)
    scanner = _Scanner(html, wanted)
    scanner.run()

    post_own, post_marked = textmod.split_quoted(" ".join(scanner.post_own))
    own_words = textmod.count_words(post_own)
    quoted_words = textmod.count_words(" ".join(scanner.post_quoted)) + textmod.count_words(
        post_marked
    )
    commentary = None
    if scanner.kind is not None:
        own, marked = textmod.split_quoted(" ".join(scanner.own))
        own_text = textmod.join_text([own])
        commentary = Commentary(
            html=html[scanner.content_start : scanner.content_end].strip(),
            own_text=own_text,
            quoted_text=textmod.join_text([*scanner.quoted, marked]),
            start=scanner.start,
            end=scanner.end,
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
