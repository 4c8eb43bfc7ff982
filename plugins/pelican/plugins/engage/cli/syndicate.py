"""`engage plan`, `engage publish`, `engage syndicate` and `engage sandbox`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import site
from ..answering import answers, dashboard
from ..errors import ConfigError
from ..gate.metadata import is_url
from ..networks import build_adapters, network_label
from ..plugin import BuildRecord
from ..settings import EngageSettings
from ..store import Store
from ..syndication import planner
from ..syndication.ledger import Ledger
from ..syndication.runner import RunSummary, Syndicator
from . import report
from .common import (
    consoles,
    fetch_missing_sources,
    json_option,
    progress_bar,
    say,
    settings_option,
    text,
)

WORK_REMAINS = 3  # exit code: something due could not be posted this time


def _plan(
    record: BuildRecord, store: Store, *, backfill: bool, now: datetime
) -> tuple[planner.Plan, list[planner.Change], dict[str, Any]]:
    engage = record.settings
    adapters: dict[str, Any] = dict(
        build_adapters(engage.networks, state_dir=engage.state_dir, meter=store)
    )
    preview = not adapters
    if preview:
        adapters = {"preview": planner.PreviewMeasurer()}
    plan = planner.plan_posts(record.posts, adapters, now)
    changes = (
        []
        if preview
        else planner.reconcile(
            plan,
            Ledger(store),
            site_url=engage.site_url,
            now=now,
            first_run_max_age=engage.first_run_max_age,
            backfill=backfill,
        )
    )
    return plan, changes, adapters


def _print_problems(console: Console, plan: planner.Plan) -> None:
    for error in plan.errors:
        said = text(error, style="bold red")
        say(console, said, " Nothing of this post is posted.", soft_wrap=True)
    for article, names in plan.skipped_networks.items():
        say(
            console,
            f"{article}: Syndicate names {', '.join(names)}, which ENGAGE_NETWORKS "
            "does not configure; skipped.",
            style="yellow",
            soft_wrap=True,
        )


@click.command()
@settings_option("publishconf.py")
@json_option
@click.option("--backfill", is_flag=True, help="Show archive posts the first-run guard would hold.")
def plan(settings_file: Path, as_json: bool, backfill: bool) -> None:
    """The queue: what will be posted where and when, with each text's length.

    Lengths are measured the way each network counts (graphemes, weighted
    characters, every URL as 23). Nothing is queued or posted.

    Example:

    \b
        engage plan --json | jq '.[] | select(.state == "new")'
    """
    out, err = consoles(as_json)
    settings = site.load_settings(settings_file)
    record = site.read_site(settings)
    with Store.open(record.settings.db_path) as store:
        site.remember_posts(record, store)
        if fetch_missing_sources(record, store, err):
            site.rejudge(record, store.sources())
        plan_, changes, _ = _plan(record, store, backfill=backfill, now=datetime.now(UTC))
        site.remember_gate(record, store)
        rows = report.plan_rows(changes, plan_.items, Ledger(store).entries())
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    _print_problems(err, plan_)
    report.print_plan(out, rows)


def _syndicate(
    console: Console, store: Store, engage: EngageSettings, *, check_urls: bool
) -> RunSummary:
    adapters = build_adapters(engage.networks, state_dir=engage.state_dir, meter=store)
    try:
        syndicator = Syndicator(Ledger(store), adapters, check_urls=check_urls)
        work = syndicator.work()
        with progress_bar(console, "Cross-posting") as progress:
            task = progress.add_task("posts", total=len(work))
            syndicator.progress = lambda _: progress.advance(task)
            summary = syndicator.run()
    finally:
        for adapter in adapters.values():
            adapter.close()
    _print_summary(console, summary)
    return summary


def _print_summary(console: Console, summary: RunSummary) -> None:
    if not summary.networks and not summary.remaining:
        console.print("Nothing is due.")
        return
    table = Table(title="Cross-posting", title_justify="left")
    for column in ("Network", "Posted", "Scheduled", "Recovered", "Waiting", "Note"):
        table.add_column(column, justify="right" if column not in {"Network", "Note"} else "left")
    for name, result in sorted(summary.networks.items()):
        table.add_row(
            name,
            str(result.posted),
            str(result.scheduled),
            str(result.recovered),
            str(result.waiting),
            text(result.error or ""),  # a network's (or a stranger's endpoint's) words
        )
    console.print(table)
    if summary.remaining:
        console.print(
            f"[yellow]{summary.remaining} due posts are still waiting (see the notes above); "
            "they stay queued and `engage syndicate` retries them after a back-off.[/]",
            soft_wrap=True,
        )


def _require_absolute_site_url(engage: EngageSettings) -> None:
    if not is_url(engage.site_url):
        raise ConfigError(
            "SITEURL must be an absolute http(s) URL to cross-post links "
            f"(it is {engage.site_url!r}); publish with publishconf.py"
        )


@click.command()
@settings_option("publishconf.py")
@click.option("--dry-run", is_flag=True, help="Show everything; deploy, queue and post nothing.")
@click.option("--backfill", is_flag=True, help="Also post archive posts the first-run guard holds.")
def publish(settings_file: Path, dry_run: bool, backfill: bool) -> None:
    """Build the site, run the gate, deploy, and cross-post what is due.

    Steps: fetch missing source texts, build with the given settings, print
    the gate report, queue each eligible post for its networks, deploy
    (ENGAGE_DEPLOY), check the article URLs answer, post what is due, and
    rebuild (and redeploy) so article pages link to their copies. With no
    network configured it stops after showing what would be posted. Exits 3
    when due posts could not go out (they stay queued).

    Example:

    \b
        engage publish -s publishconf.py --dry-run
    """
    out, err = consoles()
    settings = site.load_settings(settings_file)
    record = site.read_site(settings)
    engage = record.settings
    with Store.open(engage.db_path) as store:
        fetch_missing_sources(record, store, err)
        site.remember_gate(record, store)  # the build below reuses the analyses
        site.save_conversations(store, settings, record.posts)  # and the conversations
        out.print(f"Building the site with {settings_file} …")
        record = site.build_site(settings)
        site.remember_posts(record, store)
        report.print_gate_report(out, record.posts)
        site.remember_gate(record, store)
        for warning in record.identities.warnings():
            err.print(Text(f"Warning: {warning}.", style="yellow"), soft_wrap=True)
        held = report.failing(record.posts)
        if held and engage.strict:
            raise click.ClickException(
                f"ENGAGE_STRICT is on and {len(held)} candidate posts fail the gate; "
                "nothing was deployed or posted"
            )
        now = datetime.now(UTC)
        plan_, changes, _ = _plan(record, store, backfill=backfill, now=now)
        _print_problems(err, plan_)
        held_for_answers = _answer_first(out, store, engage, now)
        if held_for_answers:
            # Already queued posts still go out; nothing new is queued until you answer.
            changes = [c for c in changes if c.action not in {"add", "revive"}]
        ledger = Ledger(store)
        rows = report.plan_rows(changes, plan_.items, ledger.entries())
        if not engage.networks:
            report.print_plan(out, rows, title="What would be cross-posted (no network configured)")
        else:
            report.print_plan(out, [r for r in rows if r["state"] not in {"posted", "cancelled"}])
        if dry_run:
            out.print("Dry run: nothing was deployed, queued or posted.")
            return
        if engage.networks:
            _require_absolute_site_url(engage)
        if engage.deploy:
            site.run_deploy(engage.deploy, engage.base_dir, out)
        if not engage.networks:
            out.print(
                "No network is configured (ENGAGE_NETWORKS is empty): nothing will be posted. "
                "See the README to set one up.",
                soft_wrap=True,
            )
            return
        planner.apply(changes, ledger, list(engage.networks), now)
        summary = _syndicate(out, store, engage, check_urls=bool(engage.deploy))
        if summary.posted:
            out.print("Rebuilding so article pages link to their new copies …")
            site.save_conversations(store, settings, record.posts)
            site.build_site(settings)
            if engage.deploy:
                site.run_deploy(engage.deploy, engage.base_dir, out)
    if held_for_answers:
        raise click.ClickException(
            "ENGAGE_STRICT is on and comments wait longer than ENGAGE_ANSWER_WITHIN: "
            "new posts were not queued; answer them (`engage inbox`) and publish again"
        )
    if summary.remaining:
        sys.exit(WORK_REMAINS)


def _answer_first(out: Console, store: Store, engage: EngageSettings, now: datetime) -> bool:
    """Warn while comments wait past ENGAGE_ANSWER_WITHIN; True when strict holds new posts."""
    if engage.answer_within is None:
        return False
    late = answers.overdue(store, engage.answer_within, now)
    if not late:
        return False
    oldest = late[0]
    say(
        out,
        f"{len(late)} comments have waited longer than ENGAGE_ANSWER_WITHIN "
        f"({dashboard.duration(engage.answer_within.total_seconds())}); the oldest, from "
        f"{oldest.author} on {network_label(oldest.network)}, for "
        f"{dashboard.duration(oldest.age_seconds)}. Answer first: `engage inbox`.",
        style="yellow",
        soft_wrap=True,
    )
    return engage.strict


@click.command()
@settings_option("publishconf.py")
def syndicate(settings_file: Path) -> None:
    """Post what is due now; safe to run from cron at any frequency.

    Only entries queued by `engage publish` are posted; the site is not
    rebuilt. Exits 3 when due posts could not go out (they stay queued).

    Example:

    \b
        */10 * * * *  cd ~/blog && .venv/bin/engage syndicate -s publishconf.py
    """
    out, _ = consoles()
    settings = site.load_settings(settings_file)
    engage = EngageSettings.from_pelican(settings)
    if not engage.networks:
        out.print("No network is configured (ENGAGE_NETWORKS is empty): nothing to do.")
        return
    with Store.open(engage.db_path) as store:
        summary = _syndicate(out, store, engage, check_urls=False)
    if summary.remaining:
        sys.exit(WORK_REMAINS)
