"""Bluesky text: its length rule, rich-text facets from the SDK, and a record's text as HTML.

Text is limited to 300 graphemes and 3,000 UTF-8 bytes, URLs counted in full. A
link (or a hashtag) is plain text unless a facet marks it, in UTF-8 *byte*
offsets: the SDK's own detection finds them as the Bluesky app does, bare
domains with a known top-level domain and ``#tags`` included.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from typing import Any

from atproto_client import models
from atproto_client.utils import detect_facets

from .text import grapheme_count

MAX_GRAPHEMES = 300
MAX_BYTES = 3000


def measure_text(text: str) -> int:
    """Graphemes, as Bluesky counts them, unless the text breaks the byte limit.

    Bluesky enforces both 300 graphemes and 3,000 UTF-8 bytes. Past 3,000
    bytes this returns a tenth of the byte count (more than 300), so one
    number answers both limits: a text fits exactly when it is at most 300.
    """
    size = len(text.encode("utf-8"))
    graphemes = grapheme_count(text)
    return graphemes if size <= MAX_BYTES else max(graphemes, math.ceil(size / 10))


def text_facets(text: str) -> list[models.AppBskyRichtextFacet.Main]:
    """Link, hashtag and cashtag facets of ``text``, in UTF-8 byte offsets.

    Mentions are left out: a mention facet needs the account's DID, which only
    a lookup on the network can tell.
    """
    return detect_facets(text)


def field(obj: Any, name: str, alias: str | None = None) -> Any:
    """A field of a model or of the plain dict the SDK falls back to for unknown records."""
    if obj is None:
        return None
    if isinstance(obj, Mapping) or hasattr(obj, "to_dict"):
        try:
            value = obj[alias or name]
        except (KeyError, TypeError):
            value = None
        return value
    return getattr(obj, name, None)


def facet_href(feature: Any, web_url: str) -> str | None:
    kind = str(field(feature, "py_type", "$type") or "")
    if kind.endswith("#link"):
        uri = str(field(feature, "uri") or "")
        return uri if re.match(r"https?://", uri, re.IGNORECASE) else None
    if kind.endswith("#mention"):
        return f"{web_url}/profile/{field(feature, 'did')}"
    if kind.endswith("#tag"):
        return f"{web_url}/hashtag/{field(feature, 'tag')}"
    return None


def record_html(text: str, facets: list[Any] | None, web_url: str) -> str:
    """Escaped text in paragraphs, with faceted spans turned into links."""
    data = text.encode("utf-8")
    spans = []
    for facet in facets or []:
        index = field(facet, "index")
        start, end = field(index, "byte_start", "byteStart"), field(index, "byte_end", "byteEnd")
        features = field(facet, "features") or []
        href = next((h for f in features if (h := facet_href(f, web_url))), None)
        if (
            isinstance(start, int)
            and isinstance(end, int)
            and 0 <= start < end <= len(data)
            and href
        ):
            spans.append((start, end, href))
    out, pos = [], 0
    for start, end, href in sorted(spans):
        if start < pos:
            continue  # overlapping facets: keep the first
        out.append(html.escape(data[pos:start].decode("utf-8", "replace")))
        label = html.escape(data[start:end].decode("utf-8", "replace"))
        out.append(f'<a href="{html.escape(href, quote=True)}">{label}</a>')
        pos = end
    out.append(html.escape(data[pos:].decode("utf-8", "replace")))
    body = "".join(out)
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    return "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs) or "<p></p>"
