"""Mastodon's grouped notifications (``GET /api/v2/notifications``, Mastodon 4.3+), and the
fallback to v1 on servers without them, which the cursor remembers.

Part one replays real v2 answers (tests/recordings/mastodon/grouped_notifications*, from
Mastodon.py's cassettes) through the adapter and the real client. Part two compares the
stand-in's v2 answer with them. Part three syncs against the stand-in, with and without
v2; part four against mastodon-mock (an independent server, which has v2: a fault rule
makes it answer 404 like an older server).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon_mock.testing.server import MockServer
from network_fixtures import open_adapter, standin_fixtures
from notify_worlds import World, requests_of
from recordings_data import load
from replay import Answer, ReplayServer, Seen, Shape, mismatches, recorded, shape_of

from pelican.plugins.engage.networks import mastodon_notices
from pelican.plugins.engage.networks.base import AdapterContext
from pelican.plugins.engage.networks.mastodon import MastodonAdapter
from pelican.plugins.engage.networks.notices import Changes, load_cursor
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn
from pelican.plugins.engage.store import Store

V1, V2 = "/api/v1/notifications", "/api/v2/notifications"
ME = "117020579695730000"  # any id: the cursor keeps it, so no verify_credentials
# The recorded answers: two favourites of one status; mentions 42..38 above 37, 37..33 below 38.
FAVOURITED = "117020579695730951"
ABOVE_37, BELOW_38 = "grouped_notifications_min_id", "grouped_notifications_max_id"


def cursor(**values: Any) -> str:
    return json.dumps({"me": ME, **values})


def recorded_ids(name: str) -> list[str]:
    """The status ids of a recorded v2 answer's groups, oldest first."""
    groups = load("mastodon", name)[2]["notification_groups"]
    return [g["status_id"] for g in sorted(groups, key=lambda g: int(g["page_max_id"]))]


# -- part one: the adapter reads the recorded answers ---------------------------------------------


@pytest.fixture
def adapter(replay: ReplayServer) -> Iterator[MastodonAdapter]:
    ctx = AdapterContext(env={"MASTODON_ACCESS_TOKEN": "t"})
    yield from open_adapter(MastodonAdapter, {"base_url": replay.base_url, "timeout": 2}, ctx)


def asked_above(since: str) -> Callable[[Seen], bool]:
    return lambda seen: seen.arg("min_id") == since


def test_recorded_favourites_give_one_like_and_the_figures(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("GET", V2, recorded("mastodon", "grouped_notifications"))
    changes = adapter.changes(cursor(since="30"), [])
    assert changes is not None and not changes.baseline
    assert [(n.kind, n.subject) for n in changes.notices] == [("like", FAVOURITED)]
    assert changes.counts[FAVOURITED].likes == 2 and changes.counts[FAVOURITED].reposts == 0
    # The cursor moves to the group's page_max_id ("32"; most_recent_notification_id is 32).
    assert load_cursor(changes.cursor) == {"since": "32", "me": ME, "api": "v2"}
    [call] = replay.calls("GET", V2)
    assert call.query["types[]"] == ["mention", "favourite", "reblog", "update"]
    assert call.query["grouped_types[]"] == ["favourite", "reblog"]
    assert call.arg("min_id") == "30" and call.arg("limit") == "80"
    assert adapter.requests_made == 1


def test_recorded_mentions_are_read_oldest_first(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("GET", V2, recorded("mastodon", ABOVE_37))
    changes = adapter.changes(cursor(since="37"), [])
    assert changes is not None
    assert [(n.kind, n.subject, n.chain) for n in changes.notices] == [
        ("mention", sid, ()) for sid in recorded_ids(ABOVE_37)
    ]
    assert load_cursor(changes.cursor)["since"] == "42"


def test_full_pages_are_read_forward_without_a_gap_or_a_repeat(
    replay: ReplayServer, adapter: MastodonAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of five groups (the recordings' limit): above 32 come 33..37 (recorded as the
    page below 38: the same five), above 37 come 38..42, above 42 nothing."""
    monkeypatch.setattr(mastodon_notices, "NOTIFY_PAGE", 5)
    replay.add("GET", V2, recorded("mastodon", "grouped_notifications_empty"))
    replay.add("GET", V2, recorded("mastodon", BELOW_38), when=asked_above("32"))
    replay.add("GET", V2, recorded("mastodon", ABOVE_37), when=asked_above("37"))
    changes = adapter.changes(cursor(since="32"), [])
    assert changes is not None
    subjects = [n.subject for n in changes.notices]
    assert subjects == recorded_ids(BELOW_38) + recorded_ids(ABOVE_37)
    assert len(set(subjects)) == 10
    assert [c.arg("min_id") for c in replay.calls("GET", V2)] == ["32", "37", "42"]
    assert load_cursor(changes.cursor)["since"] == "42"


def test_the_first_call_notes_the_newest_recorded_notification(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("GET", V2, recorded("mastodon", "grouped_notifications_mentions"))
    changes = adapter.changes(cursor(), [])
    assert changes is not None and changes.baseline and not changes.notices
    assert load_cursor(changes.cursor) == {"since": "42", "me": ME, "api": "v2"}
    assert replay.calls("GET", V2)[0].arg("limit") == "1"


def test_a_recorded_quiet_answer_keeps_the_cursor(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("GET", V2, recorded("mastodon", "grouped_notifications_empty"))
    changes = adapter.changes(cursor(since="42", api="v2"), [])
    assert changes is not None and not changes.notices and not changes.counts
    assert load_cursor(changes.cursor)["since"] == "42" and adapter.requests_made == 1


def test_a_recorded_404_falls_back_to_v1_in_the_same_call_and_after(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("GET", V2, recorded("mastodon", "error_404_record_not_found"))
    replay.add("GET", V1, recorded("mastodon", "notifications"))
    first = adapter.changes(cursor(since="19"), [])
    assert first is not None
    assert [(n.kind, n.subject) for n in first.notices] == [("mention", "117020576916218297")]
    assert load_cursor(first.cursor) == {"since": "20", "me": ME, "api": "v1"}
    assert [c.path for c in replay.seen] == [V2, V1]
    second = adapter.changes(first.cursor, [])
    assert second is not None and load_cursor(second.cursor)["api"] == "v1"
    assert [c.path for c in replay.seen] == [V2, V1, V1]  # v2 is not asked again


def test_other_errors_do_not_switch_to_v1(replay: ReplayServer, adapter: MastodonAdapter) -> None:
    _, headers, _ = load("mastodon", "error_404_status_missing")
    replay.add("GET", V2, (503, headers, {"error": "Service Unavailable"}))
    with pytest.raises(Exception, match="HTTP 503"):
        adapter.changes(cursor(since="1"), [])
    assert not replay.calls("GET", V1)


# -- part two: the stand-in answers in the recorded shape -----------------------------------------


server, standin = standin_fixtures(MastodonStandIn)
V2_ANSWERS = ("grouped_notifications", ABOVE_37, BELOW_38, "grouped_notifications_mentions")


def grouped(standin: MastodonStandIn, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{standin.base_url}{V2}",
        params=params,
        headers={"Authorization": f"Bearer {standin.token_for('author')}"},
    )


def entity_shapes() -> tuple[Shape, Shape]:
    """Every recorded status and account: the v2 answers' (Mastodon 4.6) and the others'.

    The stand-in's statuses and accounts are those all its answers carry, compared the
    same way in test_conformance_mastodon: fields a newer version added may be missing.
    """
    v2 = [load("mastodon", n)[2] for n in V2_ANSWERS]
    posted = [load("mastodon", n)[2] for n in ("status_post", "status_reply_post")]
    replies = load("mastodon", "status_context_remote_replies")[2]["descendants"]
    statuses = [*(s for body in v2 for s in body["statuses"]), *posted, *replies]
    accounts = [*(a for body in v2 for a in body["accounts"]), *(s["account"] for s in statuses)]
    return shape_of(*statuses), shape_of(*accounts)


def test_grouped_favourites_have_the_recorded_shape(standin: MastodonStandIn) -> None:
    post = standin.add_post("author", "Testing grouped notifications!")
    for who in ("bob", "carol"):  # every recorded account had posted (else last_status_at null)
        standin.add_post(who, f"{who} was here")
        standin.like(post.id, who)
    standin.add_reply(post.id, "dave", "@ada nice")
    answer = grouped(standin)
    assert answer.status_code == 200
    body = answer.json()
    container = shape_of(*(load("mastodon", n)[2] for n in V2_ANSWERS))
    assert mismatches(body, container, ignore={"$": {"accounts", "statuses"}}) == []
    status, account = entity_shapes()
    assert [m for s in body["statuses"] for m in mismatches(s, status)] == []
    assert [m for a in body["accounts"] for m in mismatches(a, account)] == []
    favourites, mention = body["notification_groups"][1], body["notification_groups"][0]
    assert favourites["type"] == "favourite" and favourites["notifications_count"] == 2
    assert favourites["group_key"].startswith(f"favourite-{post.id}-")
    assert isinstance(favourites["most_recent_notification_id"], int)  # as recorded
    assert [favourites["page_min_id"], favourites["page_max_id"]] == ["1", "2"]
    assert mention["type"] == "mention" and mention["group_key"] == "ungrouped-3"
    # partial_avatars (the default): only the latest account of a group in full.
    assert {a["acct"] for a in body["accounts"]} == {"carol", "dave@fedi.example"}
    assert [a["acct"] for a in body["partial_accounts"]] == ["bob"]
    full = grouped(standin, expand_accounts="full").json()
    assert "partial_accounts" not in full and len(full["accounts"]) == 3


def test_groups_page_as_recorded(standin: MastodonStandIn) -> None:
    """Ten mentions, five groups a page: newest first, max_id below and min_id above, with
    the recorded Link header (next: the lowest page_min_id, prev: the highest page_max_id)."""
    post = standin.add_post("author", "Hello")
    for n in range(10):
        standin.add_reply(post.id, "bob", f"@ada hey how you doing - {n}!")
    base = standin.notices.events[0].id - 1  # ids go on across tests: count from here

    def ids(**params: Any) -> list[int]:
        for name in ("max_id", "min_id"):
            if name in params:
                params[name] += base
        groups = grouped(standin, **params).json()["notification_groups"]
        return [g["most_recent_notification_id"] - base for g in groups]

    assert ids(limit=5) == [10, 9, 8, 7, 6]
    link = grouped(standin, limit=5).headers["link"]
    assert f'max_id={6 + base}>; rel="next"' in link and f'min_id={10 + base}>; rel="prev"' in link
    _, headers, _ = load("mastodon", "grouped_notifications_mentions")
    assert headers["link"].count("rel=") == link.count("rel=") == 2
    assert ids(limit=5, max_id=6) == [5, 4, 3, 2, 1]
    assert ids(limit=5, min_id=5) == [10, 9, 8, 7, 6]
    assert ids(limit=5, min_id=2) == [7, 6, 5, 4, 3]  # the page just above 2
    assert ids(min_id=10) == []


def test_a_server_without_v2_answers_404(standin: MastodonStandIn) -> None:
    standin.has_grouped_notifications = False
    assert grouped(standin).status_code == 404
    standin.reset()
    assert grouped(standin).status_code == 200


# -- part three: syncs against the stand-in -------------------------------------------------------


@pytest.fixture(params=["v2", "v1 only"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The stand-in, with grouped notifications or as a server older than Mastodon 4.3."""
    with Store.open(tmp_path / "engage.sqlite3") as store:
        made = World("mastodon", store, tmp_path / "state")
        made.server.has_grouped_notifications = request.param == "v2"
        yield made
        made.stop()


def paths(world: World) -> list[str]:
    return [r.path for r in world.server.requests if r.path.endswith("/notifications")]


def test_a_sync_costs_one_request_then_one_per_changed_thread(world: World) -> None:
    v2 = world.server.has_grouped_notifications
    world.publish(4)
    world.sync()  # the baseline: on a v1-only server, v2's 404 then v1
    assert paths(world) == ([V2] if v2 else [V2, V1])
    used = V2 if v2 else V1
    world.server.requests.clear()
    quiet = world.sync()
    assert quiet.ok and requests_of(quiet, "mastodon") == 1 and paths(world) == [used]

    world.server.requests.clear()
    world.reply(world.refs[1].id, "bob", "A reply")
    world.reply(world.refs[3].id, "carol", "Another")
    world.like(world.refs[0], "carol")
    world.like(world.refs[0], "dave")
    busy = world.sync()
    net = busy.networks["mastodon"]
    assert busy.ok and net.new == 2 and net.fetched == 2
    assert requests_of(busy, "mastodon") == 1 + 2 == len(world.server.requests)
    assert paths(world) == [used]
    likes = world.store.conn.execute(
        "SELECT likes FROM engagement WHERE article = ? AND network = 'mastodon'",
        (world.targets[0].key.article,),
    ).fetchone()[0]
    assert likes == 2
    world.server.requests.clear()
    assert requests_of(world.sync(), "mastodon") == 1 and paths(world) == [used]


def test_a_busy_spell_over_full_pages_reads_every_notification_once(
    standin: MastodonStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Favourites of one status between mentions, two groups a page: a group cut by a
    page's end comes again on the next page, and the cursor passes each page's top."""
    monkeypatch.setattr(mastodon_notices, "NOTIFY_PAGE", 2)
    ctx = AdapterContext(env=standin.environment())
    adapter = MastodonAdapter({**standin.network_options(), "timeout": 2}, ctx)
    post = standin.add_post("author", "Hello")
    start = adapter.changes(None, [])
    assert start is not None
    replies = []
    for who in ("bob", "carol", "dave", "eve"):
        standin.like(post.id, who)
        replies.append(standin.add_reply(post.id, who, f"@ada {who} here").id)
    standin.requests.clear()
    busy = adapter.changes(start.cursor, [])
    assert busy is not None
    said = [n.subject for n in busy.notices if n.kind == "reply"]
    assert said == replies  # each once, oldest first
    assert {n.subject for n in busy.notices if n.kind == "like"} == {post.id}
    assert busy.counts[post.id].likes == 4
    assert load_cursor(busy.cursor)["since"] == str(standin.notices.events[-1].id)
    assert len(standin.requests) >= 4 and {r.path for r in standin.requests} == {V2}
    adapter.close()


def test_an_older_cursor_on_a_v1_server_loses_nothing(tmp_path: Path) -> None:
    """A cursor kept before v2 was read (no "api"): the first call asks v2, is refused, and
    reads v1 in the same call, so what happened since is still told; later calls ask v1 only."""
    with MastodonStandIn(grouped_notifications=False) as server:
        ctx = AdapterContext(env=server.environment())
        adapter = MastodonAdapter({**server.network_options(), "timeout": 2}, ctx)
        post = server.add_post("author", "Hello")
        baseline = adapter.changes(None, [])
        assert baseline is not None and load_cursor(baseline.cursor)["api"] == "v1"
        older = {k: v for k, v in load_cursor(baseline.cursor).items() if k != "api"}
        reply = server.add_reply(post.id, "bob", "@ada hi")
        server.like(post.id, "carol")
        server.requests.clear()
        first = adapter.changes(json.dumps(older), [])
        assert first is not None and [r.path for r in server.requests] == [V2, V1]
        assert {(n.kind, n.subject) for n in first.notices} == {
            ("reply", reply.id),
            ("like", post.id),
        }
        server.requests.clear()
        for _ in range(2):
            again = adapter.changes(first.cursor, [])
            assert again is not None and not again.notices
        assert [r.path for r in server.requests] == [V1, V1]
        adapter.close()


# -- part four: mastodon-mock ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


def mock_adapter(mock: MockServer) -> MastodonAdapter:
    ctx = AdapterContext(env={"MASTODON_ACCESS_TOKEN": "alice_token"})
    return MastodonAdapter({"base_url": mock.base_url, "timeout": 5}, ctx)


def read(adapter: MastodonAdapter, state: str | None) -> tuple[Changes, int]:
    """The changes since ``state`` and the requests they cost."""
    before = adapter.requests_made
    changes = adapter.changes(state, [])
    assert changes is not None
    return changes, adapter.requests_made - before


def test_mastodon_mock_is_read_through_v2(mock: MockServer) -> None:
    mock.reset()
    adapter = mock_adapter(mock)
    post = mock.client("alice").status_post("Grouped, please")
    baseline, _ = read(adapter, None)
    quiet, cost = read(adapter, baseline.cursor)
    assert cost == 1 and not quiet.notices and load_cursor(quiet.cursor)["api"] == "v2"
    mock.client("bob").status_favourite(post["id"])
    mock.client("carol").status_favourite(post["id"])
    reply = mock.client("bob").status_reply(post, "Nice")
    busy, cost = read(adapter, quiet.cursor)
    assert cost == 1
    assert {(n.kind, n.subject) for n in busy.notices} == {
        ("like", str(post["id"])),
        ("reply", str(reply["id"])),
    }
    assert busy.counts[str(post["id"])].likes == 2
    _, cost = read(adapter, busy.cursor)
    assert cost == 1
    adapter.close()


def test_mastodon_mock_without_v2_falls_back_once(mock: MockServer) -> None:
    """A fault rule answers v2 with the recorded 404 body, as a server older than 4.3."""
    mock.reset()
    adapter = mock_adapter(mock)
    post = mock.client("alice").status_post("Old server")
    not_found: Answer = recorded("mastodon", "error_404_record_not_found")
    with mock.fault(path=V2, methods=["GET"], status=404, body=not_found[2]):
        baseline, cost = read(adapter, json.dumps({"me": adapter.my_id()}))
        assert cost == 2 and load_cursor(baseline.cursor)["api"] == "v1"
        reply = mock.client("bob").status_reply(post, "Still here")
        busy, cost = read(adapter, baseline.cursor)
        assert cost == 1 and [(n.kind, n.subject) for n in busy.notices] == [
            ("reply", str(reply["id"]))
        ]
        _, cost = read(adapter, busy.cursor)
        assert cost == 1
    adapter.close()
