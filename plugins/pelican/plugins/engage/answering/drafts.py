"""Start a post from someone else's article: read a feed, write a draft to comment on it.

`engage draft --from-feed URL` reads an RSS or Atom feed (through the one HTTP
path, ``http_client``, or from a local file) with feedparser and lists its
entries. For the one chosen it writes a Markdown post whose metadata names
the article (``Source``) and the feed (``Source_Feed``, so `engage check`
compares the take with the entry's text), followed by a link, a short
attributed quote and an empty commentary section.
The draft is ``Status: draft``: it cannot go live or be cross-posted by
accident, and the gate holds it back until the author has written their take.

Feeds in the wild are often broken. An entry without a title is listed by its
link; an entry without an http(s) link cannot be a Source and is skipped with
a note; a document that is not well-formed but still yields entries is used
with a note; a feed with no usable entry is an error.

Feeds are also written by strangers. A link must pass the one URL policy
(``model.web_url``: absolute http(s), no control character, so no line
break), and every metadata value written into a draft is one line without
control characters, so a feed cannot add a ``Source_Feed: file:…`` or a
``Status: published`` line of its own. The feed URL given on the command
line may point anywhere (the author typed it); its redirects may not reach
a private address unless ENGAGE_ALLOW_PRIVATE_ADDRESSES allows it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import feedparser
import httpx

from ..errors import EngageError
from ..gate.metadata import is_url
from ..gate.sources import MAX_BYTES, MAX_REDIRECTS, html_to_text
from ..http_client import TIMED_OUT, TOO_MANY_REDIRECTS, Fault, HttpSession, Limits, where
from ..model import web_url

MAX_QUOTE_WORDS = 30  # well under what would make a post "mostly quoted" once the take is in
MIN_QUOTE_WORDS = 12  # a very short first sentence takes the next one along
MAX_SLUG_CHARS = 60
# Harmless documents that feedparser still flags as "bozo".
BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
SENTENCE_END_RE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+")
MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]#!])")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DraftError(EngageError):
    """The feed cannot be drafted from, or the draft cannot be written."""


@dataclass(frozen=True)
class Entry:
    number: int  # 1-based among the usable entries: what --pick takes
    link: str
    title: str | None = None
    published: datetime | None = None
    author: str | None = None  # the entry's author, else the feed's, else the feed's title
    text: str = ""  # plain text of the longest content or summary

    @property
    def label(self) -> str:
        return self.title or self.link


@dataclass(frozen=True)
class Feed:
    url: str  # as it goes into Source_Feed: an http(s) or file: URL
    title: str | None
    entries: list[Entry]
    notes: list[str] = field(default_factory=list)  # warnings for the author

    def entry(self, number: int) -> Entry:
        if not 1 <= number <= len(self.entries):
            raise DraftError(
                f"there is no entry {number} in the feed {_shown(self.url)}, "
                f"which has {len(self.entries)} usable entries"
            )
        return self.entries[number - 1]


@dataclass(frozen=True)
class Draft:
    title: str
    slug: str
    text: str


# -- reading the feed ------------------------------------------------------------------


def feed_location(location: str, base_dir: Path) -> tuple[str, Path | None]:
    """``(Source_Feed URL, local file or None)`` for an http(s) URL, a file: URL or a path.

    Relative paths are relative to the site folder, as in a ``Source_Feed: file:`` value.
    """
    location = location.strip()
    parts = urlsplit(location)
    if parts.scheme in {"http", "https"}:
        if not is_url(location):
            raise DraftError(f"the feed URL {location!r} has no host name")
        return location, None
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        return location, path if path.is_absolute() else base_dir / path
    if len(parts.scheme) > 1:  # "C:" is a Windows drive, not a scheme
        raise DraftError(f"the feed {location!r} is neither an http(s) URL nor a file")
    path = Path(location).expanduser()
    if path.is_absolute():
        return path.as_uri(), path
    return "file:" + quote(PurePosixPath(path).as_posix()), base_dir / path


def read_feed(
    location: str,
    base_dir: Path,
    *,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    allow_private: bool = False,
    trusted_hosts: Collection[str] = (),
) -> Feed:
    """Fetch and parse the feed at ``location`` (see :func:`feed_location`).

    The feed's own host is trusted (the author typed it); every other hop
    refuses private addresses unless ``allow_private`` or ``trusted_hosts``.
    """
    url, path = feed_location(location, base_dir)
    if path is not None:
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise DraftError(f"cannot read the feed file {path}: {exc.strerror}") from None
        return parse_feed(body, url)
    limits = Limits(timeout=timeout, max_bytes=MAX_BYTES, max_redirects=MAX_REDIRECTS)
    typed = (urlsplit(url).hostname or "").lower()
    trusted = {typed, *trusted_hosts, *(["*"] if allow_private else [])}
    with HttpSession(
        "draft", limits=limits, refuse_private=True, trusted_hosts=trusted, transport=transport
    ) as http:
        answer = http.fetch("GET", url, follow_redirects=True, truncate=True)
    shown = _shown(url)
    if isinstance(answer, Fault):
        if answer.reason == TIMED_OUT:
            raise DraftError(f"the feed {shown} did not answer within {timeout:g} seconds")
        if answer.reason == TOO_MANY_REDIRECTS:
            raise DraftError(f"the feed {shown} redirects too many times")
        raise DraftError(f"could not reach the feed {shown} ({answer.reason})")
    if answer.status_code >= 400:
        raise DraftError(f"the feed {shown} answered HTTP {answer.status_code}")
    headers = {
        "content-type": answer.headers.get("content-type", ""),
        # Relative entry links resolve against where the feed really is (after redirects).
        "content-location": str(answer.url),
    }
    return parse_feed(answer.content, url, headers)


def parse_feed(body: bytes, url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """The usable entries of an RSS or Atom document, with notes on what was wrong."""
    parsed = feedparser.parse(body, response_headers=dict(headers or {}))
    shown = _shown(url)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.entries:
        if not parsed.get("version"):
            raise DraftError(f"{shown} is not an RSS or Atom feed")
        why = f" ({_short(problem)})" if problem else ""
        raise DraftError(f"the feed {shown} has no entries{why}")
    notes = []
    if problem is not None and not isinstance(problem, BENIGN_BOZO):
        notes.append(
            f"The feed is not well-formed ({_short(problem)}); its entries were read anyway, "
            "so check the quote against the article."
        )
    info = parsed.get("feed", {})
    feed_title = _detail_text(info.get("title"), info.get("title_detail")) or None
    feed_author = _author(info)
    entries: list[Entry] = []
    for position, raw in enumerate(parsed.entries, 1):
        title = _detail_text(raw.get("title"), raw.get("title_detail")) or None
        given = raw.get("link")
        link = given.strip() if isinstance(given, str) else ""
        name = f"entry {position}" + (f" ({title})" if title else "")
        if not link:
            notes.append(f"Skipped {name}: it has no link, so it cannot be a post's Source.")
            continue
        if not is_url(link) or not web_url(link):
            notes.append(f"Skipped {name}: its link {link[:60]!r} is not an http(s) URL.")
            continue
        link = web_url(link)
        if title is None:
            notes.append(f"Entry {position} has no title; it is listed by its link.")
        entries.append(
            Entry(
                number=len(entries) + 1,
                link=link,
                title=title,
                published=_published(raw),
                author=_author(raw) or feed_author or feed_title,
                text=_entry_text(raw),
            )
        )
    if not entries:
        raise DraftError(
            f"none of the {len(parsed.entries)} entries of the feed {shown} "
            "has an http(s) link to comment on"
        )
    return Feed(url=url, title=feed_title, entries=entries, notes=notes)


def _shown(url: str) -> str:
    """A feed URL for messages: without an http(s) query string (it may carry a token)."""
    if not url.startswith(("http:", "https:")):
        return url
    try:
        return where(url)
    except httpx.InvalidURL:
        return url.split("?", 1)[0].split("#", 1)[0]


def _short(problem: Any) -> str:
    """feedparser's complaint, e.g. "undefined entity at line 4"."""
    if hasattr(problem, "getMessage") and hasattr(problem, "getLineNumber"):
        text = f"{problem.getMessage()} at line {problem.getLineNumber()}"  # SAXParseException
    else:
        text = _one_line(str(problem)) or type(problem).__name__
    return text if len(text) <= 80 else text[:79] + "…"


def _as_text(value: str, kind: str | None) -> str:
    """Plain text of a feed field: HTML unless feedparser says it is plain text."""
    if kind == "text/plain":
        return _one_line(value)
    return html_to_text(value)


def _detail_text(value: Any, detail: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    return _as_text(value, (detail or {}).get("type"))


def _author(node: Mapping[str, Any]) -> str | None:
    """A name to credit; never a bare e-mail address (RSS puts those in <author>)."""
    name = (node.get("author_detail") or {}).get("name") or node.get("author") or ""
    name = _one_line(str(name))
    return name if name and "@" not in name else None


def _published(raw: Mapping[str, Any]) -> datetime | None:
    when = raw.get("published_parsed") or raw.get("updated_parsed")
    if not when:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(when), UTC)  # a UTC struct
    except (ValueError, OverflowError, OSError):
        return None  # year 0 and the like: a stranger's feed may say anything


def _entry_text(raw: Mapping[str, Any]) -> str:
    """The entry's full content (the longest, if several), else its summary, as plain text."""
    contents = [_as_text(c.get("value") or "", c.get("type")) for c in raw.get("content") or []]
    if text := max(contents, key=len, default=""):
        return text
    return _as_text(raw.get("summary") or "", (raw.get("summary_detail") or {}).get("type"))


# -- writing the draft -------------------------------------------------------------------


def short_quote(text: str, max_words: int = MAX_QUOTE_WORDS) -> str:
    """The opening of ``text`` to quote: whole sentences up to ``max_words`` words.

    Never the whole article: a first sentence longer than ``max_words`` is cut
    with an ellipsis, and further sentences join only while the quote is short.
    """
    quote_words: list[str] = []
    for sentence in SENTENCE_END_RE.split(text.strip()):
        words = sentence.split()
        if not words:
            continue
        if not quote_words and len(words) > max_words:
            return " ".join(words[:max_words]).rstrip(",;:") + " …"
        if len(quote_words) + len(words) > max_words:
            break
        quote_words.extend(words)
        if len(quote_words) >= MIN_QUOTE_WORDS:
            break
    return " ".join(quote_words)


def compose(
    entry: Entry,
    feed: Feed,
    *,
    now: datetime,
    headings: Sequence[str],
    min_words: int,
    slugify: Callable[[str], str],
) -> Draft:
    """The Markdown text of a draft commenting on ``entry`` (nothing is written)."""
    title = f"On “{entry.label}”"
    slug = _slug(slugify, f"On {entry.title or _link_words(entry.link)}") or (
        f"draft-{now:%Y%m%d-%H%M}"
    )
    meta = {
        "Title": _one_line(title).replace("<", "&lt;").replace(">", "&gt;"),
        "Date": f"{now:%Y-%m-%d %H:%M}",
        "Slug": slug,
        "Status": "draft",
        "Source": entry.link,
        "Source_Feed": feed.url,
    }
    link = f"[{_markdown(entry.label)}]({_link_target(entry.link)})"
    intro = f"{_markdown(entry.author)} writes in {link}:" if entry.author else f"From {link}:"
    # One line each, whatever the feed put in them: a line break would start a new key.
    header = "".join(f"{key}: {_one_line(value)}\n" for key, value in meta.items())
    blocks = [header, intro]
    quoted = short_quote(entry.text)
    if quoted:
        blocks.append("> " + _markdown(quoted))
        by = _markdown(entry.author) + ", " if entry.author else ""
        blocks.append(f"— {by}*{_markdown(entry.label)}*")
    prompt = (
        "<!-- Your take: why does this matter to you? What do you add, disagree with, "
        f"or know from experience? Write at least {min_words} words of your own "
        "(ENGAGE_MIN_COMMENTARY_WORDS), then delete this comment and the Status: draft line. -->"
    )
    if headings:
        blocks += [f"## {headings[0]}", prompt]
    else:  # only an element with class="commentary" opens the section
        blocks.append(f'<div class="commentary">\n{prompt}\n</div>')
    return Draft(title=title, slug=slug, text="\n\n".join(b.rstrip("\n") for b in blocks) + "\n")


def write(draft: Draft, content_dir: Path) -> Path:
    """Write ``draft`` as ``<slug>.md`` in ``content_dir``; never overwrites a file."""
    if not content_dir.is_dir():
        raise DraftError(f"the content folder {content_dir} does not exist")
    path = content_dir / f"{draft.slug}.md"
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(draft.text)
    except FileExistsError:
        raise DraftError(
            f"{path} already exists; edit that post, or move it away to draft it again"
        ) from None
    return path


def _one_line(value: str) -> str:
    """``value`` on one line: control characters and every kind of line break are spaces."""
    return " ".join(CONTROL_RE.sub(" ", value).split())


def _markdown(text: str) -> str:
    """``text`` as literal Markdown: no emphasis, links, headings, lists or raw HTML."""
    text = _one_line(text).replace("&", "&amp;").replace("<", "&lt;")
    text = MARKDOWN_SPECIAL_RE.sub(r"\\\1", text)
    text = re.sub(r"^(\d+)\.(?=\s)", r"\1\\.", text)
    return re.sub(r"^([-+])(?=\s)", r"\\\1", text)


def _link_target(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _link_words(url: str) -> str:
    """Something to build a slug from when an entry has no title: its last path segment."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a stranger's malformed link ("https://[::1/"): no words from it
        return ""
    segments = [s for s in parts.path.split("/") if s]
    return PurePosixPath(unquote(segments[-1])).stem if segments else parts.netloc


def _slug(slugify: Callable[[str], str], text: str) -> str:
    slug = slugify(text).strip("-")
    if len(slug) > MAX_SLUG_CHARS:
        slug = slug[:MAX_SLUG_CHARS].rsplit("-", 1)[0]
    return slug
