"""How the Mastodon stand-in counts and formats status text, with rules of its own.

The adapter counts with Mastodon.py's copy of twitter-text's URL rule; the
stand-in must not borrow it (nor any SDK code), or a mistake in that rule would
be repeated here and go unnoticed. What follows is written from Mastodon's
documented behaviour instead: ``StatusLengthValidator`` counts every http(s) URL
it would link as ``characters_reserved_per_url`` characters, ``@user@domain``
as ``@user``, and the rest in graphemes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import regex

URL_RESERVED = 23

# Mastodon links (and counts as 23) an http(s) URL whose host ends in a known
# top-level domain. This rule accepts any alphabetic TLD except the reserved
# names of RFC 2606/6761, which never are in twitter-text's list, so
# ``https://blog.example/x`` and ``http://127.0.0.1:8000/`` count in full, as on
# a real server. Known limits, all outside what our posts contain:
# - a made-up alphabetic TLD (``https://a.notatld/``) counts as 23 here, in full
#   on Mastodon; IDN and punycode TLDs are accepted without a list either;
# - the last character of a path or query must be a letter, digit, ``/ = _ - + #``
#   or a balanced ``(...)`` group; Mastodon also ends a query on ``&``;
# - path characters are "anything but white space, ``<>"`` and unbalanced
#   parentheses", looser than twitter-text's list (``{`` or ``^`` stay in here);
# - a URL glued to a preceding letter, digit, ``@``, ``$`` or ``#`` is not one,
#   like twitter-text, but the right-to-left marks it also checks are ignored.
_PATH_CHAR = r"[^\s<>\"()]"
_PARENS = rf"\({_PATH_CHAR}*\)"
_PATH_END = r"[\w/=+#-]"
URL = re.compile(
    r"(?<![A-Za-z0-9@$#])"
    r"https?://"
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+"  # host labels, each followed by a dot
    r"(?!(?:example|test|invalid|localhost|local)(?![\w-]))[^\W\d_]{2,}(?![\w-])"  # the TLD
    r"(?::\d{1,5})?"
    rf"(?:[/?#](?:(?:{_PATH_CHAR}|{_PARENS})*(?:{_PATH_END}|{_PARENS}))?)?",
    re.IGNORECASE,
)
# Mastodon's account mention: @user or @user@domain, not inside a word or a URL.
MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@[\w.-]+\w)?", re.IGNORECASE)


def countable_length(text: str, url_reserved: int = URL_RESERVED) -> int:
    """Mastodon's StatusLengthValidator: URLs fixed, ``@user@domain`` as ``@user``, graphemes."""
    countable = URL.sub("x" * url_reserved, text)
    countable = MENTION.sub(lambda m: "@" + m.group(1), countable)
    return len(regex.findall(r"\X", countable))


def render_text(text: str, mention_url: Callable[[str], str | None]) -> str:
    """Mastodon's plain-text formatting: paragraphs, <br />, linked URLs and mentions.

    ``mention_url`` gives the profile URL of a local handle, or None to leave it as text.
    """

    def mentions(escaped: str) -> str:
        def link(match: re.Match[str]) -> str:
            url = mention_url(match.group(1))
            if url is None:
                return match.group(0)
            return (
                f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                f"@<span>{match.group(1)}</span></a></span>"
            )

        return MENTION.sub(link, escaped)

    def inline(line: str) -> str:
        out, last = [], 0
        for match in URL.finditer(line):
            out.append(mentions(html.escape(line[last : match.start()], quote=False)))
            out.append(link_html(match.group()))
            last = match.end()
        out.append(mentions(html.escape(line[last:], quote=False)))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "".join(
        "<p>" + "<br />".join(inline(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )


def link_html(url: str) -> str:
    """A URL the way Mastodon links it: scheme hidden, long paths cut with an ellipsis."""
    scheme, _, rest = url.partition("://")
    shown, hidden = rest[:30], rest[30:]
    css = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{html.escape(scheme)}://</span>'
        f'<span class="{css}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )
