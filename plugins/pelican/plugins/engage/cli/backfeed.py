"""`engage sync` and `engage hide`: bring the conversation back, and moderate it."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from .. import site
from ..answering import answers
from ..backfeed import engine as backfeed
from ..backfeed.merge import Threads
from ..backfeed.site_posts import known_posts
from ..errors import EngageError, StoreError
from ..networks import network_label
from ..settings import EngageSettings
from ..store import Store
from .common import clean, consoles, echo_json, json_option, say, settings_option

EXIT_INCOMPLETE = 3  # some conversations could not be read: run again later


class UnknownArticle(EngageError):
    """`--article` names no published article."""


@click.command()
@settings_option("publishconf.py")
@click.option("--article", "slug", metavar="SLUG", help="Sync this article only, due or not.")
@click.option(
    "--all", "everything", is_flag=True, help="Sync every article, even past ENGAGE_SYNC_CUTOFF."
)
@json_option
@click.option(
    "--rebuild", is_flag=True, help="Rebuild (and deploy, if configured) when anything changed."
)
def sync(
    settings_file: Path, slug: str | None, everything: bool, as_json: bool, rebuild: bool
) -> None:
    """Fetch replies, likes and reposts for syndicated posts into the state database.

    First asks each network what changed, in one request (its notifications,
    mentions, Page posts or domain-wide webmentions), and reads the
    conversations named. Then reads each conversation that is due: the
    syndicated post on every configured network, the webmentions of the
    article's URL and the post's Comments_Feed (a conditional GET). Without
    notifications new posts are read on every run, older ones less and less
    often; with them that schedule slows to a safety net for what
    notifications miss. None past ENGAGE_SYNC_CUTOFF unless notifications
    name it, or --article or --all asks. Rebuild the site afterwards to show
    what came back.

    Exits 0 when everything due was read, 3 when a network failed or was
    rate-limited (what was not read stays due for the next run).

    Example:

    \b
        engage sync --rebuild
        engage sync --article my-post --json | jq '.networks.mastodon'
    """
    out, err = consoles(as_json)
    pelican_settings = site.load_settings(settings_file)
    settings = EngageSettings.from_pelican(pelican_settings)
    # What the last run learnt of the posts, unless a content or settings file changed.
    posts = known_posts(
        settings.db_path,
        Path(str(pelican_settings.get("PATH") or "content")),
        settings_file,
        lambda: site.read_site(pelican_settings).posts,
    )
    if slug is not None:
        posts = [p for p in posts if p.slug == slug and p.kind == "article"]
        if not posts:
            raise UnknownArticle(f"there is no article with the slug {slug!r}")
    if not settings.networks:
        err.print("No network is configured (ENGAGE_NETWORKS is empty): nothing to sync.")
        _finish(backfeed.SyncReport(), out, as_json)
        return
    last_ref = _last_ref(settings.db_path)
    with _progress(err) as (progress, tasks):
        report = backfeed.sync_posts(
            settings,
            posts,
            force=everything or slug is not None,
            on_plan=lambda plan: _add_tasks(progress, tasks, plan),
            on_outcome=lambda outcome: progress.advance(tasks[outcome.job.target.key.network]),
        )
    _finish(report, out, as_json, _arrived(settings.db_path, last_ref))
    with Store.open(settings.db_path) as store:  # the next build shows them without rendering
        site.save_conversations(store, pelican_settings, posts, whole_site=slug is None)
    if rebuild and report.changed:
        err.print("Rebuilding the site with the new conversation …")
        site.build_site(pelican_settings)
        if settings.deploy:
            site.run_deploy(settings.deploy, settings.base_dir, err)
    if not report.ok:
        sys.exit(EXIT_INCOMPLETE)


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[tuple[Progress, dict[str, TaskID]]]:
    """A progress display on stderr with one bar per network (quiet when not a terminal)."""
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield progress, {}


def _add_tasks(progress: Progress, tasks: dict[str, TaskID], plan: backfeed.Plan) -> None:
    due: dict[str, int] = {}
    for job in plan.jobs:
        network = job.target.key.network
        due[network] = due.get(network, 0) + 1
    for network, count in sorted(due.items()):
        tasks[network] = progress.add_task(f"Reading {network_label(network)}", total=count)


def _print_requests(out: Console, report: backfeed.SyncReport) -> None:
    """Requests spent, what notifications named, and the safety net's budget, per network."""
    for name, n in sorted(report.networks.items()):
        line = f"{network_label(name)}: {n.requests} requests; notifications {n.notifications}"
        if n.notifications in ("on", "not due"):
            line += (
                f", {n.flagged} conversations named; safety net {n.safety} read now, "
                f"about {n.safety_per_day:.0f} reads a day"
            )
        out.print(line, soft_wrap=True)


def _last_ref(db_path: Path) -> int | None:
    """The highest comment ref before this sync: what is above it arrived now.

    None when the database predates refs (this sync upgrades it): then every
    comment gets its ref now, and none is told apart as new.
    """
    try:
        store = Store.open_readonly(db_path)
    except StoreError:
        return None
    if store is None:
        return 0
    with store:
        return store.comments.last_ref()


def _arrived(db_path: Path, after: int | None) -> list[answers.Waiting]:
    """The comments this sync brought that wait for an answer, with their refs."""
    store = Store.open_readonly(db_path) if after is not None else None
    if store is None or after is None:
        return []
    with store:
        return [w for w in answers.inbox(store) if w.ref > after]


def _finish(
    report: backfeed.SyncReport,
    out: Console,
    as_json: bool,
    arrived: list[answers.Waiting] | None = None,
) -> None:
    arrived = arrived or []
    if as_json:
        data = report.as_json()
        data["arrived"] = [{"ref": w.ref, "id": w.id} for w in arrived]
        echo_json(data)
        return
    if report.networks:
        table = Table(title="Sync", title_justify="left")
        for column in ("network", "read", "new", "updated", "removed", "errors", "not due"):
            table.add_column(column, justify="left" if column == "network" else "right")
        for name, n in sorted(report.networks.items()):
            table.add_row(
                network_label(name),
                f"{n.fetched}/{n.due}",
                str(n.new),
                str(n.updated),
                str(n.removed),
                str(n.errors),
                str(n.waiting + n.retired),
            )
        out.print(table)
        _print_requests(out, report)
    for name, n in sorted(report.networks.items()):
        label = network_label(name)
        if n.stopped:  # a network's (or a stranger's server's) words: plain text
            say(out, f"{label}: stopped for this run: {n.stopped}", style="yellow", soft_wrap=True)
        for message in n.messages:
            say(out, f"{label}: {message}", style="yellow", soft_wrap=True)
        if n.deferred:
            out.print(f"[yellow]{label}: {n.deferred} conversations left for the next run[/]")
    if report.moderated:
        out.print(f"{report.moderated} stored comments are now hidden by the blocklist.")
    for note in report.notes:
        say(out, f"Note: {note}", soft_wrap=True)
    if arrived:
        out.print(f"{len(arrived)} new comments wait for your answer:")
        for w in arrived[:20]:
            line = Text(f"{w.ref:>5}  ", style="bold")
            said = textwrap.shorten(clean(w.text), 60, placeholder=" …")
            line.append(clean(f"{w.author} on {network_label(w.network)}: {said}"))
            out.print(line, soft_wrap=True)
        first = arrived[0].ref
        out.print(
            f"Read one with `engage show {first}`, answer with `engage reply {first}`, "
            "or open `engage desk`.",
            markup=False,
        )
    if not report.ok:
        out.print("[yellow]Some conversations could not be read; run `engage sync` again later.[/]")
    elif report.changed:
        out.print("The conversation changed: rebuild the site to show it.")
    else:
        out.print("Nothing new.")


@click.command()
@settings_option()
@click.argument("comment_id")
@click.option("--author", is_flag=True, help="Also hide everything this comment's author writes.")
def hide(settings_file: Path, comment_id: str, author: bool) -> None:
    """Hide a comment from the site for good; no later sync brings it back.

    COMMENT_ID is the short ref `engage inbox` shows (41) or the full id
    (network:remote id). With --author, the author's account is blocked too,
    on that network. Rebuild the site to take it off the page.

    Example:

    \b
        engage hide 41
        engage hide mastodon:113400000000000042 --author
    """
    out, _ = consoles()
    settings = EngageSettings.from_pelican(site.load_settings(settings_file))
    if not settings.db_path.exists():
        raise EngageError(f"{settings.db_path} does not exist yet; run `engage sync` first")
    with Store.open(settings.db_path) as store:
        threads = Threads(store, blocklist=settings.blocklist, site_url=settings.site_url)
        comment_id = store.comments.resolve(comment_id) or comment_id  # a short ref: 41
        row = threads.get(comment_id)
        hidden = threads.hide(comment_id, author=author)
    who = f"{row['author_name']} ({row['author_handle']})" if row["author_handle"] else "its author"
    say(out, f"Hidden {comment_id} by {who}", soft_wrap=True)  # a stranger's name: plain text
    if author:
        say(out, f"Blocked {who} on {network_label(row['network'])}.")
    out.print(f"{hidden} comments newly hidden; rebuild the site to take them off the page.")
