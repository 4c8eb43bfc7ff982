"""The gate's word counts: Unicode word rules per script, and the fast paths agree
with the plain definitions."""

from __future__ import annotations

import random

import pytest
import regex as re

from pelican.plugins.engage.gate.text import (
    WORD_RE,
    count_words,
    count_words_fast,
    normalize,
    shingles,
    split_quoted,
    words,
)

PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»„‚‹›–—…·•¡¿"


DENSE = re.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}]")


def loose_words(text: str) -> int:
    """The fast count's definition: punctuation deleted, then a split at white space;
    text in a script written without spaces is counted exactly."""
    if DENSE.search(text):
        return len(WORD_RE.findall(text))
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
    "コーヒーを飲む ｺｰﾋｰ ーー",
    "كِتَابٌ جَمِيلٌ، ولكن…",
    "हिन्दी भाषा",
    "ภาษาไทยง่ายมาก ๆ ครับ",
    "ສະບາຍດີ ເຈົ້າ",
    "한국어를 2026년에",
    "2026年に「新しい」Web版",
    "e\u0301te\u0301 \u0301orphan mark",
]


@pytest.mark.parametrize("text", TRICKY)
def test_counts_agree_with_their_definitions(text: str) -> None:
    assert words(text) == WORD_RE.findall(text)
    assert count_words(text) == len(WORD_RE.findall(text))
    assert count_words_fast(text) == loose_words(text)


def test_counts_agree_on_random_text() -> None:
    alphabet = list("ab_9 ',.-\n\t\x1c") + list("é’‘“”—…\xa0\u2009·ß日")
    alphabet += list("かカーｰ、。ก่เาكِ한я\u0301\u3000")
    rng = random.Random(9)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert words(text) == WORD_RE.findall(text), repr(text)
        assert count_words(text) == len(WORD_RE.findall(text)), repr(text)
        assert count_words_fast(text) == loose_words(text), repr(text)


def test_split_quoted() -> None:
    assert split_quoted('I say "no" and “yes”.') == ("I say   and  .", '"no" “yes”')
    assert split_quoted("nothing quoted") == ("nothing quoted", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # spaced scripts: a word is a run of letters, marks and digits
        ("rock 'n' roll, l’été", ["rock", "n", "roll", "l’été"]),
        ("Привет, мир!", ["Привет", "мир"]),
        ("كِتَابٌ جَمِيلٌ", ["كِتَابٌ", "جَمِيلٌ"]),  # harakat are marks, not breaks
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),
        ("한국어를 2026년에", ["한국어를", "2026년에"]),  # Hangul: words between spaces
        # Chinese and Japanese: an ideograph is a word, so is a run of kana
        ("我认为很好", ["我", "认", "为", "很", "好"]),
        ("日本語のテキスト", ["日", "本", "語", "の", "テキスト"]),
        ("コーヒーを飲む", ["コーヒー", "を", "飲", "む"]),
        ("2026年にWeb版", ["2026", "年", "に", "Web", "版"]),
        # Thai: cut before a leading vowel, and every four letters
        ("ผมชอบเมือง", ["ผมชอ", "บ", "เมือง"]),
        ("ภาษาไทย", ["ภาษา", "ไทย"]),
        # no word: punctuation, a lone prolonged-sound mark
        ("— … 、。「」 ー", []),
    ],
)
def test_words_by_script(text: str, expected: list[str]) -> None:
    assert words(text) == expected
    assert count_words(text) == len(expected)


def test_shingles_use_the_same_words() -> None:
    normalized = normalize("我认为Ｗｅｂ很好 https://example.org @me@social.example")
    assert normalized == "我 认 为 web 很 好"
    assert ("认", "为", "web") in shingles(normalized)
    assert len(shingles(normalized)) == 4
