"""Answer everyone, and measure it: `engage inbox`, `show`, `reply`, `like`, `done`, `stats`.

Every command that takes a comment accepts its short ref (``41``, as
`engage inbox` shows it) or its full id (``mastodon:113400000000000123``).
Strangers' text is printed as plain text: no markup, no control characters.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import site
from ..answering import acknowledge, answers, dashboard
from ..answering import context as threads
from ..errors import ConfigError, EngageError, NetworkError
from ..networks import network_label
from ..settings import EngageSettings, parse_duration
from ..store import Store
from .common import clean, consoles, echo_json, json_option, say, settings_option

DASHBOARD_NAME = "engage-dashboard.html"
EXIT_RETRY = 3  # a network failed or paced: what was recorded stays, run the command again
MAX_WIDTH = 100  # wrap text for reading, even on a wide terminal


def _settings(settings_file: Path) -> EngageSettings:
    return EngageSettings.from_pelican(site.load_settings(settings_file))


def _period(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError:
        raise ConfigError(
            f"--period must be a duration such as 30d or 12h, not {value!r}"
        ) from None


def _width(console: Console) -> int:
    return max(40, min(console.width, shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH))


def _retry_later(err: Console, exc: NetworkError) -> NoReturn:
    """A network that failed for now: say so, and exit 3 (run the same command again)."""
    say(err, f"{exc}; run the same command again later.", soft_wrap=True)
    sys.exit(EXIT_RETRY)


@click.command()
@settings_option()
@json_option
def inbox(settings_file: Path, as_json: bool) -> None:
    """Comments waiting for your answer, from every network, oldest first.

    Each has a short ref (41) that every command taking a comment accepts.
    Also writes a local dashboard (engage-dashboard.html beside the state
    database, never deployed) with the same list and your answered and
    acknowledged rates week by week; `engage desk` answers from the browser.

    Example:

    \b
        engage inbox
        engage show 41
        engage reply 41 "Thanks, fixed!"
    """
    out, err = consoles(as_json)
    engage = _settings(settings_file)
    now = datetime.now(UTC)
    with Store.open(engage.db_path) as store:
        waiting = answers.inbox(store, now)
        period = answers.stats(store, now - timedelta(days=90), now)
        page = dashboard.render(waiting, period, dashboard.weekly(store, now), now, "last 90 days")
    path = dashboard.write(engage.db_path.parent / DASHBOARD_NAME, page)
    if as_json:
        echo_json([w.as_json() for w in waiting])
        return
    if not waiting:
        out.print("Nobody is waiting for an answer.")
    else:
        width = _width(out)
        out.print(Text(f"{len(waiting)} comments waiting, oldest first", style="bold"))
        pad = max(len(str(w.ref)) for w in waiting) + 2
        for w in waiting:
            head = Text(f"{w.ref:>{pad - 2}}  ", style="bold")
            head.append(clean(f"{dashboard.duration(w.age_seconds)} · {w.author} on "))
            head.append(clean(f"{network_label(w.network)} · {w.article}"), style="dim")
            out.print(head, soft_wrap=False)
            body = textwrap.wrap(clean(w.text), width=width - pad) or ["(no text)"]
            out.print(Text("\n".join(" " * pad + line for line in body)), soft_wrap=True)
        out.print(
            "Answer with `engage reply REF` ($EDITOR, with the thread) or "
            '`engage reply REF "text"`; `engage show REF`, `engage like REF`, '
            "`engage done REF`, or all of it in `engage desk`.",
            markup=False,
        )
    err.print(f"Dashboard: {path}", soft_wrap=True, markup=False)


@click.command()
@settings_option()
@click.argument("ref")
def show(settings_file: Path, ref: str) -> None:
    """One comment with the thread around it, before you answer it.

    REF is the short number `engage inbox` shows (or the full id). Prints the
    post's snippet as it went out on that network, the comments the comment
    answers, the comment itself and your earlier answers in the
    conversation, wrapped to the terminal's width.

    Example:

    \b
        engage show 41
    """
    out, _ = consoles()
    engage = _settings(settings_file)
    with Store.open(engage.db_path) as store:
        ctx = threads.context(store, ref)
    width = _width(out)
    for line in threads.lines(ctx, width):
        say(out, line, soft_wrap=True)
    n = ctx.name
    hint = f'engage reply {n} "…" · engage like {n} · engage done {n}'
    out.print(Text("\n" + textwrap.fill(hint, width), style="dim"), soft_wrap=True)


def _from_editor(store: Store, ref: str) -> str:
    template = threads.editor_template(threads.context(store, ref))
    edited = click.edit(template, extension=".txt")
    if edited is None:
        raise EngageError("the editor was closed without saving; nothing was sent")
    return threads.from_editor(edited)


@click.command()
@settings_option("publishconf.py")
@click.argument("ref")
@click.argument("text", required=False)
def reply(settings_file: Path, ref: str, text: str | None) -> None:
    """Answer a comment in its own thread on its own network.

    REF is the short number `engage inbox` shows (or the full id). Without
    TEXT your $EDITOR opens with the thread as comment lines ('# ...', which
    are dropped). The answer is recorded at once, so the comment leaves the
    inbox; running the same command again never posts the same answer twice.

    Example:

    \b
        engage reply 41 "Good point, thanks!"
        engage reply bluesky:at://did:plc:abc/app.bsky.feed.post/3k2 "Thanks!"
    """
    out, err = consoles()
    engage = _settings(settings_file)
    with Store.open(engage.db_path) as store:
        row = answers.comment_row(store, ref)
        network = row["network"]
        if network in answers.HOW_TO_ANSWER:
            raise EngageError(
                answers.HOW_TO_ANSWER[network].format(url=row["url"]).capitalize() + "."
            )
        with answers.adapter_for(engage, store, network) as adapter:
            answer = text if text is not None else _from_editor(store, row["id"])
            try:
                sent = answers.reply(store, adapter, row["id"], answer, author=engage.author)
            except NetworkError as exc:
                if not exc.retryable:
                    raise
                _retry_later(err, exc)
    label = network_label(network)
    if sent.already:
        say(out, f"That answer was already posted on {label}: {sent.ref.url}", soft_wrap=True)
    else:
        say(out, f"Answered on {label}: {sent.ref.url or sent.ref.id}", soft_wrap=True)


@click.command()
@settings_option("publishconf.py")
@click.argument("ref")
@click.option("--done", "also_done", is_flag=True, help="Also mark it as needing no answer.")
def like(settings_file: Path, ref: str, also_done: bool) -> None:
    """Like (favourite) a comment on its network, once.

    REF is the short number `engage inbox` shows (or the full id). The like
    is recorded before it is sent and after, so running the command again
    never likes twice. A liked comment still waits for your answer unless
    --done says it needs none (e.g. a "thanks!").

    Example:

    \b
        engage like 41
        engage like 42 --done
    """
    out, err = consoles()
    engage = _settings(settings_file)
    with Store.open(engage.db_path) as store:
        row = answers.comment_row(store, ref)
        refusal = acknowledge.like_refusal(row["network"], row["url"])
        if refusal is not None:
            raise EngageError(refusal[0].upper() + refusal[1:] + ".")
        with answers.adapter_for(engage, store, row["network"]) as adapter:
            try:
                liked = acknowledge.like(store, adapter, row["id"])
            except NetworkError as exc:
                if not exc.retryable:
                    raise
                _retry_later(err, exc)
        if also_done:
            acknowledge.done(store, row["id"])
    label = network_label(liked.network)
    said = "was already liked" if liked.already else "liked"
    rest = "; it needs no answer" if also_done else "; it still waits for your answer"
    say(out, f"Comment {liked.name} {said} on {label}{rest}.", soft_wrap=True)


@click.command()
@settings_option()
@click.argument("refs", nargs=-1, required=True)
def done(settings_file: Path, refs: tuple[str, ...]) -> None:
    """Mark comments as needing no answer: they leave the inbox.

    REFS are short numbers from `engage inbox` (or full ids). Nothing is
    sent anywhere; the stats count them as acknowledged, not as answered.

    Example:

    \b
        engage done 41
        engage done 42 43
    """
    out, _ = consoles()
    engage = _settings(settings_file)
    with Store.open(engage.db_path) as store:
        marked = [acknowledge.done(store, ref) for ref in refs]
    for item in marked:
        said = "was already marked done" if item.already else "needs no answer"
        say(out, f"Comment {item.name} {said}.")


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


@click.command()
@settings_option()
@json_option
@click.option(
    "--period", default="90d", show_default=True, help="Comments written in this long a window."
)
def stats(settings_file: Path, as_json: bool, period: str) -> None:
    """Answered and acknowledged rates and time to first answer, per network.

    Counts comments by others written within the period (still on the site):
    how many got a direct answer from you (comments marked done are left out
    of that rate: they needed none), how many were acknowledged at all
    (answered, liked or marked done), and the median and 90th-percentile time
    to the first answer.

    Example:

    \b
        engage stats --period 30d --json
    """
    out, _ = consoles(as_json)
    engage = _settings(settings_file)
    now = datetime.now(UTC)
    with Store.open(engage.db_path) as store:
        result = answers.stats(store, now - _period(period), now)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
        return
    table = Table(title=f"Answers, last {period}", title_justify="left")
    columns = ("Network", "Comments", "Answered", "Rate", "Acknowledged", "Rate", "Median", "90th")
    for column in columns:
        table.add_column(column, justify="left" if column == "Network" else "right")
    rows = [*sorted(result.networks.items()), ("overall", result.overall)]
    for name, rate in rows:
        data = rate.as_json()
        table.add_row(
            "All networks" if name == "overall" else network_label(name),
            str(rate.comments),
            str(rate.answered),
            _percent(rate.response_rate),
            str(rate.acknowledged),
            _percent(rate.acknowledged_rate),
            dashboard.duration(data["median_seconds"]),
            dashboard.duration(data["p90_seconds"]),
        )
    out.print(table)
    overall = result.overall
    out.print(
        f"Acknowledged: answered, liked ({overall.liked}) or marked done ({overall.done}). "
        "The answered rate leaves out comments marked done: they needed no answer. "
        "Median and 90th: time to the first answer.",
        soft_wrap=False,
    )
