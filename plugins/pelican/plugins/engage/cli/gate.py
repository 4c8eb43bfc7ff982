"""`engage check`: the gate report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import report
from .common import consoles, json_option, judged_site, settings_option


@click.command()
@settings_option()
@json_option
@click.option("--refresh-sources", is_flag=True, help="Fetch every source text again.")
@click.option(
    "--all", "show_all", is_flag=True, help="A row for every post, however many are held back."
)
def check(settings_file: Path, as_json: bool, refresh_sources: bool, show_all: bool) -> None:
    """Gate report: which posts will be cross-posted, and why the others will not.

    Fetches the text of each post's Source that is not cached yet, so the copy
    check can run. When more than 20 posts are held back (an archive written
    before the plugin), it prints the count per reason and the newest posts;
    --all prints every row. Exits 1 when any syndication candidate fails the gate.

    Example:

    \b
        engage check --json | jq '.articles[] | select(.eligible | not)'
        engage check --all | less -R
    """
    out, err = consoles(as_json)
    record = judged_site(settings_file, err, refresh=refresh_sources)
    if as_json:
        click.echo(json.dumps(report.check_json(record.posts), indent=2, ensure_ascii=False))
    else:
        report.print_gate_report(
            out,
            record.posts,
            show_all=show_all,
            first_run_max_age=record.settings.first_run_max_age,
        )
    if report.failing(record.posts):
        sys.exit(1)
