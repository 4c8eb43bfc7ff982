"""The gate's word counts: the fast ASCII paths agree with the plain definitions."""

from __future__ import annotations

import random

import pytest

from pelican.plugins.engage.gate.text import (
    WORD_RE,
    count_words,
    count_words_fast,
    split_quoted,
)

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»„‚‹›–—…·•¡¿"


def loose_words(text: str) -> int:
    """The fast count's definition: punctuation deleted, then a split at white space."""
    return len(text.translate(dict.fromkeys(map(ord, PUNCTUATION))).split())


TRICKY = [
    "",
    "   ",
    "—",
    "word , word",
    "don't stop",
    "rock 'n' roll",
    "a'b'c a''b 'a' b'",
    "l’été d’or ‘quoted’",
    "x_y 42 café naïve",
    "thin\u2009space\xa0and\u3000wide",
    "a\x1cb\x1fc",
    "«guillemets» “curly” — dash… end",
    "日本語のテキスト and Ελληνικά",
]


@pytest.mark.parametrize("text", TRICKY)
def test_counts_agree_with_their_definitions(text: str) -> None:
    assert count_words(text) == len(WORD_RE.findall(text))
    assert count_words_fast(text) == loose_words(text)


def test_counts_agree_on_random_text() -> None:
    alphabet = list("ab_9 ',.-\n\t\x1c") + list("é’‘“”—…\xa0\u2009·ß日")
    rng = random.Random(9)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert count_words(text) == len(WORD_RE.findall(text)), repr(text)
        assert count_words_fast(text) == loose_words(text), repr(text)


def test_split_quoted() -> None:
    assert split_quoted('I say "no" and “yes”.') == ("I say   and  .", '"no" “yes”')
    assert split_quoted("nothing quoted") == ("nothing quoted", "")
