"""Pacing by the rate-limit headers: a sync stops short of the 429 on every network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from notify_worlds import World
from syndication_helpers import configure, engage, standins

from pelican.plugins.engage.errors import RateLimited
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost
from pelican.plugins.engage.networks.facebook_notices import usage_budget
from pelican.plugins.engage.networks.mastodon import MastodonAdapter
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn
from pelican.plugins.engage.sandbox.ratelimits import HitWindow
from pelican.plugins.engage.store import Store


@pytest.fixture
def mastodon() -> Iterator[MastodonStandIn]:
    with MastodonStandIn() as server:
        yield server


def adapter_for(server: MastodonStandIn) -> MastodonAdapter:
    return MastodonAdapter(
        {"base_url": server.base_url, "timeout": 2}, AdapterContext(env=server.environment())
    )


def test_the_budget_follows_the_headers(mastodon: MastodonStandIn) -> None:
    adapter = adapter_for(mastodon)
    assert adapter.rate_budget() is None  # nothing known before the first answer
    for n in range(3):
        adapter.publish(OutgoingPost(text=f"Post {n}", idempotency_key=f"k{n}"))
    budget = adapter.rate_budget()
    assert budget is not None
    remaining, reset = budget
    assert 290 <= remaining <= 297 and 0 < reset <= 302


def test_an_enforced_window_answers_429(mastodon: MastodonStandIn) -> None:
    adapter = adapter_for(mastodon)
    mastodon.enforce_rate_limit(3)
    for n in range(3):
        adapter.publish(OutgoingPost(text=f"Post {n}", idempotency_key=f"k{n}"))
    assert adapter.rate_budget() == (0, pytest.approx(300, abs=5))
    with pytest.raises(RateLimited) as caught:
        adapter.publish(OutgoingPost(text="One too many", idempotency_key="k9"))
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 302


def test_sync_stops_at_the_reserve_instead_of_running_into_a_429(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with standins(["mastodon"]) as running:
        configure(demo_site, running, monkeypatch)
        assert engage("publish")[0] == 0
        server = running["mastodon"]
        used = max(len(hits) for hits in server._hits.values())  # type: ignore[attr-defined]
        # Room for one conversation (two calls) before only the reserve of 10 is left.
        server.enforce_rate_limit(used + 12)  # type: ignore[attr-defined]
        before = len(server.requests)
        code, out, err = engage("sync", "--all")
        text = " ".join((out + err).split())
        assert code == 3, text
        assert "requests left in the rate-limit window" in text, text
        assert "Mastodon │ 1/6" in text  # one conversation read, the rest left for later
        served = max(len(h) for h in server._hits.values()) - used  # type: ignore[attr-defined]
        assert len(server.requests) - before == served  # every call served: no 429 at all
        assert used + served < used + 12  # the reserve was kept


# -- every network paces by its own headers (issue 13) -----------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "engage.sqlite3") as opened:
        yield opened


def window_of(world: World) -> HitWindow:
    window = world.server.window
    assert isinstance(window, HitWindow)
    return window


@pytest.mark.parametrize(
    ("network", "posts", "limit"),
    # Facebook reports percentages: the reserve of 10 is 10% of the budget, which must
    # cover the reads in flight (6 workers, 2 requests each) when the pacing stops them.
    [("bluesky", 40, 30), ("x", 40, 30), ("facebook", 80, 130)],
)
def test_a_sync_stops_short_of_the_429_and_resumes_next_run(
    network: str, posts: int, limit: int, store: Store, tmp_path: Path
) -> None:
    """Bluesky's ratelimit-*, X's x-rate-limit-* (per endpoint), Facebook's X-App-Usage."""
    world = World(network, store, tmp_path / "state", notify_every="0")
    try:
        world.publish(posts)
        window = window_of(world)
        window.clear()
        world.server.enforce_rate_limit(limit)
        first = world.sync()
        net = first.networks[network]
        assert not first.ok and net.stopped and "requests left" in net.stopped, net
        assert 0 < net.fetched < posts and net.deferred == posts - net.fetched
        assert window.refusals == 0  # stopped short: no request was refused
        read = net.fetched
        for _ in range(5):  # each later run starts where the last stopped: nothing read twice
            window.clear()  # the window passes; the next run is a new process
            world.adapter.close()
            world.adapter = world.new_adapter()
            later = world.sync().networks[network]
            assert later.fetched > 0 and window.refusals == 0, later
            read += later.fetched
            if later.deferred == 0:
                break
        assert read == posts  # every conversation read exactly once over the runs
    finally:
        world.stop()


def test_usage_headers_read_as_a_budget() -> None:
    headers = {
        "x-app-usage": '{"call_count": 42, "total_cputime": 10, "total_time": 55}',
        "x-business-use-case-usage": '{"1": [{"type": "pages", "call_count": 91,'
        ' "total_cputime": 3, "total_time": 4, "estimated_time_to_regain_access": 7}]}',
    }
    assert usage_budget(headers) == (9, 420.0)
    assert usage_budget({"x-app-usage": '{"call_count": 5}'}) == (95, 3600.0)
    assert usage_budget({}) is None
