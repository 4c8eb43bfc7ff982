"""Mastodon's text rules the adapter needs: mentions, plain text of a status, fingerprints."""

from __future__ import annotations

import hashlib
import html
import re

# Account::MENTION_RE: a mention counts (and is displayed) as its username part only.
MENTION_RE = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?", re.IGNORECASE
)


def html_to_text(content: str) -> str:
    """The plain text of a status's HTML (links keep their full URL in hidden spans)."""
    text = re.sub(r"<br\s*/?>", "\n", content, flags=re.IGNORECASE)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def without_leading_mentions(text: str) -> str:
    """An answer's text without the mention ``reply`` puts in front of it."""
    return re.sub(r"^(?:\s*@[\w.@-]+)+\s*", "", text)


def text_digest(text: str) -> str:
    """A fingerprint that survives Mastodon's formatting (white space, mention domains)."""
    normal = " ".join(MENTION_RE.sub(lambda m: "@" + m.group(1), text).split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:24]
