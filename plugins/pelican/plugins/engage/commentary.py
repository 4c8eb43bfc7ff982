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

from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

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

    @property
    def own_words(self) -> int:
        return textmod.count_words(self.own_text)


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


class _Scanner(HTMLParser):
    def __init__(self, html: str, headings: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.headings = headings
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(html) if ch == "\n"]
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

    # -- positions ----------------------------------------------------------
    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _after_tag(self, offset: int) -> int:
        close = self.html.find(">", offset)
        return len(self.html) if close < 0 else close + 1

    @property
    def active(self) -> bool:
        return self.kind is not None and self.end < 0

    # -- events -------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        offset = self._offset()
        level = HEADING_LEVEL.get(tag)
        sibling = len(self.stack) == self.depth
        if self.active and self.kind == "heading" and level and level <= self.level and sibling:
            self._finish(offset, offset)  # a sibling heading of the same or higher level
        if self.heading is None and level and (self.kind is None or self.active):
            self.heading = (level, offset, len(self.stack), [])
        if self.kind is None and self.heading is None:
            classes = set((dict(attrs).get("class") or "").split())
            if classes & COMMENTARY_CLASSES:
                self.kind, self.start, self.depth = "element", offset, len(self.stack)
                self.content_start = self._after_tag(offset)
        if tag in VOID:
            return
        self.stack.append(tag)
        self.quote_depth += tag in QUOTE_TAGS
        self.code_depth += tag in CODE_TAGS

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:  # <div/> and friends: open and close at once
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or tag not in self.stack:
            return
        offset = self._offset()
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
                self.content_start = self._after_tag(offset)
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
            self._finish(offset, self._after_tag(offset))
        elif self.kind == "heading" and len(self.stack) < self.depth:
            self._finish(offset, offset)  # the heading's parent (a reST section) closed

    def _finish(self, content_end: int, end: int) -> None:
        self.content_end, self.end = content_end, end

    def handle_data(self, data: str) -> None:
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

    def close(self) -> None:
        super().close()
        if self.active:
            self._finish(len(self.html), len(self.html))


def analyze(html: str, headings: Iterable[str]) -> PostAnalysis:
    """Commentary and quotation measures of one post's HTML."""
    wanted = frozenset(_normalize_heading(h) for h in headings)
    scanner = _Scanner(html, wanted)
    scanner.feed(html)
    scanner.close()

    post_own, post_marked = textmod.split_quoted(" ".join(scanner.post_own))
    own_words = textmod.count_words(post_own)
    quoted_words = textmod.count_words(" ".join(scanner.post_quoted)) + textmod.count_words(
        post_marked
    )
    commentary = None
    if scanner.kind is not None:
        own, marked = textmod.split_quoted(" ".join(scanner.own))
        commentary = Commentary(
            html=html[scanner.content_start : scanner.content_end].strip(),
            own_text=textmod.join_text([own]),
            quoted_text=textmod.join_text([*scanner.quoted, marked]),
            start=scanner.start,
            end=scanner.end,
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
