"""`engage check`: the gate report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from . import report
from .common import consoles, echo_json, json_option, judged_site, settings_option, text


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
    orphaned = record.identities.orphaned
    if as_json:
        result = report.check_json(record.posts)
        result["orphaned"] = [
            {"key": k.key, "source_path": k.source_path, "url": k.url} for k in orphaned
        ]
        echo_json(result)
    else:
        for warning in record.identities.warnings():
            err.print(text(f"Warning: {warning}.", style="yellow"), soft_wrap=True)
        if orphaned:
            err.print(
                Text(
                    f"{len(orphaned)} posts are gone from the site ("
                    + ", ".join(k.source_path for k in orphaned[:5])
                    + ("…" if len(orphaned) > 5 else "")
                    + "): their copies and comments are kept, and nothing of them is "
                    "posted again."
                )
            )
        report.print_gate_report(
            out,
            record.posts,
            show_all=show_all,
            first_run_max_age=record.settings.first_run_max_age,
        )
    if report.failing(record.posts):
        sys.exit(1)
