"""Words, quotations and shingles: the text measures the gate is built on.

Pure functions only. A "word" is a token of :data:`WORD_RE`, which follows the
Unicode word rules where they apply and approximates them where they need a
dictionary (UAX #29 leaves Chinese, Japanese and Thai to one):

- scripts written with spaces (Latin, Cyrillic, Greek, Arabic, Hebrew, Hangul,
  Devanagari, ...): a run of word characters (letters, combining marks, digits)
  with inner apostrophes, so ``l’été`` and ``كِتَابٌ`` are one word each;
- Han ideographs (Chinese, and the kanji of Japanese): one word per ideograph;
- Japanese kana: one word per run of hiragana, one per run of katakana
  (``テキスト`` is one word, ``日本語のテキスト`` four);
- Thai and Lao, written without spaces between words: a run is cut before
  every leading vowel (เ แ โ ใ ไ, which always start a syllable) and every four
  letters (combining marks ride along). That approximates a dictionary
  segmentation to about 10% (one letter in 3.4 starts a word in Thai prose), and
  its cuts depend on the text only, so a copied phrase is cut alike.

Comparison text is normalized (Unicode NFKC, case folded, URLs and @handles
removed) so that a copy is not disguised by typography; word 3-shingles of the
same tokens then compare texts by Broder's containment, in every script.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

import regex

# Scripts whose words the space does not delimit, and the kana signs of no script.
_DENSE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}"
_KANA_SIGNS = r"\u30FC\uFF70\uFF9E\uFF9F\u3099-\u309C"  # ー ｰ ﾞ ﾟ and the voicing marks
# A word in a spaced script: starts with a word character that is no mark.
_SPACED = rf"[^\W\p{{M}}{_DENSE}{_KANA_SIGNS}][^\W{_DENSE}{_KANA_SIGNS}]*"
# Thai and Lao: a letter (or digit), then up to three more that are no leading vowel,
# each with its combining marks.
_THAI = r"[^\W\p{M}\P{Thai}]\p{M}*(?:[^\W\p{M}\P{Thai}\u0E40-\u0E44]\p{M}*){0,3}"
_LAO = r"[^\W\p{M}\P{Lao}]\p{M}*(?:[^\W\p{M}\P{Lao}\u0EC0-\u0EC4]\p{M}*){0,3}"
WORD_RE = regex.compile(
    r"\p{Han}\p{M}*"  # one word per ideograph
    rf"|\p{{Hiragana}}[\p{{Hiragana}}\p{{M}}{_KANA_SIGNS}]*"
    rf"|\p{{Katakana}}[\p{{Katakana}}\p{{M}}{_KANA_SIGNS}]*"
    rf"|{_THAI}|{_LAO}"
    rf"|{_SPACED}(?:['’]{_SPACED})*"
)
# The same words, faster, in text without dense scripts (and in ASCII text).
_DENSE_RE = regex.compile(rf"[{_DENSE}]")
_SPACED_RE = regex.compile(rf"{_SPACED}(?:['’]{_SPACED})*")
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9_]+(?:'[A-Za-z0-9_]+)*")
URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
HANDLE_RE = re.compile(r"(?<!\w)@[\w.]+(?:@[\w.-]+)?")

# Passages in quotation marks: "…", “…”, „…“, «…», »…«. Single quotes are left
# alone because they double as apostrophes.
QUOTED_RE = re.compile(
    r'"[^"\n]{1,2000}"|“[^”\n]{1,2000}”|„[^“”\n]{1,2000}[“”]|«[^»\n]{1,2000}»|»[^«\n]{1,2000}«'
)

_QUOTE_OPENERS = ('"', "“", "„", "«", "»")  # every QUOTED_RE passage starts with one

SHINGLE_SIZE = 3


def words(text: str) -> list[str]:
    """The words (:data:`WORD_RE` tokens) of ``text`` as written (no normalization)."""
    if text.isascii():
        return _ASCII_WORD_RE.findall(text)
    if _DENSE_RE.search(text) is None:
        return _SPACED_RE.findall(text)
    return WORD_RE.findall(text)


# Counting runs in C on ASCII text (bytes.translate and bytes.split); typography is
# first mapped to ASCII that plays the same part, and anything else non-ASCII falls
# back to the regular expressions.
_TYPOGRAPHY = "“”‘’«»„‚‹›–—…·•¡¿"  # punctuation, never part of a word
_SPACES = "\xa0\u2002\u2003\u2009\u200a\u202f\u3000"  # white space to str.split()
# For words: ’ joins like ' (see WORD_RE); other typography and spaces separate.
_AS_WORDS = (("’", "'"), *((c, " ") for c in _TYPOGRAPHY + _SPACES if c != "’"))
# For the fast count: typography is deleted like other punctuation.
_AS_LOOSE = (*((c, "") for c in _TYPOGRAPHY), *((c, " ") for c in _SPACES))

# ASCII bytes that are no word character (``\w`` on ASCII) become spaces.
_NON_WORD_TO_SPACE = bytes(
    c if chr(c).isascii() and (chr(c).isalnum() or c == ord("_")) else ord(" ") for c in range(256)
)
# For the fast count a word is a run of non-space characters with at least one that
# is not punctuation: "word ," counts one word and a lone dash none.
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + _TYPOGRAPHY
_PUNCTUATION_ONLY_RE = re.compile(rf"(?<!\S)[{re.escape(_PUNCTUATION)}]+(?!\S)")
_ASCII_PUNCTUATION = bytes(c for c in map(ord, _PUNCTUATION) if c < 128)
# str.split() also splits at these four ASCII separators; bytes.split() does not.
_ASCII_SEPARATORS = bytes.maketrans(b"\x1c\x1d\x1e\x1f", b"    ")


def _as_ascii(text: str, mapping: tuple[tuple[str, str], ...]) -> str | None:
    """``text`` with ``mapping`` applied, if that leaves it ASCII."""
    for char, replacement in mapping:
        if char in text:
            text = text.replace(char, replacement)
    return text if text.isascii() else None


def count_words(text: str) -> int:
    """How many :data:`WORD_RE` words ``text`` has."""
    plain = text if text.isascii() else _as_ascii(text, _AS_WORDS)
    if plain is None:
        return len(words(text))
    # Runs of word characters, less the apostrophes that join two runs into one word.
    runs = len(plain.encode("ascii").translate(_NON_WORD_TO_SPACE).split())
    if "'" in plain:
        parts = plain.split("'")
        runs -= sum(1 for a, b in itertools.pairwise(parts) if a and b and _joins(a[-1], b[0]))
    return runs


def _joins(before: str, after: str) -> bool:
    return (before.isalnum() or before == "_") and (after.isalnum() or after == "_")


def count_words_fast(text: str) -> int:
    """About :func:`count_words`, several times faster: for whole-post totals.

    Words are what white space separates, less runs of punctuation; text with
    Chinese, Japanese, Thai or Lao in it, where spaces do not separate words, is
    counted exactly.
    """
    plain = text if text.isascii() else _as_ascii(text, _AS_LOOSE)
    if plain is None:
        if _DENSE_RE.search(text):
            return len(WORD_RE.findall(text))
        return len(text.split()) - len(_PUNCTUATION_ONLY_RE.findall(text))
    return len(plain.encode("ascii").translate(_ASCII_SEPARATORS, _ASCII_PUNCTUATION).split())


def split_quoted(text: str) -> tuple[str, str]:
    """``text`` without its passages in quotation marks, and those passages."""
    if not any(mark in text for mark in _QUOTE_OPENERS):  # most paragraphs: no scan
        return text, ""
    rest, quoted, position = [], [], 0
    for match in QUOTED_RE.finditer(text):  # one pass for both halves
        rest.append(text[position : match.start()])
        quoted.append(match.group(0))
        position = match.end()
    if not quoted:
        return text, ""
    rest.append(text[position:])
    return " ".join(rest), " ".join(quoted)


def normalize(text: str) -> str:
    """Comparison form: NFKC, case folded, URLs and handles removed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = URL_RE.sub(" ", text)
    text = HANDLE_RE.sub(" ", text)
    return " ".join(words(text.casefold()))


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
