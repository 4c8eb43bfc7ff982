"""`engage sync`: find the conversations, read what is due, merge it, cache avatars.

The parts, each in its own module:

* :mod:`.schedule`: which conversations exist and which are due (the decaying
  polling schedule);
* :mod:`.runner`: reading them concurrently, with per-network workers and
  rate-limit pauses, merging on the calling thread;
* :mod:`.merge`: the merge rules; :mod:`.report`: what the run did;
* :mod:`.avatars`: caching commenters' avatars when ``ENGAGE_AVATARS`` asks.

This module ties them together for the command line and the benchmark, and
keeps their names importable from one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from ..gate.record import PostRecord
from ..networks import build_adapters
from ..networks.base import Adapter, UsageMeter
from ..settings import EngageSettings
from ..store import Store
from ..syndication.ledger import Ledger
from .avatars import cache_avatars, trusted_hosts
from .conversation import avatar_dir
from .merge import Threads
from .report import NetworkReport, SyncReport
from .runner import MAX_RATE_LIMIT_WAIT, Outcome, Syncer
from .schedule import Job, Plan, Target, find_targets, interval_for, plan

__all__ = [
    "Job",
    "NetworkReport",
    "Outcome",
    "Plan",
    "SyncReport",
    "Syncer",
    "Target",
    "find_targets",
    "interval_for",
    "plan",
    "run_sync",
    "sync_adapters",
    "sync_posts",
]


def sync_adapters(
    settings: EngageSettings, meter: UsageMeter, names: Iterable[str]
) -> dict[str, Adapter]:
    """One adapter per network in ``names``, metered through ``meter``."""
    return build_adapters(
        settings.networks,
        state_dir=settings.state_dir,
        meter=meter,
        names=names,
        site_dir=settings.base_dir,  # file: comment feeds are relative to the site folder
    )


def run_sync(
    threads: Threads,
    adapters: Mapping[str, Adapter],
    targets: list[Target],
    *,
    cutoff: timedelta,
    force: bool = False,
    serial: bool = False,
    workers: int | Mapping[str, int] | None = None,
    max_wait: float = MAX_RATE_LIMIT_WAIT,
    on_plan: Callable[[Plan], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Plan what is due, read it, merge it: one `engage sync` without the command line."""
    report = SyncReport()
    report.moderated = threads.apply_moderation()  # blocklist edits reach stored comments
    the_plan = plan(
        targets,
        threads.states(),
        now=now or datetime.now(UTC),
        cutoff=cutoff,
        newest=threads.newest_comments(),
        unconfirmed=threads.unconfirmed(),
        force=force,
    )
    for network in {t.key.network for t in targets}:
        net = report.network(network)
        net.waiting = the_plan.waiting.get(network, 0)
        net.retired = the_plan.retired.get(network, 0)
    if on_plan is not None:
        on_plan(the_plan)
    syncer = Syncer(
        threads, adapters, workers=workers, serial=serial, max_wait=max_wait, on_outcome=on_outcome
    )
    return syncer.run(the_plan.jobs, report)


def sync_posts(
    settings: EngageSettings,
    posts: Iterable[PostRecord],
    *,
    force: bool = False,
    serial: bool = False,
    workers: int | Mapping[str, int] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SyncReport:
    """`engage sync` for the site's ``posts``: open the store, read what is due, merge it,
    cache avatars if asked. The command line and the benchmark both run this."""
    with Store.open(settings.db_path) as store:
        targets, notes = find_targets(posts, Ledger(store), settings.networks)
        threads = Threads(store, blocklist=settings.blocklist, site_url=settings.site_url)
        meter = store.shared_meter()  # X bills reads made on worker threads
        adapters = sync_adapters(settings, meter, (t.key.network for t in targets))
        try:
            report = run_sync(
                threads,
                adapters,
                targets,
                cutoff=settings.sync_cutoff,
                force=force,
                serial=serial,
                workers=workers,
                on_plan=on_plan,
                on_outcome=on_outcome,
            )
        finally:
            for adapter in adapters.values():
                adapter.close()
            meter.close()
        report.notes.extend(notes)
        if settings.avatars == "cache":
            cached = cache_avatars(
                store, avatar_dir(settings), trusted_hosts=trusted_hosts(settings.networks)
            )
            if cached.failed:
                report.notes.append(
                    f"{cached.failed} avatars could not be cached; initials show instead"
                )
    return report
