"""X text: twitter-text's weighted length and URL rule, and a tweet's text as HTML.

X counts 280 *weighted* characters: code points in a few ranges (Latin and
general punctuation) weigh 1, every other one 2, an emoji sequence 2, and every
URL 23 whatever its length. twitter-text (``twitter-text-parser``) is that rule;
tests/test_x_length_conformance.py holds it to twitter-text's published
conformance cases.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from twitter_text import parse_tweet

from .text import url_spans

MAX_LENGTH = 280
_REPLY_PREFIX = re.compile(r"\A(?:@\w{1,15}\s+)+", re.ASCII)


# The Python port counts a bare © or ® (an "unqualified" emoji) as an emoji, weight 2;
# twitter-text's own emoji regex (rb/lib/twitter-text/emoji_regex.rb) only takes them
# with VS16, "[©®\u2122\u265f]\ufe0f", so alone they are plain characters of weight 1.
_TEXT_STYLE_RE = re.compile("[\u00a9\u00ae](?!\ufe0f)")


def weighted_length(text: str) -> int:
    """twitter-text's weighted length (NFC first; URLs 23, emoji 2, the light ranges 1)."""
    length = int(parse_tweet(text).weightedLength)
    if "\u00a9" in text or "\u00ae" in text:  # neither can be part of a URL
        length -= len(_TEXT_STYLE_RE.findall(unicodedata.normalize("NFC", text)))
    return length


def canonical(text: str) -> str:
    """Text as X stores it, made comparable: unescaped, NFC, links and spacing neutral."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    for start, end in reversed(url_spans(text)):
        text = text[:start] + "\x00" + text[end:]
    return " ".join(text.split())


def without_reply_prefix(text: str) -> str:
    """A reply's text without the leading @handles X puts there (its UI hides them too)."""
    rest = _REPLY_PREFIX.sub("", text, count=1)
    return rest if rest.strip() else text


def tweet_html(text: str, entities: Mapping[str, Any]) -> str:
    """A tweet's text as HTML: escaped, paragraphs, t.co links shown as what they expand to."""
    expansions = {
        str(u.get("url")): (str(u.get("expanded_url") or u["url"]), str(u.get("display_url") or ""))
        for u in entities.get("urls") or []
        if u.get("url")
    }
    plain = html.unescape(text).replace("\r\n", "\n")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", plain) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(_linkify(line, expansions) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def _linkify(text: str, expansions: Mapping[str, tuple[str, str]]) -> str:
    out, position = [], 0
    for start, end in url_spans(text):
        link = text[start:end]
        href, label = expansions.get(link, (link, ""))
        if not href.lower().startswith(("http://", "https://")):
            href = "https://" + href
        out.append(html.escape(text[position:start]))
        out.append(f'<a href="{html.escape(href)}">{html.escape(label or link)}</a>')
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)
