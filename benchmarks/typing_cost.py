"""The typing cost of answering: keystrokes from "a comment arrived" to "the answer is posted".

Three scripted sessions answer the same kind of comments on the demo blog,
published to the local stand-ins of Mastodon, Bluesky, X and Facebook: in
each session one comment arrives per network, `engage sync` brings them in,
and every one is answered with the same text. What is counted is what a
person types from there on (the sync itself is the same in all three):

* **CLI, before** (full ids): ``engage inbox``, then per comment
  ``engage reply <full id> "<answer>"`` with the id as the inbox printed it.
* **CLI, after** (short refs): ``engage inbox``, then ``engage reply 41 "<answer>"``.
* **desk**: ``engage desk`` (the browser opens on its own), then per comment
  ``r``, the answer, ``Ctrl+Enter``; the next comment is selected by itself
  (``j``/``k`` would be counted if the scripted answer needed them). The keys
  are really pressed, in headless Chromium over the DevTools protocol.

A keystroke is one character typed, Enter, or one chord (Ctrl+Enter); Shift
is not counted. The commands really run and the answers really land on the
stand-ins: the script checks both. It counts keys, it does not time anything.

    .venv/bin/python benchmarks/typing_cost.py          # a table
    .venv/bin/python benchmarks/typing_cost.py --json   # one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from sitebuilder import copy_demo_blog  # noqa: E402
from syndication_helpers import configure, engage, own_posts, standins, top_level  # noqa: E402

from pelican.plugins.engage import site  # noqa: E402
from pelican.plugins.engage.answering.desk import Desk  # noqa: E402
from pelican.plugins.engage.sandbox.base import StandIn  # noqa: E402
from pelican.plugins.engage.settings import EngageSettings  # noqa: E402

NETWORKS = ("mastodon", "bluesky", "x", "facebook")
POST = "packaging-a-one-file-script"
ANSWER = "Hatchling, for now: it builds the wheel I need"
ANSWER_LENGTH = len(ANSWER) + 4  # X refuses the same text twice: each ends with " (a)", " (b)" …
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def demo_site() -> Iterator[Path]:
    """A private copy of the demo blog as the working folder."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="typing-cost-") as tmp:
        folder = copy_demo_blog(Path(tmp) / "site")
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(before)


class Session:
    """Counts what a person types; runs each command for real."""

    written = 0  # answers written in every session so far

    def __init__(self, name: str) -> None:
        self.name = name
        self.keys = 0
        self.answers = 0
        self.per_network: dict[str, int] = {}  # keys of each answer, by the comment's network

    def answer(self) -> str:
        """The next answer: the same words, a different letter (all of the same length)."""
        Session.written += 1
        self.answers += 1
        return f"{ANSWER} ({chr(96 + Session.written)})"

    def command(self, line: str) -> str:
        self.keys += len(line) + 1  # the line, then Enter
        code, out, err = engage(*shlex.split(line)[1:])
        if code != 0:
            raise SystemExit(f"{line!r} failed: {out}{err}")
        return out

    def pressed(self, count: int) -> None:
        self.keys += count

    def as_json(self) -> dict[str, Any]:
        return {
            "keystrokes": self.keys,
            "answers": self.answers,
            "per_answer": round(self.keys / self.answers, 1),
            "per_network": self.per_network,
            "overhead_per_answer": round(
                (self.keys - self.answers * ANSWER_LENGTH) / self.answers, 1
            ),
        }


def arrive(running: dict[str, StandIn], round_: int) -> None:
    """One new comment per network, brought in by `engage sync` (not counted)."""
    for name, standin in running.items():
        post = next(p for p in top_level(standin) if POST in p.text)
        standin.add_reply(post.id, "bob", f"Which build backend did you pick? ({name}, {round_})")
    code, out, err = engage("sync", "-s", "publishconf.py", "--all")
    if code != 0:
        raise SystemExit(f"engage sync failed: {out}{err}")


def waiting() -> list[dict[str, Any]]:
    return list(json.loads(engage("inbox", "--json")[1]))


def cli_session(name: str, by_ref: bool) -> Session:
    session = Session(name)
    session.command("engage inbox")
    for comment in waiting():
        target = str(comment["ref"]) if by_ref else str(comment["id"])
        before = session.keys
        session.command(f'engage reply {target} "{session.answer()}"')
        session.per_network[str(comment["network"])] = session.keys - before
    if waiting():
        raise SystemExit(f"{name}: comments still wait after the session")
    return session


def desk_session(profile: Path) -> Session | None:
    if not Path(CHROMIUM).exists():
        return None
    from cdp import Chromium

    session = Session("desk")
    session.pressed(len("engage desk") + 1)  # the browser opens by itself
    comments = {str(c["ref"]): str(c["network"]) for c in waiting()}
    refs = list(comments)
    settings = EngageSettings.from_pelican(site.load_settings(Path("publishconf.py")))
    desk = Desk(settings).start()
    try:
        with Chromium(CHROMIUM, profile) as browser:
            browser.open(desk.url)
            browser.wait_for(f"document.querySelectorAll('.item').length === {len(refs)}")
            for ref in refs:
                current = browser.js("document.querySelector('.item.current').dataset.ref")
                if current != ref:
                    raise SystemExit(f"the desk selected #{current}, not the oldest #{ref}")
                browser.press("r")
                browser.wait_for("document.activeElement.tagName === 'TEXTAREA'")
                typed = browser.type(session.answer())
                browser.press("Enter", ctrl=True)
                browser.wait_for(f"!document.getElementById('item-{ref}')")
                session.pressed(1 + typed + 1)
                session.per_network[comments[ref]] = 1 + typed + 1
    finally:
        desk.stop()
    if waiting():
        raise SystemExit("desk: comments still wait after the session")
    return session


def run() -> dict[str, Any]:
    sessions: list[Session] = []
    with demo_site() as folder, standins(NETWORKS) as running:
        os.environ.update(configure(folder, running))
        code, out, err = engage("publish")
        if code != 0:
            raise SystemExit(f"engage publish failed: {out}{err}")
        for round_, (name, by_ref) in enumerate((("cli_before", False), ("cli_after", True))):
            arrive(running, round_)
            sessions.append(cli_session(name, by_ref))
        arrive(running, 2)
        desk = desk_session(folder / ".chromium")
        if desk is not None:
            sessions.append(desk)
        posted = sum(1 for s in running.values() for p in own_posts(s) if ANSWER in p.text)
    answered = sum(s.answers for s in sessions)
    if posted != answered:
        raise SystemExit(f"{answered} answers typed but {posted} landed on the stand-ins")
    result = {s.name: s.as_json() for s in sessions}
    result["answer_characters"] = ANSWER_LENGTH
    result["comments_per_session"] = len(NETWORKS)
    if "desk" not in result:
        result["desk"] = None  # Chromium is not installed: the desk session was not run
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"Keystrokes to answer {result['comments_per_session']} comments (one per network), "
        f"each with the same {result['answer_characters']}-character answer:"
    )
    print(f"{'session':<12}{'total':>8}{'per answer':>12}{'overhead per answer':>22}")
    for name in ("cli_before", "cli_after", "desk"):
        row = result.get(name)
        if row is None:
            print(f"{name:<12}{'(not run: no Chromium)':>42}")
            continue
        print(
            f"{name:<12}{row['keystrokes']:>8}{row['per_answer']:>12}"
            f"{row['overhead_per_answer']:>22}"
        )


if __name__ == "__main__":
    main()
