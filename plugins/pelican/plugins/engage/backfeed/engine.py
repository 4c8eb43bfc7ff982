"""`engage sync`: find the conversations, read what is due, merge it, cache avatars.

The parts, each in its own module:

* :mod:`.notices`: one cheap request per network (its notifications) says
  which conversations changed; those are flagged for this run;
* :mod:`.schedule`: which conversations exist and which are due (flagged ones,
  then the decaying schedule, a slow safety net where notifications cover);
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

from ..networks import build_adapters
from ..networks.base import Adapter, UsageMeter
from ..settings import EngageSettings
from ..store import Store
from ..syndication.ledger import Ledger
from .avatars import cache_avatars, trusted_hosts
from .conversation import avatar_dir
from .merge import Threads
from .notices import Outlook, check_notifications
from .report import NetworkReport, SyncReport
from .runner import MAX_RATE_LIMIT_WAIT, Outcome, Syncer
from .schedule import Job, Plan, Target, find_targets, interval_for, plan
from .site_posts import SyncedPost

__all__ = [
    "Job",
    "NetworkReport",
    "Outcome",
    "Outlook",
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
    notify: bool = True,
) -> SyncReport:
    """Ask what changed, plan what is due, read it, merge it: one `engage sync` without the
    command line. ``notify`` False (or ``force``) reads by the decaying schedule alone."""
    now = now or datetime.now(UTC)
    report = SyncReport()
    report.moderated = threads.apply_moderation()  # blocklist edits reach stored comments
    spent = {name: adapter.requests_made for name, adapter in adapters.items()}
    # With --article or --all the targets are not the whole site: notices of the other
    # conversations would be dropped while the cursor moves on, so leave the cursors be.
    outlook = (
        check_notifications(threads, adapters, targets, now=now) if notify and not force else {}
    )
    the_plan = plan(
        targets,
        threads.states(),
        now=now,
        cutoff=cutoff,
        newest=threads.newest_comments(),
        unconfirmed=threads.unconfirmed(),
        force=force,
        covered={name: o.covered for name, o in outlook.items() if o.trusted},
    )
    stopped = {name for name, o in outlook.items() if o.state == "stopped"}
    for network in {t.key.network for t in targets} | set(outlook):
        net = report.network(network)
        net.waiting = the_plan.waiting.get(network, 0)
        net.retired = the_plan.retired.get(network, 0)
        net.flagged = the_plan.flagged.get(network, 0)
        net.safety = the_plan.safety.get(network, 0)
        net.safety_per_day = round(the_plan.safety_per_day.get(network, 0.0), 1)
        seen = outlook.get(network)
        if seen is not None:
            net.notifications, net.notices, net.counts = seen.state, seen.notices, seen.counts
            if seen.state == "stopped":
                net.stopped = f"notifications: {seen.message}"
            elif seen.state == "failed" and seen.message:
                net.messages.append(f"notifications failed, read by the schedule: {seen.message}")
    for job in the_plan.jobs:  # a network whose notifications hit a limit waits for the next run
        if job.target.key.network in stopped:
            report.network(job.target.key.network).deferred += 1
    the_plan.jobs = [j for j in the_plan.jobs if j.target.key.network not in stopped]
    if on_plan is not None:
        on_plan(the_plan)
    syncer = Syncer(
        threads, adapters, workers=workers, serial=serial, max_wait=max_wait, on_outcome=on_outcome
    )
    try:
        return syncer.run(the_plan.jobs, report)
    finally:
        for name, adapter in adapters.items():
            report.network(name).requests = adapter.requests_made - spent[name]


def sync_posts(
    settings: EngageSettings,
    posts: Iterable[SyncedPost],
    *,
    force: bool = False,
    serial: bool = False,
    workers: int | Mapping[str, int] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    notify: bool = True,
) -> SyncReport:
    """`engage sync` for the site's ``posts``: open the store, ask what changed, read what
    is due, merge it, cache avatars if asked. The command line, `engage watch` and the
    benchmark all run this."""
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
                notify=notify,
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
