"""Kill `engage syndicate` with a real SIGKILL at random points, rerun it, and count.

Each run starts from the same queue (a copy of one prepared state database),
starts `engage syndicate` in a subprocess against the stand-ins of four
networks, waits until the stand-ins have received a random number of writes
(plus a random few milliseconds), kills the process, reruns it to completion,
and then asserts against the stand-ins' own records: every queued post exists
exactly once, follow-ups sit under the right parent, and the ledger agrees.
The stand-ins hold each answer a moment after the write took effect, so
many kills land in the window where a post exists but was not yet recorded.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sitebuilder import TAKES, write_post, write_settings
from syndication_helpers import configure, own_posts

from pelican.plugins.engage import site
from pelican.plugins.engage.networks import build_adapters
from pelican.plugins.engage.sandbox import start_all
from pelican.plugins.engage.sandbox.base import StandIn
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication import planner
from pelican.plugins.engage.syndication.ledger import Ledger

RUNS = 52
NETWORKS = ("mastodon", "bluesky", "x", "facebook")
ENGAGE = str(Path(sys.executable).with_name("engage"))


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, StandIn]]:
    running = start_all(latency=0.002, names=NETWORKS)
    for standin in running.values():
        standin.response_delay = 0.02
    yield running
    for standin in running.values():
        standin.stop()


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, standins: dict[str, StandIn]
) -> Iterator[tuple[Path, dict[str, str], set[tuple[str, str, int]]]]:
    """A small site whose whole plan is queued (nothing posted yet)."""
    root = tmp_path_factory.mktemp("crash-template")
    write_settings(root, SITEURL="https://blog.example.net")
    for number, take in enumerate(TAKES[:3]):
        write_post(
            root / "content",
            f"post-{number}",
            f"News of the day.\n\n## My take\n\n{take}",
            Date=f"2026-11-2{number} 09:00",
            Followup=f"+1h A second thought on post {number}, added the same afternoon.",
        )
    (root / "publishconf.py").write_text("from pelicanconf import *\n")
    env = configure(root, standins, timeout=20)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = site.load_settings(root / "publishconf.py")
        record = site.read_site(settings)
        now = datetime.now(UTC)
        with Store.open(record.settings.db_path) as store:
            engage = record.settings
            adapters = build_adapters(engage.networks, state_dir=engage.state_dir, meter=store)
            plan = planner.plan_posts(record.posts, adapters, now)
            ledger = Ledger(store)
            changes = planner.reconcile(
                plan,
                ledger,
                site_url=record.settings.site_url,
                now=now,
                first_run_max_age=record.settings.first_run_max_age,
                backfill=True,
            )
            planner.apply(changes, ledger, list(NETWORKS), now)
            slots = {(e.network, e.article, e.seq) for e in ledger.entries()}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert len(slots) == 3 * 2 * len(NETWORKS)
    yield root, env, slots


def writes(standins: dict[str, StandIn]) -> int:
    return sum(len(s.calls("POST")) for s in standins.values())


def syndicate(site_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.Popen(
        [ENGAGE, "syndicate", "-s", "publishconf.py"],
        cwd=site_dir,
        env={**clean, **env, "NO_PROXY": "127.0.0.1,localhost", "COLUMNS": "120"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(RUNS))
def test_sigkill_then_rerun_neither_duplicates_nor_loses(
    seed: int,
    tmp_path: Path,
    standins: dict[str, StandIn],
    template: tuple[Path, dict[str, str], set[tuple[str, str, int]]],
) -> None:
    root, env, slots = template
    site_dir = tmp_path / "site"
    shutil.copytree(root, site_dir)
    for standin in standins.values():
        standin.reset()
        standin.response_delay = 0.02
    rng = random.Random(seed)
    kill_after = rng.randint(0, len(slots) - 1)
    extra = rng.uniform(0, 0.04)

    child = syndicate(site_dir, env)
    deadline = time.monotonic() + 60
    while writes(standins) < kill_after and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(extra)
    killed = child.poll() is None
    if killed:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert killed, f"the run finished before the kill point ({kill_after} writes)"

    for _ in range(2):  # a rerun to completion (a second one must find nothing to do)
        rerun = syndicate(site_dir, env)
        output = rerun.communicate(timeout=120)[0].decode()
        assert rerun.returncode == 0, output

    with Store.open(site_dir / "engage.sqlite3") as store:
        entries = Ledger(store).entries()
    assert {e.state for e in entries} == {"posted"}
    by_slot = {(e.network, e.article, e.seq): e for e in entries}
    assert set(by_slot) == slots
    for network in NETWORKS:
        posts = own_posts(standins[network])
        texts = Counter(p.text for p in posts)
        duplicates = [t for t, n in texts.items() if n > 1]
        assert not duplicates, f"{network}: posted twice after a kill at {kill_after}: {duplicates}"
        assert len(posts) == len([s for s in slots if s[0] == network]), f"{network}: lost posts"
        remote = {p.id: p for p in posts}
        for (net, article, seq), entry in by_slot.items():
            if net != network:
                continue
            item = remote.get(entry.remote_id or "")
            assert item is not None, f"{network}: the ledger names a post the network lacks"
            if seq:
                parent = by_slot[(net, article, seq - 1)]
                assert item.parent_id == parent.remote_id, f"{network}: follow-up off its thread"
