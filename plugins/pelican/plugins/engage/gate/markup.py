"""Post HTML read with lxml: parse a fragment, prune it, read its text, locate its tags.

The gate (commentary and quotation measures) and the snippet composer both read
text through these helpers, so they agree on what code, a quotation or a
paragraph is. Pruning and reading run in lxml's C iterators, and libxml2 stops
nesting at 256 levels (what lies deeper is dropped), so hostile input stays
cheap. The tree decides; :class:`SourceMap` only finds where an element the
parser saw is written in the source, so the commentary can be marked in place
without re-serializing (and so altering) the post.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TypeAlias

from lxml import etree

# Comments and processing instructions are never text. Plain etree elements: the
# lxml.html element classes cost a Python call per element, for nothing we use.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True)
# Where a "<tag" is text, not a tag: comments and the raw text of script-like elements.
_RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
_HIDDEN_RE = re.compile(
    rf"<!--.*?(?:-->|\Z)|<({'|'.join(_RAW_TEXT)})\b[^>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I
)
# The rest of a start tag once its name is known, quoted attribute values included.
_TAG_REST_RE = re.compile(r"""(?:[^>"']|"[^"]*"|'[^']*')*>""")

Element: TypeAlias = etree._Element


def parse(html: str) -> Element:
    """The fragment ``html`` as the ``<body>`` of a document (bad input gives an empty body).

    This is what ``lxml.html.fragments_fromstring`` does, keeping the body as the root.
    """
    try:
        document = etree.fromstring(f"<html><body>{html}</body></html>", _PARSER)
    except (etree.ParserError, ValueError):  # e.g. an encoding declaration in a str
        document = None
    body = document.find("body") if document is not None else None
    return body if body is not None else etree.Element("body")


# Text nodes in document order: a tail is a text node of the parent, the element's own
# tail is outside. Plain strings, not lxml's "smart" ones that remember their parent.
_TEXTS = etree.XPath("descendant-or-self::text()", smart_strings=False)


def texts(element: Element) -> list[str]:
    """The text pieces under ``element``, in document order (its tail excluded)."""
    return _TEXTS(element)


def text_of(element: Element) -> str:
    """All text under ``element``, a space at every tag boundary (its tail excluded)."""
    return " ".join(_TEXTS(element))


def drop(root: Element, tags: Iterable[str]) -> None:
    """Remove every element named in ``tags`` with its content; the text after it stays."""
    etree.strip_elements(root, *tags, with_tail=False)


def outermost(root: Element, tags: Iterable[str]) -> list[Element]:
    """The elements named in ``tags`` (``root`` included) that are not inside another one."""
    found = []
    walker = etree.iterwalk(root, events=("start",), tag=tuple(tags))
    for _, element in walker:
        found.append(element)
        walker.skip_subtree()  # a quotation inside a quotation is part of it
    return found


def empty(elements: Iterable[Element]) -> None:
    """Take the content out of ``elements``; the elements and the text after them stay."""
    for element in elements:
        element.clear(keep_tail=True)


# -- where an element is written in the source ----------------------------------------
@functools.cache
def _start_re(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{re.escape(tag)}(?=[\s/>])", re.IGNORECASE)


class SourceMap:
    """Where the elements of ``root`` (parsed from ``html``) are written in ``html``.

    The parser keeps no offsets, only the line where each start tag ends: the
    n-th element named ``tag`` is matched with the next ``<tag`` of the source
    whose tag ends on its line. A ``<tag`` in a comment or in a script is passed
    over; an element the parser implied (no tag in the source) has no offset.
    """

    def __init__(self, html: str, root: Element) -> None:
        self.html = html
        self.root = root
        self._spans: dict[str, dict[Element, tuple[int, int]]] = {}
        self._hidden_spans: list[tuple[int, int]] | None = None

    def start_tag(self, element: Element) -> tuple[int, int] | None:
        """(offset of ``<``, offset after ``>``) of ``element``'s start tag, or None."""
        tag = element.tag
        if not isinstance(tag, str):
            return None
        if tag not in self._spans:
            self._spans[tag] = self._align(tag)
        return self._spans[tag].get(element)

    def end_tag(self, element: Element) -> tuple[int, int] | None:
        """(offset of ``</``, offset after ``>``) of ``element``'s end tag, or None.

        Between an element's end tag and the start tag of whatever follows its
        subtree there are only tails (text) and the end tags of the ancestors that
        close there too: counting those back from that start tag finds ours.
        """
        html, closing, current = self.html, 0, element
        following: Element | None = None
        while current is not self.root:
            following = current.getnext()
            parent = current.getparent()
            if following is not None or parent is None or parent is self.root:
                break
            current, closing = parent, closing + 1
        if following is None:
            limit = len(html)
        else:
            span = self.start_tag(following)
            if span is None:
                return None
            limit = span[0]
        position = limit
        for _ in range(closing + 1):
            position = html.rfind("</", 0, position)
            if position < 0:
                return None
        tag = str(element.tag)
        after = position + 2 + len(tag)
        close = html.find(">", after)
        if close < 0 or html[position + 2 : after].lower() != tag or html[after] not in " \t\n\r>":
            return None
        return position, close + 1

    def _align(self, tag: str) -> dict[Element, tuple[int, int]]:
        """The start-tag span of every element named ``tag`` that has one."""
        html = self.html
        nodes = [n for n in self.root.iter(tag) if n is not self.root and n.sourceline is not None]
        matches = list(_start_re(tag).finditer(html))
        if len(matches) != len(nodes):  # some "<tag" is text, or some element has no tag
            matches = [m for m in matches if not self._hidden(m.start())]
        spans: dict[Element, tuple[int, int]] = {}
        line, counted = 1, 0  # the line number at offset ``counted``
        candidates = iter(matches)
        candidate: tuple[int, int, int] | None = None  # (start, end, line of its ">")
        for node in nodes:
            while True:
                if candidate is None:
                    match = next(candidates, None)
                    rest = match and _TAG_REST_RE.match(html, match.end())
                    if not (match and rest):
                        return spans
                    line += html.count("\n", counted, rest.end())
                    counted = rest.end()
                    candidate = (match.start(), rest.end(), line)
                if candidate[2] > node.sourceline:
                    break  # the parser implied this node: it has no tag of its own
                if candidate[2] == node.sourceline:
                    spans[node] = candidate[:2]
                    candidate = None
                    break
                candidate = None  # a tag the parser made no element of
        return spans

    def _hidden(self, offset: int) -> bool:
        """Whether ``offset`` lies in a comment or in the raw text of a script-like element."""
        if self._hidden_spans is None:
            self._hidden_spans = [m.span() for m in _HIDDEN_RE.finditer(self.html)]
        return any(low <= offset < high for low, high in self._hidden_spans)
