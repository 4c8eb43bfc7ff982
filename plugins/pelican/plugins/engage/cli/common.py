"""The `engage` command line (click). Every command takes -s/--settings.

Terminal safety: most of what the commands print was written by strangers
(names, comments, feed titles, a server's error text, a feed's declared
encoding). It reaches Rich only as :class:`~rich.text.Text` (never parsed
as markup, so ``[/x]`` cannot crash a command and ``[link=…]`` cannot make a
hyperlink) and without control characters (C0 but tab and newline, DEL,
C1, so no escape sequence clears the screen or retitles the window):
:func:`text` and :func:`say` here, and :func:`echo_json` for ``--json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from .. import site
from ..gate.sources import SourceFetcher, SourceRequest
from ..plugin import BuildRecord
from ..store import Store

F = TypeVar("F", bound=Callable[..., Any])

# What a terminal obeys rather than shows: C0 controls but tab and newline, DEL, C1 controls.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JSON_UNSAFE_RE = re.compile(r"[\x7f-\x9f]")  # json.dumps escapes C0 itself, not these


def clean(value: object) -> str:
    """``value`` as a string a terminal can only show: control characters removed."""
    return CONTROL_RE.sub("", value if isinstance(value, str) else str(value))


def text(value: object = "", style: str = "") -> Text:
    """Strangers' text for Rich: plain (never markup), without control characters."""
    return Text(clean(value), style=style)


def say(console: Console, *parts: object, style: str = "", **options: Any) -> None:
    """Print ``parts`` (ours and strangers' alike) as one plain line: no markup anywhere."""
    line = Text(style=style)
    for part in parts:
        line.append(part if isinstance(part, Text) else text(part))
    console.print(line, **options)


def echo_json(data: Any) -> None:
    """``--json`` output: strangers' text escaped, C1 controls included."""
    dumped = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(_JSON_UNSAFE_RE.sub(lambda c: f"\\u{ord(c.group()):04x}", dumped))


class UserError(click.ClickException):
    """An EngageError shown as one sentence; exit 2 keeps 1 for "the gate said no"."""

    exit_code = 2


def settings_option(default: str = "pelicanconf.py") -> Callable[[F], F]:
    return click.option(
        "-s",
        "--settings",
        "settings_file",
        default=default,
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Pelican settings file of the site.",
    )


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def consoles(as_json: bool = False) -> tuple[Console, Console]:
    """(stdout console, stderr console); JSON mode keeps stdout for the JSON alone."""
    err = Console(stderr=True)
    return (err if as_json else Console()), err


def progress_bar(console: Console, label: str) -> Progress:
    """A bar with a done/total count on ``console`` that disappears when done.

    ``label`` is a rich format string of the task (``"{task.description}"`` names each one).
    """
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    )


def fetch_missing_sources(
    record: BuildRecord, store: Store, console: Console, *, refresh: bool = False
) -> int:
    """Fetch source texts the cache lacks (or failed on); returns how many were fetched."""
    cached = store.sources()
    wanted: dict[str, SourceRequest] = {}
    for post in record.posts:
        url = post.meta.source
        if not url or not post.candidate:
            continue
        if refresh or url not in cached or not cached[url].ok:
            wanted[url] = SourceRequest(url, post.meta.source_feed)
    if not wanted:
        return 0
    fetcher = SourceFetcher(
        record.settings.base_dir,
        timeout=record.settings.source_timeout,
        trusted_hosts=record.settings.trusted_hosts,
    )
    try:
        with progress_bar(console, "Fetching source texts") as progress:
            task = progress.add_task("sources", total=len(wanted))
            results = fetcher.fetch_all(wanted.values(), progress=lambda _: progress.advance(task))
    finally:
        fetcher.close()
    for fetched in results:
        store.save_source(
            fetched.source, feed_url=wanted[fetched.source.url].feed_url, via=fetched.via
        )
        if not fetched.source.ok:
            say(
                console,
                f"Could not read the source {fetched.source.url}: {fetched.source.error}",
                style="yellow",
            )
    return len(results)


def judged_site(settings_file: Path, console: Console, *, refresh: bool = False) -> BuildRecord:
    """Read the site, fetch missing source texts, and judge every post."""
    settings = site.load_settings(settings_file)
    record = site.read_site(settings)
    with Store.open(record.settings.db_path) as store:
        site.remember_posts(record, store)
        if fetch_missing_sources(record, store, console, refresh=refresh):
            site.rejudge(record, store.sources())
        site.remember_gate(record, store, judge=True)
    return record
