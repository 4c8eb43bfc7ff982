"""Text measures the adapters share: grapheme clusters, and URLs the way twitter-text finds them."""

from __future__ import annotations

import regex
from twitter_text import extract_urls_with_indices

# Extended grapheme clusters (Unicode UAX #29), as the networks count "characters".
_GRAPHEME_RE = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """How many user-perceived characters ``text`` has (a ZWJ family or a flag is one)."""
    if text.isascii():  # one cluster per character, except a CR LF pair
        return len(text) - text.count("\r\n")
    return len(_GRAPHEME_RE.findall(text))


def url_spans(text: str, *, bare_domains: bool = True) -> list[tuple[int, int]]:
    """(start, end) code point offsets of the URLs twitter-text extracts from ``text``.

    A URL needs a known top-level domain; with ``bare_domains`` (X) one written
    without ``https://`` counts too, without it (Mastodon) only those with a scheme.
    """
    found = extract_urls_with_indices(text, bare_domains)
    return [(int(url["indices"][0]), int(url["indices"][1])) for url in found]
