"""Render gate verdicts for people (a rich table) and for tools (DESIGN.md's JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import PostRecord


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
    counts = summary(posts)
    held = counts["candidates"] - counts["eligible"]
    console.print(
        f"{counts['eligible']} of {counts['candidates']} candidate posts will be cross-posted"
        + (f"; {held} held back until their commentary is fixed." if held else "."),
        soft_wrap=True,  # prose: let the terminal wrap it, so it stays greppable
    )
