"""Words, quotations and shingles: the text measures the gate is built on.

Pure functions only. Comparison text is normalized (Unicode NFKC, case
folded, URLs and @handles removed) so that a copy is not disguised by
typography; word 3-shingles then compare texts by Broder's containment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

WORD_RE = re.compile(r"\w+(?:['’]\w+)*")
URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HANDLE_RE = re.compile(r"(?<!\w)@[\w.]+(?:@[\w.-]+)?")

# Passages in quotation marks: "…", “…”, „…“, «…», »…«. Single quotes are left
# alone because they double as apostrophes.
QUOTED_RE = re.compile(
    r'"[^"\n]{1,2000}"|“[^”\n]{1,2000}”|„[^“”\n]{1,2000}[“”]|«[^»\n]{1,2000}»|»[^«\n]{1,2000}«'
)

SHINGLE_SIZE = 3


def words(text: str) -> list[str]:
    """The words of ``text`` as written (no normalization)."""
    return WORD_RE.findall(text)


def count_words(text: str) -> int:
    return len(WORD_RE.findall(text))


# Punctuation deleted before a whitespace split, so "word ," counts one word.
_PUNCTUATION = dict.fromkeys(map(ord, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»„‚‹›–—…·•¡¿"), None)


def count_words_fast(text: str) -> int:
    """About :func:`count_words`, several times faster: for whole-post totals."""
    return len(text.translate(_PUNCTUATION).split())


def split_quoted(text: str) -> tuple[str, str]:
    """``text`` without its passages in quotation marks, and those passages."""
    quoted = " ".join(m.group(0) for m in QUOTED_RE.finditer(text))
    return QUOTED_RE.sub(" ", text), quoted


def normalize(text: str) -> str:
    """Comparison form: NFKC, case folded, URLs and handles removed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = URL_RE.sub(" ", text)
    text = HANDLE_RE.sub(" ", text)
    return " ".join(WORD_RE.findall(text.casefold()))


Shingle = tuple[str, ...]


def shingles(normalized: str, size: int = SHINGLE_SIZE) -> set[Shingle]:
    """The set of word ``size``-shingles of an already normalized text."""
    tokens = normalized.split()
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    # zip over shifted lists builds every tuple in C
    return set(zip(*(tokens[i:] for i in range(size)), strict=False))


def containment(part: set[Shingle], whole: set[Shingle]) -> float:
    """Broder's containment c(part, whole) = |S(part) ∩ S(whole)| / |S(part)|."""
    if not part:
        return 0.0
    return len(part & whole) / len(part)


def contains_phrase(normalized_part: str, normalized_whole: str) -> bool:
    """True when the short text occurs word for word inside the long one."""
    if not normalized_part:
        return False
    return f" {normalized_part} " in f" {normalized_whole} "


def join_text(pieces: Iterable[str]) -> str:
    return " ".join(" ".join(pieces).split())
