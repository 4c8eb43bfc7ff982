"""Find the author's commentary in a post's rendered HTML, with one lxml parse.

Working on the HTML (not the Markdown or reST source) makes every input format
behave alike. The commentary is the section under a heading whose text is one
of the configured headings, up to the next heading of the same or a higher
level (or the end of the heading's parent, which is how reST wraps sections),
or else the first element with class ``commentary``.

The same tree gives the whole post's words and how many of them are quoted
(blockquotes, ``<q>`` and passages in quotation marks, nested ones included);
code is neither the author's words nor a quotation. The tree decides where the
commentary is; :class:`markup.SourceMap` then finds it in the source, so that
:func:`mark` wraps it without re-serializing the post.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape

import lxml.html
from lxml import etree

from . import markup
from . import text as textmod

QUOTE_TAGS = frozenset({"blockquote", "q"})
CODE_TAGS = frozenset({"pre", "code", "kbd", "samp", "script", "style", "template"})
HEADING_LEVEL = {f"h{n}": n for n in range(1, 7)}
HEADINGS_UP_TO = {n: tuple(f"h{k}" for k in range(1, n + 1)) for n in range(1, 7)}
COMMENTARY_CLASSES = frozenset({"commentary", "engage-commentary"})
MARK_OPEN = '<section class="engage-commentary" aria-label="The author’s take">'
MARK_CLOSE = "</section>"
_ENDS = (">", " ", "\t", "\n", "\r", "\f")  # what may follow a tag name


@dataclass(frozen=True)
class Commentary:
    html: str  # the section's inner HTML, without its heading
    own_text: str  # the author's words: no quotations, no code
    quoted_text: str
    start: int  # the region to mark, as offsets into the post HTML (-1: not locatable)
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


@dataclass
class _Region:
    members: list[markup.Element]  # the elements the commentary is made of
    with_tails: bool  # a heading's section owns the text between its elements
    html: str
    start: int
    end: int


def _normalize_heading(value: str) -> str:
    return " ".join(value.split()).rstrip(":.!?").casefold()  # split() also splits at \xa0


def _has_class(element: markup.Element) -> bool:
    classes = element.get("class")
    return bool(classes) and not COMMENTARY_CLASSES.isdisjoint(classes.split())


def _first_classed(
    root: markup.Element, html: str, take: markup.Element | None
) -> markup.Element | None:
    """The first element with a commentary class, if it comes before ``take``."""
    if "commentary" not in html:  # most posts: spare the walk over every element
        return None
    for element in root.iter(etree.Element):
        if element is take:
            return None
        if element is not root and _has_class(element):
            return element
    return None


def _heading_text(heading: markup.Element) -> str:
    # Most headings are plain text: spare the XPath call.
    return heading.text or "" if len(heading) == 0 else markup.text_of(heading)


def _serialize(lead: str | None, elements: Iterable[markup.Element]) -> str:
    """Inner HTML rebuilt from the tree, for a region the source offsets could not place."""
    out = [escape(lead, quote=False) if lead else ""]
    out.extend(lxml.html.tostring(e, encoding="unicode", with_tail=True) for e in elements)
    return "".join(out).strip()


def _classed_region(source: markup.SourceMap, element: markup.Element) -> _Region:
    opening, closing = source.start_tag(element), source.end_tag(element)
    if opening is None:
        return _Region([element], False, _serialize(element.text, element), -1, -1)
    html = source.html
    if closing is None:  # no end tag: the element runs to the end of the post
        closing = (len(html), len(html))
    return _Region([element], False, html[opening[1] : closing[0]].strip(), opening[0], closing[1])


def _heading_region(source: markup.SourceMap, heading: markup.Element) -> _Region:
    """The heading and its following siblings up to the next heading of its level or higher."""
    level = HEADING_LEVEL[heading.tag]
    higher = HEADINGS_UP_TO[level]
    members, stop = [heading], None
    for sibling in heading.itersiblings():
        if sibling.tag in higher or (
            len(sibling) and next(sibling.iter(*higher), None) is not None
        ):
            stop = sibling
            break
        members.append(sibling)
    html = source.html
    opening = source.start_tag(heading)
    # Headings do not nest: the first end tag of its name after the start is its own.
    closing = opening and _end_tag_after(html, heading.tag, opening[1])
    parent = heading.getparent()
    if stop is not None:
        span = source.start_tag(stop)
        end = span[0] if span else None
    elif parent is source.root or parent is None:
        end = len(html)
    else:
        span = source.end_tag(parent)  # a reST section ends with its wrapper
        end = span[0] if span else None
    if not (opening and closing and end is not None and closing <= end):
        return _Region(members, True, _serialize(heading.tail, members[1:]), -1, -1)
    return _Region(members, True, html[closing:end].strip(), opening[0], end)


def _end_tag_after(html: str, tag: str, start: int) -> int | None:
    """The offset after the first end tag named ``tag`` (any case) from ``start`` on."""
    position = html.find("</", start)
    while position >= 0:
        name_end = position + 2 + len(tag)
        if html[position + 2 : name_end].lower() == tag and html[name_end : name_end + 1] in _ENDS:
            close = html.find(">", name_end)
            return close + 1 if close >= 0 else None
        position = html.find("</", position + 2)
    return None


def _texts(region: _Region) -> Iterator[str]:
    """The region's text pieces, in document order."""
    for member in region.members:
        yield from markup.texts(member)
        if region.with_tails and member.tail:
            yield member.tail


def analyze(html: str, headings: Iterable[str]) -> PostAnalysis:
    """Commentary and quotation measures of one post's HTML."""
    takes = _takes(tuple(headings))
    root = markup.parse(html)
    take_headings = [
        h for h in root.iter(*HEADING_LEVEL) if _normalize_heading(_heading_text(h)) in takes
    ]
    first_take = take_headings[0] if take_headings else None
    classed = _first_classed(root, html, first_take)
    region: _Region | None = None
    source = markup.SourceMap(html, root)
    if classed is not None:
        region = _classed_region(source, classed)
    elif first_take is not None:
        region = _heading_region(source, first_take)

    # The region is placed: now prune the tree down to words. Code is nobody's words,
    # a take heading is no word of the post, and quotations are counted apart.
    markup.drop(root, CODE_TAGS)
    if region is not None:  # a dropped member's tail went to the member before it
        region.members[:] = [m for m in region.members if m.getparent() is not None]
    markup.empty(take_headings)
    quotes = markup.outermost(root, QUOTE_TAGS)
    quoted = region_quoted = ""
    if quotes:
        quoted = " ".join(t for q in quotes for t in markup.texts(q))
        if region is not None:
            region_quoted = _region_quoted(region, quotes, root)
        markup.empty(quotes)

    post_own, post_marked = textmod.split_quoted(markup.text_of(root))
    # Totals only feed the quoted share, numerator and denominator alike: count fast.
    own_words = textmod.count_words_fast(post_own)
    quoted_words = textmod.count_words_fast(f"{quoted} {post_marked}")
    commentary = None
    if region is not None:
        mine, marked = textmod.split_quoted(" ".join(_texts(region)))
        own_text = textmod.join_text([mine])
        commentary = Commentary(
            html=region.html,
            own_text=own_text,
            quoted_text=textmod.join_text([region_quoted, marked]),
            start=region.start,
            end=region.end,
            own_words=textmod.count_words(own_text),
        )
    return PostAnalysis(commentary, own_words + quoted_words, quoted_words)


def _region_quoted(region: _Region, quotes: list[markup.Element], root: markup.Element) -> str:
    """The quoted text of the region (all of it when the region is inside a quotation)."""
    members = frozenset(region.members)
    if members and next(region.members[0].iterancestors(*QUOTE_TAGS), None) is not None:
        return " ".join(_texts(region))
    return " ".join(t for q in quotes if _within(q, members, root) for t in markup.texts(q))


def _within(
    element: markup.Element, members: frozenset[markup.Element], root: markup.Element
) -> bool:
    """Whether ``element`` is one of ``members`` or inside one."""
    while element is not None and element is not root:
        if element in members:
            return True
        element = element.getparent()
    return False


@functools.lru_cache(maxsize=8)
def _takes(headings: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_normalize_heading(h) for h in headings)


def mark(html: str, commentary: Commentary | None) -> str:
    """``html`` with the commentary wrapped in a section the theme can style.

    Idempotent: a post whose commentary is already marked is returned as is, and
    so is one whose commentary could not be placed in the source.
    """
    if commentary is None or commentary.start < 0 or html.startswith(MARK_OPEN, commentary.start):
        return html
    start, end = commentary.start, commentary.end
    return html[:start] + MARK_OPEN + html[start:end] + MARK_CLOSE + html[end:]
