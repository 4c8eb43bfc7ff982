"""Compose the snippet each network gets: the commentary leads, the link follows.

Pure logic. A snippet is the commentary's first sentences (never the title),
cut at a sentence boundary, or at a word boundary with an ellipsis when even
the first sentence is too long, followed by the canonical link, and fitted to
the network's own measure (graphemes, weighted characters, URLs as 23...).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..gate import markup

Measure = Callable[[str], int]

SEPARATOR = "\n\n"
ELLIPSIS = "…"
# A sentence ends at . ! ? or … (and any closing quotes or brackets) before white space.
SENTENCE_END_RE = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
SKIPPED_TAGS = frozenset({"blockquote", "pre", "code", "script", "style", "figure", "table"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCKS = frozenset({"p", "li", "div", "section", "br", "h1", "h2", "h3", "h4", "h5", "h6"})


class SnippetTooLong(ValueError):
    def __init__(self, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(f"is {length} characters long as the network counts, {limit} allowed")


def prose(html: str) -> str:
    """Plain text of a commentary's HTML, one line per paragraph.

    The author's prose only: no block quotations, code or headings. Read with the
    gate's own parser, so a snippet leads with the words the gate counted.
    """
    root = markup.parse(html)
    markup.drop(root, SKIPPED_TAGS | HEADINGS)
    for block in root.iter(*BLOCKS):  # a block opens and closes a line
        block.text = "\n" + (block.text or "")
        block.tail = "\n" + (block.tail or "")
    lines = (" ".join(line.split()) for line in "".join(markup.texts(root)).split("\n"))
    return "\n".join(line for line in lines if line)


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(s.strip() for s in SENTENCE_END_RE.split(paragraph) if s.strip())
    return out


def with_link(text: str, link: str | None) -> str:
    if not link or link in text:
        return text
    return f"{text}{SEPARATOR}{link}" if text else link


def compose(commentary_html: str, link: str | None, measure: Measure, limit: int) -> str:
    """The longest run of leading sentences that fits with the link; else a cut first one."""
    parts = sentences(prose(commentary_html))
    if not parts:
        raise ValueError("there is no commentary text to make a snippet from")
    best = ""
    for count in range(1, len(parts) + 1):
        candidate = " ".join(parts[:count])
        if measure(with_link(candidate, link)) > limit:
            break
        best = candidate
    if best:
        return with_link(best, link)
    return with_link(_cut(parts[0], link, measure, limit), link)


def _cut(sentence: str, link: str | None, measure: Measure, limit: int) -> str:
    """The longest word-boundary prefix of ``sentence`` that fits, with an ellipsis."""
    words = sentence.split()
    low, high = 0, len(words)  # binary search: measure grows with the number of words
    while low < high:
        middle = (low + high + 1) // 2
        if measure(with_link(" ".join(words[:middle]) + ELLIPSIS, link)) <= limit:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        raise ValueError("not even one word of the commentary fits beside the link")
    return " ".join(words[:low]).rstrip(",;:—-") + ELLIPSIS


def fit(text: str, link: str | None, measure: Measure, limit: int) -> str:
    """A hand-written snippet plus the link; SnippetTooLong when it does not fit."""
    full = with_link(text.strip(), link)
    length = measure(full)
    if length > limit:
        raise SnippetTooLong(length, limit)
    return full
