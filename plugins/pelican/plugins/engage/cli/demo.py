"""`invoke demo`: the whole loop on one machine, without any account.

Starts the stand-ins, publishes the demo blog to them, lets other accounts
reply (nested), like and repost, syncs the conversation back, answers one
comment per network from the "command line", rebuilds, and serves the site.
Everything the demo writes (settings, state database, sessions, output) goes
into one work folder, so your real state database is never touched.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import site
from ..answering import answers
from ..errors import EngageError
from ..sandbox import start_all
from ..sandbox.base import StandIn
from ..store import Store
from . import cli

NETWORKS = ("mastodon", "bluesky", "x", "facebook")
WORK_FOLDER = ".engage-demo"

# Who says what under the demo's first posts: (account, text, replies to the previous one?)
VOICES = (
    ("bob", "This matches my experience. Did anything break for your readers?", False),
    ("carol", "Same question here, and what did you do about old links?", True),
    ("dave", "Saved for the weekend. Thanks for writing the why, not just the what.", False),
)


@dataclass
class Demo:
    work: Path
    settings_file: Path
    output: Path
    standins: dict[str, StandIn]


def _engage(*args: str) -> int:
    """Run an engage command in this process; its exit code, not an exit."""
    try:
        cli.main(list(args), prog_name="engage", standalone_mode=False)
    except SystemExit as exc:  # commands exit with 1 or 3 to report, not to fail here
        return int(exc.code or 0)
    return 0


def write_settings(site_dir: Path, work: Path, standins: dict[str, StandIn], port: int) -> Path:
    networks = {name: {**s.network_options(), "timeout": 5} for name, s in standins.items()}
    conf = work / "democonf.py"
    conf.write_text(
        textwrap.dedent(
            f"""\
            # Written by `invoke demo`: the demo blog pointed at local stand-ins.
            import sys
            sys.path.insert(0, {str(site_dir)!r})
            from publishconf import *  # noqa: F403

            PATH = {str(site_dir / "content")!r}
            THEME = {str(site_dir / "theme")!r}
            OUTPUT_PATH = {str(work / "output")!r}
            SITEURL = "http://localhost:{port}"
            ENGAGE_BASE_DIR = {str(site_dir)!r}
            ENGAGE_DB = {str(work / "engage.sqlite3")!r}
            ENGAGE_STATE_DIR = {str(work / "state")!r}
            ENGAGE_FIRST_RUN_MAX_AGE = "3650d"
            ENGAGE_SHOW_GATE = True
            ENGAGE_DEPLOY = None
            ENGAGE_STRICT = False
            ENGAGE_NETWORKS = {networks!r}
            """
        ),
        encoding="utf-8",
    )
    return conf


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def converse(standins: dict[str, StandIn]) -> int:
    """Other accounts reply (one nested), like and repost under each first post.

    The replies are spread over the last hours, interleaved across networks, so
    the page shows one conversation in time order rather than one per network.
    """
    replies = 0
    start = datetime.now(UTC) - timedelta(hours=6)
    for n, standin in enumerate(standins.values()):
        for post in [p for p in standin.posts_by("author") if p.parent_id is None][:3]:
            previous = post
            for v, (account, text, nested) in enumerate(VOICES):
                when = start + timedelta(minutes=23 * n + 71 * v)
                parent = previous.id if nested else post.id
                previous = standin.add_reply(parent, account, text, created_at=when)
                replies += 1
            standin.like(post.id, "carol", "dave", "eve")
            standin.repost(post.id, "bob")
    return replies


def answer_one_per_network(db: Path) -> int:
    with Store.open(db) as store:
        waiting = answers.inbox(store)
    answered: set[str] = set()
    for comment in waiting:
        if comment.network in answered:
            continue
        text = f"Thank you, {comment.author.split()[0]}! Nothing broke that I know of."
        if _engage("reply", "-s", str(db.parent / "democonf.py"), comment.id, text) == 0:
            answered.add(comment.network)
    return len(answered)


def run(site_dir: Path, *, port: int = 8000, console: Console | None = None) -> Demo:
    """Everything but serving: returns where the built site is, stand-ins still running."""
    console = console or Console()
    work = site_dir / WORK_FOLDER
    work.mkdir(exist_ok=True)
    for stale in ("engage.sqlite3", "engage.sqlite3-wal", "engage.sqlite3-shm"):
        (work / stale).unlink(missing_ok=True)  # a fresh run: the stand-ins start empty too
    standins = start_all(names=NETWORKS)
    try:
        conf = write_settings(site_dir, work, standins, port)
        env = {k: v for s in standins.values() for k, v in s.environment().items()}
        with _environment(env):
            console.rule("1. Publish the demo blog to local stand-ins of four networks")
            if _engage("publish", "-s", str(conf)) not in (0, 3):
                raise EngageError("the demo publish failed; see the messages above")
            console.rule("2. Other accounts reply, like and repost")
            console.print(f"{converse(standins)} replies written on the stand-ins.")
            console.rule("3. Bring the conversation back")
            _engage("sync", "-s", str(conf), "--all")
            console.rule("4. Answer from the command line")
            answered = answer_one_per_network(work / "engage.sqlite3")
            console.print(f"Answered one comment on each of {answered} networks.")
            _engage("inbox", "-s", str(conf))
            console.rule("5. Rebuild with the conversation")
            site.build_site(site.load_settings(conf))
    except BaseException:
        for standin in standins.values():
            standin.stop()
        raise
    return Demo(work, conf, work / "output", standins)


def serve(demo: Demo, port: int, console: Console) -> None:
    from pelican.server import ComplexHTTPRequestHandler, RootedHTTPServer

    class Server(RootedHTTPServer):
        allow_reuse_address = True

    server = Server(str(demo.output), ("localhost", port), ComplexHTTPRequestHandler)
    console.print(f"Serving the demo blog at http://localhost:{port}/ (Ctrl-C to stop).")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("Stopped.")
    finally:
        server.server_close()
        for standin in demo.standins.values():
            standin.stop()


def main(site_dir: Path, port: int = 8000, *, serve_site: bool = True) -> Any:
    console = Console()
    demo = run(site_dir, port=port, console=console)
    if serve_site:
        serve(demo, port, console)
    return demo
