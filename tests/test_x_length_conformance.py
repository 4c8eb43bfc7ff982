"""X's weighted length against twitter-text's published conformance cases.

twitter-text-parser does not ship the conformance file, so the cases are copied
from twitter/twitter-text, conformance/validate.yml at commit 30e2430d (2021),
the newest there is. Every case below names its section and its ``description``
there; the expected number is that case's ``expected.weightedLength``.
Repetitive texts are built in code: each was checked to be equal to the file's.

The weights (twitter-text v3 configuration): code points 0-4351, 8192-8205,
8208-8223 and 8242-8247 weigh 1, every other one 2, an emoji sequence 2, and
every URL 23, with or without ``https://`` (a known top-level domain needed).
"""

from __future__ import annotations

import pytest

from pelican.plugins.engage.networks.base import AdapterContext
from pelican.plugins.engage.networks.x import XAdapter, weighted_length
from pelican.plugins.engage.networks.x_text import MAX_LENGTH

DISCOUNTED = "WeightedTweetsWithDiscountedEmojiCounterTest"
WEIGHTED = "WeightedTweetsCounterTest"  # version 2: used only for cases without emoji
DIRECTIONAL = "UnicodeDirectionalMarkerCounterTest"

X10 = "xxxxxxxxxx-"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
KANA = "あいうえおかきくけこ"
POEM = (
    "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。"
    "朱雀桥边野草花，乌衣巷口夕阳斜。旧时王谢堂前燕，飞入寻常百姓家。"
    "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。"
    "独在异乡为异客，每逢佳节倍思亲。遥知兄弟登高处，遍插茱萸少一人。"
)
SUPERLONG = "https://" + "somesuperlongurl" * 249 + ".com/foo "

# (section, description, text, expected weightedLength)
CASES = [
    (DISCOUNTED, "Regular Tweet with url", "Hi http://test.co", 26),
    (DISCOUNTED, "Just url", "http://test.co", 23),
    (DISCOUNTED, "Long tweet, overflow at char index 280", "285 chars-" + X10 * 25, 285),
    (
        DISCOUNTED,
        "Long tweet with url in the middle, overflow at char index 284",
        "285 chars- http://www.twitter.com/jack " + X10 * 24,
        299,
    ),
    (
        DISCOUNTED,
        "Long tweet with url at the end, overflow at char index 265",
        X10 * 24 + " http://www.twitter.com/jack ",
        289,
    ),
    (DISCOUNTED, "10 url string, no overflow", "https://www.twitter.com/aloha " * 10, 240),
    (DISCOUNTED, "160 CJK char, overflow at char index 140", POEM, 320),
    (DISCOUNTED, "160 emoji char, overflow at char index 140", "\U0001f637" * 160, 320),
    (DISCOUNTED, "3 latin char + 160 CJK char, overflow at char index 141", "the" + POEM, 323),
    (
        DISCOUNTED,
        "282 chars with a normalized character within valid range but outside 280",
        "282 chars-" + X10 * 24 + "xxxxxA\u0301x",
        281,
    ),
    (
        DISCOUNTED,
        "Count a mix of single byte single word, and double word unicode characters",
        "H\U0001f431\u263a" + FAMILY,
        7,
    ),
    (
        DISCOUNTED,
        "Count unicode emoji chars inside the basic multilingual plane",
        "\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9",
        10,
    ),
    (
        DISCOUNTED,
        "Count unicode emoji chars outside the basic multilingual plane with skin tone modifiers",
        "\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4",
        4,
    ),
    (
        DISCOUNTED,
        "Handle General Punctuation Characters with visible spaces(u2000-200A), no ZWJ/ZWNJ",
        (
            "This is a tweet with general punctuation characters: "
            "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b "
            "\u2010 \u2011 \u2012 \u2013 \u2014 \u2015 \u2016  \u2017 \u2018 \u2019 \u201a \u201b "
            "\u201c \u201d \u201e \u201f \u2032 \u2033 \u2034 \u2035 \u2036 \u2037"
        ),
        110,
    ),
    (
        DISCOUNTED,
        "Handle long url with invalid domain labels and short url",
        "Long url with invalid domain labels and a short url: "
        + SUPERLONG * 3
        + "https://validurl.com",
        12079,
    ),
    (
        DISCOUNTED,
        "Handle a 64 character domain without protocol",
        "randomurl" * 7 + "s.com",
        68,
    ),
    (
        DISCOUNTED,
        (
            "Do not allow > 140 CJK characters by virtue of CJK chars greater than 63 punycode "
            "encoded chars in the host"
        ),
        KANA * 12 + " http://" + KANA * 5 + "あいう.com",
        358,
    ),
    (
        DISCOUNTED,
        (
            "Allow > 140 CJK characters by virtue of CJK chars less than 63 punycode encoded chars "
            "in the host"
        ),
        KANA * 12 + " http://" + KANA * 5 + "あい.com",
        264,
    ),
    (DISCOUNTED, "140 family emoji", FAMILY * 140, 280),
    (
        DISCOUNTED,
        "Emoji with a leading character in the latin range is counted as 2",
        "1\u20e3",
        2,
    ),
    (
        DISCOUNTED,
        "Unicode 10.0 emoji",
        (
            "Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; "
            "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
        ),
        34,
    ),
    (
        DISCOUNTED,
        "Unicode 9.0 emoji",
        "Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe",
        29,
    ),
    # Version 2 cases without emoji: the emoji discount does not change them.
    (WEIGHTED, "'A\u0301' is normalized into 1 char", "A\u0301B", 2),
    (WEIGHTED, "\ufb2c is normalized into 3 chars", "A\ufb2c", 4),
    (DIRECTIONAL, "Handle invalid characters", "ABC\u202a\uffffABC\ufffe", 12),
    (
        DIRECTIONAL,
        "Tweet text containing directional characters should be considered valid",
        "\u2066\u202ahttp://foobar.\u067e\u0627\u06a9\u0633\u062a\u0627\u0646/\u202c\u2069",
        31,
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, n, id=f"{section}: {what}"[:90]) for section, what, text, n in CASES],
)
def test_validate_yml_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


# Cases the file does not hold as lengths, with where their numbers come from.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # validate.yml urls_without_protocol: "example.com" and "www.example.com" are URLs,
        # so each weighs 23 like any URL; the words around them weigh 1 a character.
        pytest.param("see example.com now", 4 + 23 + 4, id="bare-gtld-domain"),
        pytest.param("www.example.com/a?b=c", 23, id="bare-domain-with-path"),
        # extract.yml: "DO NOT extract invalid URL: http://no-tld" - an unknown TLD is text.
        pytest.param("http://no-tld", 13, id="no-tld-is-text"),
        # twitter-text's emoji regex takes © only with VS16 ("[©®\u2122\u265f]\ufe0f" in
        # rb/lib/twitter-text/emoji_regex.rb): alone it is U+00A9, in the range that weighs 1.
        pytest.param("\u00a9 2026 \u00a9\ufe0f", 1 + 6 + 2, id="text-style-copyright"),
        # Skin tone and ZWJ sequences are one emoji each (as "\U0001f64b\U0001f3fd\U0001f468
        # \u200d\U0001f3a4" = 4 above): 2 + 1 (space) + 2.
        pytest.param("\U0001f44d\U0001f3fd \U0001f469\U0001f3fd\u200d\U0001f4bb", 5, id="tones"),
        # Combining marks that do not compose under NFC weigh as code points: q (1) + U+0303 (1).
        pytest.param("q\u0303", 2, id="combining-mark"),
    ],
)
def test_weighted_length_beyond_the_file(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_the_adapter_measures_with_it() -> None:
    adapter = XAdapter({}, AdapterContext(env={}))
    assert adapter.max_length() == MAX_LENGTH == 280
    for _, _, text, expected in CASES[:6]:
        assert adapter.measure(text) == expected
