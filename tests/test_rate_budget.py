"""Pacing by the rate-limit headers: a sync stops short of Mastodon's 429."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from syndication_helpers import configure, engage, standins

from pelican.plugins.engage.errors import RateLimited
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost
from pelican.plugins.engage.networks.mastodon import MastodonAdapter
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn


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
