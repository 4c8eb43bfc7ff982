"""The `engage` command line (click). Every command takes -s/--settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .. import site
from ..gate.sources import SourceFetcher, SourceRequest
from ..plugin import BuildRecord
from ..store import Store

F = TypeVar("F", bound=Callable[..., Any])


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
    fetcher = SourceFetcher(record.settings.base_dir, timeout=record.settings.source_timeout)
    try:
        with Progress(
            TextColumn("Fetching source texts"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("sources", total=len(wanted))
            results = fetcher.fetch_all(wanted.values(), progress=lambda _: progress.advance(task))
    finally:
        fetcher.close()
    for fetched in results:
        store.save_source(
            fetched.source, feed_url=wanted[fetched.source.url].feed_url, via=fetched.via
        )
        if not fetched.source.ok:
            console.print(
                f"[yellow]Could not read the source {fetched.source.url}: {fetched.source.error}[/]"
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
    return record
