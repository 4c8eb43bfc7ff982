"""Render gate verdicts for people (a rich table) and for tools (DESIGN.md's JSON).

Titles, reasons and notes can quote strangers (a source page's error, a
network's answer, a feed's declared encoding): every cell is plain text
(:func:`.common.text`), never Rich markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..gate.record import PostRecord
from .common import clean, say, text


def summary(posts: Sequence[PostRecord]) -> dict[str, int]:
    candidates = [p for p in posts if p.candidate]
    return {
        "candidates": len(candidates),
        "eligible": sum(1 for p in candidates if p.verdict.eligible),
    }


def check_json(posts: Sequence[PostRecord]) -> dict[str, Any]:
    return {"articles": [p.check_json() for p in posts], "summary": summary(posts)}


def failing(posts: Sequence[PostRecord]) -> list[PostRecord]:
    return [p for p in posts if p.candidate and not p.verdict.eligible]


def metadata_problems(posts: Sequence[PostRecord]) -> list[str]:
    """Each malformed metadata value as one sentence naming the file and the key."""
    return [
        f"{post.source_path}: {reason.message}."
        for post in posts
        for reason in post.verdict.reasons
        if reason.code == "invalid_metadata"
    ]


# Past this many held-back posts (an archive written before the plugin), `engage check`
# prints counts per reason and the newest few instead of a row per post; --all: every row.
SUMMARY_OVER = 20
NEWEST_SHOWN = 5


def _newest_first(posts: Sequence[PostRecord]) -> list[PostRecord]:
    dated = sorted((p for p in posts if p.date is not None), key=lambda p: p.date, reverse=True)
    return dated + sorted((p for p in posts if p.date is None), key=lambda p: p.source_path)


def _gate_table(posts: Sequence[PostRecord], title: str = "Commentary gate") -> Table:
    table = Table(title=title, title_justify="left", expand=False, show_lines=False)
    table.add_column("Post", overflow="fold", ratio=3)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Own words", justify="right")
    table.add_column("Why", overflow="fold", ratio=5)
    for post in posts:
        if not post.candidate:
            verdict = Text("not a candidate", style="dim")
            if post.kind == "page":
                why = "a page"
            elif post.meta.opted_out:
                why = "Syndicate: none"
            elif post.status == "published":
                why = "a translation"  # only the original is cross-posted, unless it opts in
            else:
                why = f"status {post.status}"
        elif post.verdict.eligible:
            verdict, why = Text("cross-post", style="green"), ""
        else:
            verdict = Text("held back", style="bold red")
            why = "\n".join(f"{r.code}: {r.message}" for r in post.verdict.reasons)
        table.add_row(
            text(f"{post.title}\n", style="bold") + text(post.source_path, style="dim"),
            verdict,
            str(post.verdict.commentary_words),
            text(why),
        )
    return table


def _days(age: timedelta) -> str:
    if age % timedelta(days=1):
        return str(age)
    return f"{age.days} day" + ("" if age.days == 1 else "s")


def _print_archive_summary(
    console: Console, posts: Sequence[PostRecord], first_run_max_age: timedelta | None
) -> None:
    """Counts per reason and the newest posts, for a site with many posts held back."""
    held = _newest_first(failing(posts))
    reasons = Table(title="Held back, by reason", title_justify="left")
    reasons.add_column("Reason", no_wrap=True)
    reasons.add_column("Posts", justify="right")
    reasons.add_column("Newest", overflow="fold")
    codes = Counter(r.code for post in held for r in post.verdict.reasons)
    for code, count in codes.most_common():
        newest = next(p for p in held if code in p.verdict.codes)
        reasons.add_row(code, str(count), text(newest.title))
    console.print(reasons)
    passing = _newest_first([p for p in posts if p.candidate and p.verdict.eligible])
    shown = passing[:NEWEST_SHOWN] + held[:NEWEST_SHOWN]
    console.print(_gate_table(shown, title="Commentary gate: the newest posts"))
    console.print(
        f"Shown: the newest {min(len(passing), NEWEST_SHOWN)} of {len(passing)} passing and "
        f"{NEWEST_SHOWN} of {len(held)} held back; `engage check --all` lists all "
        f"{len(posts)} posts, `engage check --json` the same for tools.",
        soft_wrap=True,
    )
    if first_run_max_age is not None:
        console.print(
            "The archive will not flood your networks: at the first publish to a network, posts "
            f"older than {_days(first_run_max_age)} (ENGAGE_FIRST_RUN_MAX_AGE) are not posted "
            "even once their commentary passes; `engage publish --backfill` posts them.",
            soft_wrap=True,
        )


def print_gate_report(
    console: Console,
    posts: Sequence[PostRecord],
    *,
    show_all: bool = False,
    first_run_max_age: timedelta | None = None,
) -> None:
    """The gate's verdict on every post; a summary when many are held back (unless show_all)."""
    problems = metadata_problems(posts)
    if show_all or len(failing(posts)) <= SUMMARY_OVER:
        order = sorted(posts, key=lambda p: (not p.candidate, p.verdict.eligible, p.source_path))
        console.print(_gate_table(order))
    else:
        _print_archive_summary(console, posts, first_run_max_age)
        if len(problems) > NEWEST_SHOWN:
            more = len(problems) - NEWEST_SHOWN
            problems = [*problems[:NEWEST_SHOWN], f"… and {more} more malformed metadata values."]
    for problem in problems:
        say(console, problem, style="bold red", soft_wrap=True)
    counts = summary(posts)
    held = counts["candidates"] - counts["eligible"]
    console.print(
        f"{counts['eligible']} of {counts['candidates']} candidate posts will be cross-posted"
        + (f"; {held} held back until their commentary is fixed." if held else "."),
        soft_wrap=True,  # prose: let the terminal wrap it, so it stays greppable
    )


def plan_rows(
    changes: Sequence[Any], plan_items: Sequence[Any], ledger_entries: Sequence[Any]
) -> list[dict[str, Any]]:
    """One row per planned write: what the ledger says, or what it would say after this run."""
    pending_change = {
        (c.entry.article, c.entry.network, c.entry.seq): c for c in changes if c.item is not None
    }
    ledger = {(e.article, e.network, e.seq): e for e in ledger_entries}
    rows = []
    for item in plan_items:
        slot = (item.article, item.network, item.seq)
        change = pending_change.get(slot)
        entry = ledger.get(slot)
        if change is not None and change.action == "add":
            state, note = (
                ("new" if change.entry.state == "queued" else change.entry.state),
                change.entry.last_error,
            )
        elif change is not None:
            state, note = "queued", None
        elif entry is not None:
            state, note = entry.state, entry.last_error
        else:
            state, note = "new", None
        rows.append(
            {
                "article": item.article,
                "title": item.title,
                "network": item.network,
                "seq": item.seq,
                "kind": item.kind,
                "due_at": item.due_at.isoformat(),
                "state": state,
                "text": item.text,
                "length": item.length,
                "limit": item.limit,
                "link": item.link,
                "remote_url": entry.remote_url if entry is not None else None,
                "note": note,
            }
        )
    return rows


STATE_STYLE = {
    "new": "bold cyan",
    "queued": "cyan",
    "pending": "yellow",
    "scheduled": "blue",
    "posted": "green",
    "skipped": "dim",
    "cancelled": "dim",
}


def print_plan(console: Console, rows: Sequence[dict[str, Any]], *, title: str = "Plan") -> None:
    if not rows:
        console.print("Nothing to cross-post.")
        return
    # The first-run guard holds a whole archive back: one line says so instead of a row each.
    guarded = [r for r in rows if r["state"] == "skipped"]
    if len(guarded) > SUMMARY_OVER:
        rows = [r for r in rows if r["state"] != "skipped"]
    table = Table(title=title, title_justify="left")
    table.add_column("Post", overflow="fold", ratio=2)
    table.add_column("Where", no_wrap=True)
    table.add_column("When", no_wrap=True)
    table.add_column("State", overflow="fold", ratio=2)  # notes are sentences: let them wrap
    table.add_column("Length", justify="right", no_wrap=True)
    table.add_column("Text", overflow="fold", ratio=4)
    for row in rows:
        length = f"{row['length']}/{row['limit']}" if row["limit"] else ""
        state = Text(row["state"], style=STATE_STYLE.get(row["state"], ""))
        if row["note"]:
            state.append(clean(f"\n{row['note']}"), style="dim")
        table.add_row(
            text(row["title"]),
            f"{row['network']}\n{row['kind']}",
            row["due_at"][:16].replace("T", " "),
            state,
            length,
            text(row["text"]),
        )
    if rows:
        console.print(table)
    if len(guarded) > SUMMARY_OVER:
        posts = len({r["article"] for r in guarded})
        console.print(
            f"{len(guarded)} snippets of {posts} older posts are skipped: at the first publish "
            "to a network, posts older than ENGAGE_FIRST_RUN_MAX_AGE are not posted "
            "(--backfill posts them; --json lists them).",
            soft_wrap=True,
        )
