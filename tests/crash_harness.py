"""SIGKILL an `engage` command at random points against one permissive stand-in, rerun, count.

One :class:`Lab` per network runs that network's stand-in in permissive mode (it
accepts every duplicate the real service would refuse, see ``StandIn.permissive``)
and holds the answer of every write for ``RESPONSE_DELAY`` after it took effect, so
a kill often lands between "written remotely" and "recorded". A run (:meth:`Lab.run`):

1. copies a prepared site (a queue for ``syndicate``, a fresh site for ``publish``,
   a synced conversation for ``reply``) and resets the stand-in to match it;
2. starts the command in its own process group and kills the group with SIGKILL
   right after the stand-in received a random write, plus a random few ms (or, in
   a quarter of the seeds, at a random moment of the attempt);
3. in some seeds reruns it and kills that rerun too (a random request of the
   recovery: a lookup, a resend), then reruns to completion;
4. compares the stand-in's own records with the database: every expected post or
   answer exists exactly once, follow-ups under the right parent, answers under the
   right comment, and the ledger names what the network has.

Used by tests/test_crash.py (a fixed sample per network and command) and by
benchmarks/crash.py (``make crash``, ``make mutation``: the same runs, counted).
Child processes load tests/loopback_guard/sitecustomize.py, which applies
``ENGAGE_MUTATION`` (tests/loopback_guard/engage_mutation.py) when it is set.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from sitebuilder import TAKES, write_post, write_settings
from syndication_helpers import configure, own_posts

from pelican.plugins.engage import site
from pelican.plugins.engage.answering.answers import answer_key
from pelican.plugins.engage.networks import build_adapters
from pelican.plugins.engage.sandbox import start_all
from pelican.plugins.engage.sandbox.base import Item, StandIn
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication import planner
from pelican.plugins.engage.syndication.ledger import Ledger

NETWORKS = ("mastodon", "bluesky", "x", "facebook")
COMMANDS = ("syndicate", "publish", "reply")
ENGAGE = str(Path(sys.executable).with_name("engage"))
GUARD = Path(__file__).resolve().parent / "loopback_guard"
CONF = "publishconf.py"

POSTS = 2  # each with one follow-up: 4 writes per syndicate/publish run
RESPONSE_DELAY = 0.05  # seconds a stand-in holds each answer after the write took effect
TIME_KILL_SHARE = 0.25  # seeds killed at a random moment instead of right after a write
RERUN_KILL_SHARE = 0.5  # seeds whose recovery rerun is killed too
# The requests that create something, per network (what the kill point counts).
WRITES = {
    "mastodon": r"^/api/v1/statuses$",
    "bluesky": r"com\.atproto\.repo\.createRecord$",
    "x": r"^/2/tweets$",
    "facebook": r"/(feed|comments)$",
}
# Every stand-in runs permissive: it accepts every duplicate the real service would refuse
# (Mastodon ignores the Idempotency-Key, as the real server does after about an hour), so
# only our own recovery stands between a kill and a second post.
PERMISSIVE = {"mastodon": True, "bluesky": True, "x": True, "facebook": True}


@dataclass
class Outcome:
    network: str
    command: str
    seed: int
    kill_point: str = ""
    killed: bool = False  # the first attempt was killed (not finished before the kill point)
    unrecorded: int = 0  # writes on the network that the database did not record at the kill
    killed_rerun: bool = False  # a recovery rerun was killed too
    duplicates: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        where = f"{self.network} {self.command} seed {self.seed} (killed {self.kill_point})"
        return f"{where}: " + "; ".join(self.problems)


@dataclass
class Template:
    root: Path
    slots: set[tuple[str, int]]  # (article, seq) the ledger must hold, posted
    answers: list[tuple[str, str]] = field(default_factory=list)  # (comment id, remote id)
    items: dict[str, Item] = field(default_factory=dict)  # the stand-in's state to restore
    duration: float = 0.0  # seconds an uninterrupted attempt takes


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of an `engage` child: no proxies, the loopback guard first."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(GUARD)]
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD), *paths])
    return {**env, **extra, "NO_PROXY": "127.0.0.1,localhost,::1", "COLUMNS": "120"}


class Attempt:
    """One started `engage` command: poll it, SIGKILL it, wait for its end."""

    def __init__(self, pid: int, done: Any, kill: Any, log: Path | None = None) -> None:
        self.pid = pid
        self._done = done  # () -> exit code or None, without blocking
        self._kill = kill  # SIGKILL to the command's process group, unless it is reaped
        self._log = log
        self.code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            self.code = self._done()
        return self.code

    def kill(self) -> None:
        """SIGKILL the command and anything it started (its own process group)."""
        self._kill()

    def wait(self, timeout: float = 120) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"engage (pid {self.pid}) still running after {timeout} s")
            time.sleep(0.005)
        output = ""
        if self._log and self._log.exists():  # a process killed at once may not have made it
            output = self._log.read_text(errors="replace")
            self._log.unlink()
        return self.code, output  # type: ignore[return-value]


class Exec:
    """Each command is the `engage` console script in a new interpreter (ENGAGE_CRASH_EXEC=1)."""

    def start(self, cwd: Path, args: list[str], env: dict[str, str], log: Path) -> Attempt:
        with log.open("wb") as out:
            child = subprocess.Popen(
                [ENGAGE, *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the kill takes every child
            )

        def kill() -> None:
            if child.poll() is None:  # not reaped: the pid and its group are still ours
                os.killpg(child.pid, signal.SIGKILL)

        return Attempt(child.pid, child.poll, kill, log)

    def close(self) -> None:
        pass


class Zygote:
    """Each command is a process forked from a pre-imported `engage` (tests/crash_zygote.py)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log
        with log.open("wb") as errors:
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("crash_zygote.py"))],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                bufsize=1,
            )
        self._lines: queue.Queue[dict[str, int]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name="crash-zygote").start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(json.loads(line))

    def _gone(self) -> RuntimeError:
        code = self._process.poll()
        tail = self._log.read_text(errors="replace")[-2000:]
        return RuntimeError(f"the crash zygote stopped (exit {code}): {tail}")

    def _next(self, block: bool) -> dict[str, int] | None:
        try:
            return self._lines.get(block=block, timeout=120 if block else None)
        except queue.Empty:
            if block:
                raise self._gone() from None
            return None

    def start(self, cwd: Path, args: list[str], env: dict[str, str], log: Path) -> Attempt:
        self._send({"op": "start", "args": args, "cwd": str(cwd), "env": env, "log": str(log)})
        answer = self._next(block=True)
        assert answer is not None and "pid" in answer, answer

        def done() -> int | None:
            end = self._next(block=False)
            return None if end is None else end["exit"]

        return Attempt(answer["pid"], done, lambda: self._send({"op": "kill"}), log)

    def _send(self, request: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
        except BrokenPipeError:
            raise self._gone() from None

    def close(self) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        self._process.wait(timeout=30)


class Lab:
    """One network's permissive stand-in, its prepared sites, and the crash runs against them."""

    def __init__(self, network: str, workdir: Path, *, key_expired: bool = False) -> None:
        self.network = network
        self.workdir = workdir
        self.standin: StandIn = start_all(names=(network,))[network]
        # A killed client resets its connections: that is the point here, not worth a traceback.
        self.standin._server.handle_error = lambda *_: None  # type: ignore[method-assign]
        self.permissive = PERMISSIVE[network] or key_expired
        self.standin.permissive = self.permissive
        self.env: dict[str, str] = {}
        self._templates: dict[str, Template] = {}
        fresh = os.environ.get("ENGAGE_CRASH_EXEC") == "1"
        self.launcher = Exec() if fresh else Zygote(child_env({}), workdir / f"{network}.zygote")
        self._logs = itertools.count()

    def close(self) -> None:
        self.launcher.close()
        self.standin.stop()

    # -- the stand-in -------------------------------------------------------------------
    def writes(self) -> int:
        return len(self.standin.calls("POST", WRITES[self.network]))

    def requests(self) -> int:
        return len(self.standin.requests)

    def _restore(self, template: Template) -> None:
        self.standin.reset()
        with self.standin.lock:
            self.standin.items.update(copy.deepcopy(template.items))
        self.standin.permissive = self.permissive
        self.standin.response_delay = RESPONSE_DELAY

    # -- prepared sites -------------------------------------------------------------------
    def template(self, command: str) -> Template:
        if command not in self._templates:
            template = getattr(self, f"_prepare_{command}")()
            template.duration = self._calibrate(command, template)
            self._templates[command] = template
        return self._templates[command]

    def _site(self, name: str) -> Path:
        root = self.workdir / f"{self.network}-{name}"
        write_settings(root, SITEURL="https://blog.example.net")
        for number, take in enumerate(TAKES[:POSTS]):
            write_post(
                root / "content",
                f"post-{number}",
                f"News of the day.\n\n## My take\n\n{take}",
                Date=f"2026-11-2{number} 09:00",
                Followup=f"+1h A second thought on post {number}, added the same afternoon.",
            )
        (root / CONF).write_text("from pelicanconf import *\n")
        self.env = configure(root, {self.network: self.standin}, timeout=20)
        return root

    def _prepare_publish(self) -> Template:
        root = self._site("publish")
        return Template(root, self.template("syndicate").slots)

    def _prepare_syndicate(self) -> Template:
        """A site whose whole plan is queued (nothing posted yet), planned in this process."""
        root = self._site("syndicate")
        with mock.patch.dict(os.environ, self.env):
            settings = site.load_settings(root / CONF)
            record = site.read_site(settings)
            now = datetime.now(UTC)
            engage = record.settings
            with Store.open(engage.db_path) as store:
                adapters = build_adapters(engage.networks, state_dir=engage.state_dir, meter=store)
                plan = planner.plan_posts(record.posts, adapters, now)
                ledger = Ledger(store)
                changes = planner.reconcile(
                    plan,
                    ledger,
                    site_url=engage.site_url,
                    now=now,
                    first_run_max_age=engage.first_run_max_age,
                    backfill=True,
                )
                planner.apply(changes, ledger, [self.network], now)
                slots = {(e.article, e.seq) for e in ledger.entries()}
                for adapter in adapters.values():
                    adapter.close()
        assert len(slots) == 2 * POSTS, slots
        return Template(root, slots)

    def _prepare_reply(self) -> Template:
        """Everything posted, Bob's comment on the first post and Carol's answer to Bob synced."""
        queued = self.template("syndicate")
        root = self.workdir / f"{self.network}-reply"
        shutil.copytree(queued.root, root)
        self.standin.reset()
        self.standin.response_delay = 0.0
        self._prepare_run(root, "syndicate")
        first = next(p for p in own_posts(self.standin) if p.parent_id is None)
        bob = self.standin.add_reply(first.id, "bob", "Which build backend did you pick?")
        carol = self.standin.add_reply(bob.id, "carol", "And why not a zipapp?")
        self._prepare_run(root, "sync", "--all")
        answers = [(f"{self.network}:{i.id}", i.id) for i in (bob, carol)]
        with Store.open(root / "engage.sqlite3") as store:
            missing = [cid for cid, _ in answers if store.comments.get(cid) is None]
        assert not missing, f"sync did not store {missing}"
        with self.standin.lock:
            items = copy.deepcopy(self.standin.items)
        return Template(root, queued.slots, answers, items)

    def _prepare_run(self, root: Path, *args: str) -> None:
        code, output = self._start(root, [args[0], "-s", CONF, *args[1:]]).wait()
        assert code == 0, output

    # -- one run ----------------------------------------------------------------------------
    def _commands(self, command: str, template: Template, seed: int) -> tuple[list[str], str]:
        if command != "reply":
            return [command, "-s", CONF], ""
        cid, _ = template.answers[seed % len(template.answers)]
        text = f"Thanks for asking ({self.network}, run {seed}): hatchling, for now."
        return ["reply", "-s", CONF, cid, text], text

    def _start(self, site_dir: Path, args: list[str]) -> Attempt:
        log = self.workdir / f"{self.network}-{next(self._logs)}.log"
        return self.launcher.start(site_dir, args, child_env(self.env), log)

    def _kill_after(self, attempt: Attempt, count: Any, target: int, extra: float) -> bool:
        """SIGKILL ``attempt`` once ``count()`` reaches ``target``, ``extra`` seconds later."""
        for _ in range(60_000):  # 2 ms polls: at most about two minutes, then kill anyway
            if count() >= target or attempt.poll() is not None:
                break
            time.sleep(0.002)
        if extra and attempt.poll() is None:
            time.sleep(extra)
        killed = attempt.poll() is None
        if killed:
            attempt.kill()
        attempt.wait(timeout=60)
        return killed

    def _calibrate(self, command: str, template: Template) -> float:
        """Seconds an uninterrupted attempt takes (the range of the kills at a random time)."""
        site_dir = self.workdir / f"calibrate-{command}"
        shutil.copytree(template.root, site_dir)
        self._restore(template)
        args, _ = self._commands(command, template, -1)
        try:
            started = time.monotonic()
            code, output = self._start(site_dir, args).wait()
            assert code == 0, output
            return time.monotonic() - started
        finally:
            shutil.rmtree(site_dir, ignore_errors=True)

    def run(self, command: str, seed: int) -> Outcome:
        outcome = Outcome(self.network, command, seed)
        template = self.template(command)
        rng = random.Random(f"{self.network}/{command}/{seed}")
        site_dir = self.workdir / f"run-{command}-{seed}"
        shutil.rmtree(site_dir, ignore_errors=True)
        shutil.copytree(template.root, site_dir)
        self._restore(template)
        args, text = self._commands(command, template, seed)
        writes = 1 if command == "reply" else len(template.slots)
        try:
            if rng.random() < TIME_KILL_SHARE:
                # At a random moment of the attempt: start-up, planning, the build, a lookup…
                target, extra = 0, rng.uniform(0, template.duration)
                outcome.kill_point = f"at {extra * 1000:.0f} ms"
            else:
                # Right after a random write reached the network: within the answer's delay
                # (written, not recorded) or a little after it (recorded, or the next one).
                target = rng.randint(1, writes)
                late = 0.8 if target == writes else 1.5  # after the last write, the window
                extra = rng.uniform(0, late * RESPONSE_DELAY)
                outcome.kill_point = f"{extra * 1000:.0f} ms after write {target}"
            before = self.writes()
            outcome.killed = self._kill_after(
                self._start(site_dir, args), lambda: self.writes() - before, target, extra
            )
            outcome.unrecorded = self._unrecorded(site_dir, template, text)
            # Some recoveries are killed too, at a random request (a lookup, a resend).
            if rng.random() < RERUN_KILL_SHARE:
                before = self.requests()
                target, extra = rng.randint(1, 4), rng.uniform(0, RESPONSE_DELAY)
                outcome.killed_rerun = self._kill_after(
                    self._start(site_dir, args), lambda: self.requests() - before, target, extra
                )
            code, output = self._start(site_dir, args).wait()
            if code != 0:
                outcome.problems.append(f"the rerun exited {code}: {output[-600:]}")
            if command == "reply":
                self._check_answer(outcome, site_dir, template, seed, text)
            else:
                self._check_posts(outcome, site_dir, template)
        finally:
            shutil.rmtree(site_dir, ignore_errors=True)
        return outcome

    # -- checks -------------------------------------------------------------------------------
    def _own(self) -> list[Item]:
        return own_posts(self.standin)

    def _unrecorded(self, site_dir: Path, template: Template, text: str) -> int:
        """Writes on the network that the database did not record when the kill landed."""
        on_network = len(self._own()) - len([i for i in template.items.values() if _mine(i)])
        db = site_dir / "engage.sqlite3"
        if not db.exists():
            return on_network
        with Store.open(db) as store:
            if text:
                rows = [store.answers.get(answer_key(cid, text)) for cid, _ in template.answers]
                recorded = sum(r is not None and r["state"] == "posted" for r in rows)
            else:
                entries = Ledger(store).entries()
                recorded = sum(e.state == "posted" for e in entries if e.network == self.network)
        return max(0, on_network - recorded)

    def _check_posts(self, outcome: Outcome, site_dir: Path, template: Template) -> None:
        with Store.open(site_dir / "engage.sqlite3") as store:
            entries = [e for e in Ledger(store).entries() if e.network == self.network]
        by_slot = {(e.article, e.seq): e for e in entries}
        posts = self._own()
        remote = {p.id: p for p in posts}
        copies = Counter(p.text for p in posts)
        outcome.duplicates = sum(n - 1 for n in copies.values())
        unnamed = len(posts) - len({e.remote_id for e in entries} & set(remote))
        outcome.duplicates = max(outcome.duplicates, unnamed)
        if outcome.duplicates:
            twice = [t[:50] for t, n in copies.items() if n > 1]
            outcome.problems.append(f"{outcome.duplicates} duplicate posts {twice}")
        for slot in sorted(template.slots):
            entry = by_slot.get(slot)
            item = remote.get(entry.remote_id or "") if entry else None
            if entry is None or entry.state != "posted" or item is None:
                outcome.lost += 1
                state = entry.state if entry else "absent"
                outcome.problems.append(f"{slot} lost (ledger {state}, posted: {item is not None})")
                continue
            if slot[1]:
                parent = by_slot.get((slot[0], slot[1] - 1))
                if parent is None or item.parent_id != parent.remote_id:
                    outcome.problems.append(f"{slot}: the follow-up is not under its first post")
        if set(by_slot) != template.slots:
            outcome.problems.append(f"the ledger holds {sorted(by_slot)}")

    def _check_answer(
        self, outcome: Outcome, site_dir: Path, template: Template, seed: int, text: str
    ) -> None:
        cid, target = template.answers[seed % len(template.answers)]
        before = {i.id for i in template.items.values() if _mine(i)}
        new = [i for i in self._own() if i.id not in before]
        under = [i for i in new if i.parent_id == target and i.text.endswith(text)]
        elsewhere = [i for i in new if i not in under]
        outcome.duplicates = max(0, len(under) - 1) + len(elsewhere)
        if outcome.duplicates:
            outcome.problems.append(f"{len(under)} answers under {cid}, {len(elsewhere)} elsewhere")
        with Store.open(site_dir / "engage.sqlite3") as store:
            row = store.answers.get(answer_key(cid, text))
            own = store.comments.get(f"{self.network}:{row['remote_id']}") if row else None
        if not under or row is None or row["state"] != "posted":
            outcome.lost = 1
            state = row["state"] if row else "absent"
            outcome.problems.append(f"the answer is lost (ledger {state}, {len(under)} posted)")
            return
        if row["remote_id"] not in {i.id for i in under}:
            outcome.problems.append(f"the ledger names {row['remote_id']}, not the answer posted")
        if own is None or own["parent_id"] != cid:
            outcome.problems.append("the answer is not stored as the author's comment under it")


def _mine(item: Item) -> bool:
    return item.author == "author" and not item.deleted
