"""`engage inbox`, `engage reply` and `engage stats`: answer everyone, and measure it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from .. import site
from ..answering import answers, dashboard
from ..errors import ConfigError, EngageError
from ..networks import build_adapters, network_label
from ..settings import EngageSettings, parse_duration
from ..store import Store
from .common import consoles, json_option, settings_option

DASHBOARD_NAME = "engage-dashboard.html"
EDITOR_MARKER = "# Everything from this line down is ignored."


def _settings(settings_file: Path) -> EngageSettings:
    return EngageSettings.from_pelican(site.load_settings(settings_file))


def _period(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError:
        raise ConfigError(
            f"--period must be a duration such as 30d or 12h, not {value!r}"
        ) from None


@click.command()
@settings_option()
@json_option
def inbox(settings_file: Path, as_json: bool) -> None:
    """Comments waiting for your answer, from every network, oldest first.

    Also writes a local dashboard (engage-dashboard.html beside the state
    database, never deployed) with the same list, a link to answer each one
    on its network, and your response rate and time to answer week by week.

    Example:

    \b
        engage inbox
        engage reply mastodon:113400000000000123 "Thanks, fixed!"
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
        click.echo(json.dumps([w.as_json() for w in waiting], indent=2, ensure_ascii=False))
        return
    if not waiting:
        out.print("Nobody is waiting for an answer.")
    else:
        table = Table(title=f"{len(waiting)} comments waiting", title_justify="left")
        for column in ("Id", "Waiting", "Where", "Who", "What they wrote"):
            table.add_column(column, overflow="fold")
        for w in waiting:
            table.add_row(
                Text(w.id, style="bold"),
                dashboard.duration(w.age_seconds),
                f"{network_label(w.network)}\n{w.article}",
                w.author,
                w.text,
            )
        out.print(table)
        out.print('Answer with `engage reply ID` (opens your $EDITOR) or `engage reply ID "text"`.')
    err.print(f"Dashboard: {path}", soft_wrap=True)


def _from_editor(row: object) -> str:
    name = row["author_name"]  # type: ignore[index]
    text = answers.excerpt(row["html"], 2000)  # type: ignore[index]
    template = f"\n\n{EDITOR_MARKER}\n# Your answer to {name}:\n#\n# " + "\n# ".join(
        text.split("\n")
    )
    edited = click.edit(template, extension=".txt")
    if edited is None:
        raise EngageError("the editor was closed without saving; nothing was sent")
    return edited.split(EDITOR_MARKER)[0].strip()


@click.command()
@settings_option("publishconf.py")
@click.argument("comment_id")
@click.argument("text", required=False)
def reply(settings_file: Path, comment_id: str, text: str | None) -> None:
    """Answer a comment in its own thread on its own network.

    COMMENT_ID is an id from `engage inbox`. Without TEXT your $EDITOR opens.
    The answer is recorded at once, so the comment leaves the inbox; running
    the same command again never posts the same answer twice.

    Example:

    \b
        engage reply bluesky:at://did:plc:abc/app.bsky.feed.post/3k2 "Good point, thanks!"
    """
    out, _ = consoles()
    engage = _settings(settings_file)
    with Store.open(engage.db_path) as store:
        row = answers.comment_row(store, comment_id)
        network = row["network"]
        if network in answers.HOW_TO_ANSWER:
            raise EngageError(
                answers.HOW_TO_ANSWER[network].format(url=row["url"]).capitalize() + "."
            )
        if network not in engage.networks:
            raise ConfigError(
                f"{network} is not in ENGAGE_NETWORKS, so its comments cannot be answered"
            )
        answer = text if text is not None else _from_editor(row)
        adapters = build_adapters(
            engage.networks, state_dir=engage.state_dir, meter=store, names=[network]
        )
        try:
            sent = answers.reply(store, adapters[network], comment_id, answer, author=engage.author)
        finally:
            adapters[network].close()
    label = network_label(network)
    if sent.already:
        out.print(f"That answer was already posted on {label}: {sent.ref.url}", soft_wrap=True)
    else:
        out.print(f"Answered on {label}: {sent.ref.url or sent.ref.id}", soft_wrap=True)


@click.command()
@settings_option()
@json_option
@click.option(
    "--period", default="90d", show_default=True, help="Comments written in this long a window."
)
def stats(settings_file: Path, as_json: bool, period: str) -> None:
    """Response rate and time to first answer, per network and overall.

    Counts comments by others written within the period (still on the site),
    how many got a direct answer from you, and the median and 90th-percentile
    time to the first answer.

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
    for column in ("Network", "Comments", "Answered", "Rate", "Median", "90th pct"):
        table.add_column(column, justify="left" if column == "Network" else "right")
    rows = [*sorted(result.networks.items()), ("overall", result.overall)]
    for name, rate in rows:
        data = rate.as_json()
        table.add_row(
            "All networks" if name == "overall" else network_label(name),
            str(rate.comments),
            str(rate.answered),
            "–" if rate.response_rate is None else f"{rate.response_rate:.0%}",
            dashboard.duration(data["median_seconds"]),
            dashboard.duration(data["p90_seconds"]),
        )
    out.print(table)
