"""`engage draft --from-feed URL`: start a post from someone else's article."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from pelican.utils import slugify
from rich.console import Console
from rich.table import Table

from .. import site
from ..answering import drafts
from ..gate.metadata import site_zone
from ..settings import EngageSettings
from .common import consoles, say, settings_option, text


@click.command()
@settings_option()
@click.option(
    "--from-feed",
    "feed_url",
    required=True,
    metavar="URL",
    help="RSS or Atom feed: an http(s) URL, a file: URL or a path (relative to the site folder).",
)
@click.option(
    "--pick",
    type=click.IntRange(min=1),
    metavar="N",
    help="Draft from entry N of the list without asking.",
)
@click.option("--list", "list_only", is_flag=True, help="List the feed's entries and exit.")
def draft(settings_file: Path, feed_url: str, pick: int | None, list_only: bool) -> None:
    """Start a post about an article from a feed: link, short quote, room for your take.

    Lists the entries of the RSS or Atom feed at URL and asks which one to
    comment on (or takes --pick N). Writes content/<slug>.md with Title, Date,
    Source (the entry's link) and Source_Feed (URL), a line linking the
    article, a short attributed quote (its opening, at most 30 words) and an
    empty commentary section under the first ENGAGE_COMMENTARY_HEADINGS
    heading, with a prompt in an HTML comment that is neither shown nor counted.

    The post starts with Status: draft, so Pelican builds it only into drafts/:
    it is not listed on the site and never cross-posted by accident. `engage
    check` shows it held back until you have written your take; then delete
    the Status line. An existing file is never overwritten. Entries without a
    link cannot be a Source and are skipped with a note.

    Example:

    \b
        engage draft --from-feed https://example.org/feed.xml --list
        engage draft --from-feed https://example.org/feed.xml --pick 2
    """
    out, err = consoles()
    settings = site.load_settings(settings_file)
    engage = EngageSettings.from_pelican(settings)
    feed = drafts.read_feed(
        feed_url,
        engage.base_dir,
        timeout=engage.source_timeout,
        trusted_hosts=engage.trusted_hosts,
    )
    for note in feed.notes:  # they quote the feed's titles and links: plain text
        say(err, note, style="yellow", soft_wrap=True)
    zone = site_zone(engage.timezone)
    if list_only or pick is None:
        _print_entries(out, feed, zone)
    if list_only:
        return
    number = pick or click.prompt(
        "Draft from entry", type=click.IntRange(1, len(feed.entries)), default=1
    )
    entry = feed.entry(number)
    post = drafts.compose(
        entry,
        feed,
        now=datetime.now(zone),
        headings=engage.gate.headings,
        min_words=engage.gate.min_words,
        slugify=_slugify(settings),
    )
    path = drafts.write(post, Path(settings["PATH"]))
    shown = _shown(path)
    where = f"under “## {engage.gate.headings[0]}”" if engage.gate.headings else "in the section"
    say(out, f"Wrote {shown}, a draft about {entry.label}.", soft_wrap=True)
    say(
        out,
        f"Next: write your take {where} (at least {engage.gate.min_words} words of your "
        f"own), delete the Status: draft line, then run `engage check` to see the gate's verdict.",
        soft_wrap=True,
    )


def _print_entries(console: Console, feed: drafts.Feed, zone: ZoneInfo) -> None:
    table = Table(title=text(feed.title or feed.url), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Date", no_wrap=True)
    table.add_column("Title", overflow="fold", ratio=3)
    table.add_column("Author", overflow="fold", ratio=1)
    for entry in feed.entries:
        when = _day(entry.published, zone)
        table.add_row(str(entry.number), when, text(entry.label), text(entry.author or ""))
    console.print(table)


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    """The entry's day in the site's zone; a feed's date at the calendar's edge as it is."""
    if moment is None:
        return ""
    try:
        return moment.astimezone(zone).strftime("%Y-%m-%d")
    except (OverflowError, ValueError):
        return moment.strftime("%Y-%m-%d")


def _slugify(settings: dict[str, Any]) -> Callable[[str], str]:
    """Pelican's own slugify, configured as the site configures it."""
    return functools.partial(
        slugify,
        regex_subs=settings.get("SLUG_REGEX_SUBSTITUTIONS", ()),
        preserve_case=bool(settings.get("SLUGIFY_PRESERVE_CASE", False)),
        use_unicode=bool(settings.get("SLUGIFY_USE_UNICODE", False)),
    )


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
