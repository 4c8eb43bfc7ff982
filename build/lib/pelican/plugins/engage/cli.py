"""The `engage` command line (click). Every command takes -s/--settings."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from . import report, site
from .errors import EngageError
from .plugin import BuildRecord
from .sources import SourceFetcher, SourceRequest
from .store import Store

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """An EngageError shown as one sentence; exit 2 keeps 1 for "the gate said no"."""

    exit_code = 2


class EngageGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EngageError as exc:
            raise UserError(str(exc)) from None


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


@click.group(cls=EngageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pelican-engage")
def cli() -> None:
    """Cross-post only what you have something to say about, then answer everyone.

    Run the commands from your site's folder (beside pelicanconf.py).
    """


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
        if fetch_missing_sources(record, store, console, refresh=refresh):
            site.rejudge(record, store.sources())
    return record


@cli.command()
@settings_option()
@json_option
@click.option("--refresh-sources", is_flag=True, help="Fetch every source text again.")
def check(settings_file: Path, as_json: bool, refresh_sources: bool) -> None:
    """Gate report: which posts will be cross-posted, and why the others will not.

    Fetches the text of each post's Source that is not cached yet, so the copy
    check can run. Exits 1 when any syndication candidate fails the gate.

    Example:

        engage check --json | jq '.articles[] | select(.eligible | not)'
    """
    out, err = consoles(as_json)
    record = judged_site(settings_file, err, refresh=refresh_sources)
    if as_json:
        click.echo(json.dumps(report.check_json(record.posts), indent=2, ensure_ascii=False))
    else:
        report.print_gate_report(out, record.posts)
    if report.failing(record.posts):
        sys.exit(1)


# Commands live beside their subject; importing the modules registers them on the group.
from . import cli_answer, cli_backfeed, cli_drafts, cli_syndicate  # noqa: E402,F401


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="engage")
