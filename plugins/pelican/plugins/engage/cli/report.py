"""Render gate verdicts for people (a rich table) and for tools (DESIGN.md's JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..gate.record import PostRecord


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


def print_gate_report(console: Console, posts: Sequence[PostRecord]) -> None:
    table = Table(title="Commentary gate", title_justify="left", expand=False, show_lines=False)
    table.add_column("Post", overflow="fold", ratio=3)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Own words", justify="right")
    table.add_column("Why", overflow="fold", ratio=5)
    for post in sorted(posts, key=lambda p: (not p.candidate, p.verdict.eligible, p.source_path)):
        if not post.candidate:
            verdict = Text("not a candidate", style="dim")
            if post.kind == "page":
                why = "a page"
            elif post.meta.opted_out:
                why = "Syndicate: none"
            else:
                why = f"status {post.status}"
        elif post.verdict.eligible:
            verdict, why = Text("cross-post", style="green"), ""
        else:
            verdict = Text("held back", style="bold red")
            why = "\n".join(f"{r.code}: {r.message}" for r in post.verdict.reasons)
        table.add_row(
            Text(f"{post.title}\n", style="bold") + Text(post.source_path, style="dim"),
            verdict,
            str(post.verdict.commentary_words),
            why,
        )
    console.print(table)
    for problem in metadata_problems(posts):
        console.print(f"[bold red]{problem}[/]", soft_wrap=True)
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
    table = Table(title=title, title_justify="left")
    table.add_column("Post", overflow="fold", ratio=2)
    table.add_column("Where", no_wrap=True)
    table.add_column("When", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Length", justify="right", no_wrap=True)
    table.add_column("Text", overflow="fold", ratio=4)
    for row in rows:
        length = f"{row['length']}/{row['limit']}" if row["limit"] else ""
        state = Text(row["state"], style=STATE_STYLE.get(row["state"], ""))
        if row["note"]:
            state.append(f"\n{row['note']}", style="dim")
        table.add_row(
            row["title"],
            f"{row['network']}\n{row['kind']}",
            row["due_at"][:16].replace("T", " "),
            state,
            length,
            row["text"],
        )
    console.print(table)
