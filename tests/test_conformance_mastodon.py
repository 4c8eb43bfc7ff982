"""The Mastodon adapter and stand-in against recorded REST answers (tests/recordings/mastodon).

Part one replays the recordings on 127.0.0.1 (tests/replay.py) and runs every
adapter operation through the real ``Mastodon.py`` client: publish (and the
server's limits), fetch_thread on a recorded conversation with replies from
other servers, reply, find_published and the error answers, 404 ``Not Found``
and localized 422 messages included. Part two asks the stand-in the same
questions and compares the shape of its answers (field names, nesting, types;
not values) and its statuses with the recordings. Part three reads a reply from
another server on the independent mastodon-mock server.

Recordings missing for a case (tests/recordings/README.md, "Missing"), and what
stands in for them here:

* ``GET /api/v1/accounts/verify_credentials``: not recorded; the recorded posting
  account (``status_post``'s ``account``), which is what it answers, without ``source``.
* ``GET /api/v1/statuses/:id`` for the recorded conversation's first status: not
  recorded (the context body leaves it out); ``status_post`` with the id set to it.
* A 429: none recorded; Mastodon's body ``{"error": "Too many requests"}`` with the
  recorded 401's rate-limit headers, ``x-ratelimit-remaining`` set to 0 and a Date.
* 5xx: none recorded; the recorded ``{"error": ...}`` envelope with status 500/503.
* Mastodon answers no 409 on these endpoints (a repeated Idempotency-Key is answered
  200 with the first status): nothing to test there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mastodon_mock.config import SeedAccount, SeedConfig
from mastodon_mock.testing.seed import DEFAULT_TEST_SEED
from mastodon_mock.testing.server import MockServer
from network_fixtures import open_adapter, standin_fixtures
from recordings_data import load
from replay import Answer, ReplayServer, Shape, mismatches, recorded, shape_of

from pelican.plugins.engage.errors import (
    AuthFailed,
    NetworkError,
    NotFound,
    RateLimited,
    Transient,
)
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.networks.mastodon import MastodonAdapter
from pelican.plugins.engage.sandbox.mastodon import MastodonStandIn

TOKEN = "conformance-token"
CONTEXT = "status_context_remote_replies"
ROOT = "109294719267373593"  # the recorded conversation's first status
API = "/api/v1/"


# -- part one: the adapter against replayed recordings -------------------------------------------


@pytest.fixture
def replay(replay: ReplayServer) -> ReplayServer:
    """The replay server (tests/conftest.py), already answering who the account is."""
    me = load("mastodon", "status_post")[2]["account"]
    replay.add("GET", API + "accounts/verify_credentials", (200, {}, me))
    return replay


@pytest.fixture
def adapter(replay: ReplayServer) -> Iterator[MastodonAdapter]:
    ctx = AdapterContext(env={"MASTODON_ACCESS_TOKEN": TOKEN})
    yield from open_adapter(MastodonAdapter, {"base_url": replay.base_url, "timeout": 2}, ctx)


def form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode()).items()}


def test_publish_reads_the_recorded_status(replay: ReplayServer, adapter: MastodonAdapter) -> None:
    replay.add("POST", API + "statuses", recorded("mastodon", "status_post"))
    made = adapter.publish(OutgoingPost(text="Toot!", idempotency_key="key-1"))
    assert made.id == "117020585924712638"
    assert made.url == "http://localhost:3000/@mastodonpy_test/117020585924712638"
    [call] = replay.calls("POST", API + "statuses")
    assert call.headers["idempotency-key"] == "key-1"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    sent = form(call.body)
    assert sent["status"] == "Toot!" and sent["visibility"] == "public"


def test_the_recorded_server_limits_are_read(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("GET", API.replace("v1", "v2") + "instance/?", recorded("mastodon", "instance_v2"))
    assert adapter.refresh_limits() == 500 and adapter.url_length() == 23


@pytest.mark.filterwarnings("ignore:Endpoint /api/v1/instance/ is marked as deprecated")
def test_servers_without_v2_fall_back_to_v1(replay: ReplayServer, adapter: MastodonAdapter) -> None:
    replay.add(
        "GET",
        API.replace("v1", "v2") + "instance/?",
        recorded("mastodon", "error_404_record_not_found"),
    )
    replay.add("GET", API + "instance/?", recorded("mastodon", "instance_v1"))
    assert adapter.refresh_limits() == 500


def serve_conversation(replay: ReplayServer) -> None:
    status, headers, root = load("mastodon", "status_post")
    replay.add("GET", API + f"statuses/{ROOT}", (status, headers, {**root, "id": ROOT}))
    replay.add("GET", API + f"statuses/{ROOT}/context", recorded("mastodon", CONTEXT))


def test_replies_from_other_servers_keep_their_own_urls_and_accounts(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    serve_conversation(replay)
    snapshot = adapter.fetch_thread(RemoteRef("mastodon", ROOT, ""))
    descendants = load("mastodon", CONTEXT)[2]["descendants"]
    assert snapshot.complete and len(snapshot.comments) == len(descendants) == 14
    by_id = {c.ref.id: c for c in snapshot.comments}
    for status in descendants:
        comment = by_id[status["id"]]
        assert comment.parent_id == status["in_reply_to_id"]
        # The link is the status's own url: on its home server, with that server's id.
        assert comment.ref.url == status["url"]
        acct = status["account"]["acct"]
        host = urlsplit(status["account"]["url"]).hostname
        assert comment.author.handle == f"@{acct}" if "@" in acct else f"@{acct}@{host}"
        assert comment.author.url == status["account"]["url"]
    remote = by_id["109295408915701724"]
    assert remote.author.handle == "@user1@mstdn.social"
    assert remote.ref.url == "https://mstdn.social/@user1/109295408764217016"
    assert remote.ref.extra == {"acct": "user1@mstdn.social"}
    assert by_id["109294767623508949"].author.handle == "@user3@mastodon.social"  # local there
    assert not any(c.is_own for c in snapshot.comments)


def test_reply_mentions_a_remote_author_with_their_domain(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    replay.add("POST", API + "statuses", recorded("mastodon", "status_reply_post"))
    to = RemoteRef("mastodon", "109296144901329380", "", {"acct": "user4@mstdn.social"})
    made = adapter.reply(to, "Thanks for reading", "key-2")
    reply = load("mastodon", "status_reply_post")[2]
    assert made.id == reply["id"] and made.url == reply["url"]
    [call] = replay.calls("POST", API + "statuses")
    sent = form(call.body)
    assert sent["status"] == "@user4@mstdn.social Thanks for reading"
    assert sent["in_reply_to_id"] == "109296144901329380"


def test_find_published_finds_the_recorded_status_by_text_and_parent(
    replay: ReplayServer, adapter: MastodonAdapter
) -> None:
    """Recovery past the Idempotency-Key's hour: the account's recent statuses are read."""
    status = load("mastodon", "status_post")[2]
    account = status["account"]["id"]
    replay.add("GET", f"{API}accounts/{account}/statuses", (200, {}, [status]))
    found = adapter.find_published(OutgoingPost(text="Toot!", idempotency_key="key-1"))
    assert found is not None and found.id == str(status["id"])
    parent = RemoteRef("mastodon", "1", "https://example.social/@a/1")
    as_reply = OutgoingPost(text="Toot!", idempotency_key="key-2", reply_to=parent)
    assert adapter.find_published(as_reply) is None  # same text under another parent
    assert adapter.find_published(OutgoingPost(text="Other", idempotency_key="k3")) is None


def rate_limited() -> Answer:
    """No 429 is recorded: Mastodon's body with the recorded 401's rate-limit headers."""
    _, headers, _ = load("mastodon", "error_401_invalid_token")
    headers = {k: v for k, v in headers.items() if k != "www-authenticate"}
    headers.update({"x-ratelimit-remaining": "0", "date": "Sat, 01 Aug 2026 13:55:00 GMT"})
    return 429, headers, {"error": "Too many requests"}


def server_error(status: int) -> Answer:
    _, headers, _ = load("mastodon", "error_404_status_missing")
    return status, headers, {"error": "We're sorry, but something went wrong on our end."}


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (
            recorded("mastodon", "error_401_invalid_token"),
            AuthFailed,
            "The access token is invalid",
        ),
        (recorded("mastodon", "error_404_status_missing"), NotFound, "HTTP 404: Not Found"),
        (recorded("mastodon", "error_404_record_not_found"), NotFound, "Record not found"),
        (rate_limited(), RateLimited, "retry in 301 s"),
        (server_error(500), Transient, "HTTP 500"),
        (server_error(503), Transient, "HTTP 503"),
    ],
)
def test_read_errors_map_onto_our_errors(
    replay: ReplayServer,
    adapter: MastodonAdapter,
    answer: Answer,
    error: type[NetworkError],
    text: str,
) -> None:
    replay.add("GET", API + f"statuses/{ROOT}", answer)
    with pytest.raises(NetworkError) as caught:
        adapter.fetch_thread(RemoteRef("mastodon", ROOT, ""))
    assert type(caught.value) is error
    assert text in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize("name", ["error_422_empty_status_ja", "error_422_too_long_de"])
def test_localized_422_messages_are_refusals_passed_on_verbatim(
    replay: ReplayServer, adapter: MastodonAdapter, name: str
) -> None:
    """The text depends on the account's language: nothing may be read out of it."""
    replay.add("POST", API + "statuses", recorded("mastodon", name))
    with pytest.raises(NetworkError) as caught:
        adapter.publish(OutgoingPost(text="x" * 501, idempotency_key="key-3"))
    assert type(caught.value) is NetworkError  # not "gone", not "retry later", not auth
    assert load("mastodon", name)[2]["error"] in str(caught.value)
    assert "HTTP 422" in str(caught.value)


# -- part two: the stand-in answers in the recorded shapes ----------------------------------------


server, standin = standin_fixtures(MastodonStandIn)


def get(standin: MastodonStandIn, path: str, token: str | None = "author") -> httpx.Response:
    headers = {"Authorization": f"Bearer {standin.token_for(token)}"} if token else {}
    return httpx.get(f"{standin.base_url}{path}", headers=headers)


def recorded_statuses() -> list[dict[str, Any]]:
    """Every recorded status: two posted on Mastodon 4.6, fourteen read on mastodon.social."""
    samples = [load("mastodon", n)[2] for n in ("status_post", "status_reply_post")]
    return [*samples, *load("mastodon", CONTEXT)[2]["descendants"]]


def status_shape() -> Shape:
    return shape_of(*recorded_statuses())


def conversation(standin: MastodonStandIn) -> dict[str, str]:
    """Our post; Bob (local) and Dave (from fedi.example) answer; Carol answers Dave."""
    root = standin.add_post("author", "My take on quiet servers https://blog.example/p")
    bob = standin.add_reply(root.id, "bob", "Bob: good point")
    dave = standin.add_reply(root.id, "dave", "Dave: from another server")
    carol = standin.add_reply(dave.id, "carol", "@dave@fedi.example Carol: agreed")
    return {"root": root.id, "bob": bob.id, "dave": dave.id, "carol": carol.id}


def test_a_context_has_the_recorded_shape_and_remote_replies_their_own_host(
    standin: MastodonStandIn,
) -> None:
    ids = conversation(standin)
    signed_in = get(standin, f"{API}statuses/{ids['root']}/context").json()
    signed_in_shape = shape_of({"ancestors": [], "descendants": recorded_statuses()})
    assert mismatches(signed_in, signed_in_shape) == []
    # Asked as rtoot asked (no token): no reader fields, exactly like the recording.
    anonymous = get(standin, f"{API}statuses/{ids['root']}/context", token=None).json()
    newer = {"$.descendants[]": {"quotes_count"}}  # added in Mastodon 4.5, after the recording
    assert mismatches(anonymous, shape_of(load("mastodon", CONTEXT)[2]), ignore=newer) == []
    by_id = {s["id"]: s for s in signed_in["descendants"]}
    dave = by_id[ids["dave"]]
    # As recorded for remote replies: acct user@host, url and uri on that host with its id.
    assert dave["account"]["acct"] == "dave@fedi.example"
    assert {urlsplit(dave[k]).hostname for k in ("url", "uri")} == {"fedi.example"}
    assert not dave["url"].endswith(f"/{dave['id']}")
    bob = by_id[ids["bob"]]
    assert urlsplit(bob["url"]).netloc == urlsplit(standin.base_url).netloc


def test_posted_statuses_have_the_recorded_shape(standin: MastodonStandIn) -> None:
    ids = conversation(standin)
    answer = httpx.post(
        f"{standin.base_url}{API}statuses",
        headers={"Authorization": f"Bearer {standin.token_for()}", "Idempotency-Key": "k"},
        data={"status": "Thanks, Bob", "in_reply_to_id": ids["bob"]},
    )
    assert answer.status_code == 200
    assert mismatches(answer.json(), status_shape()) == []
    recorded_headers = load("mastodon", "status_post")[1]
    rate = {k for k in recorded_headers if k.startswith("x-ratelimit")}
    assert rate and rate <= set(answer.headers)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_instance_has_the_recorded_shape(standin: MastodonStandIn, version: str) -> None:
    body = get(standin, f"/api/{version}/instance").json()
    assert mismatches(body, shape_of(load("mastodon", f"instance_{version}")[2])) == []


def test_error_answers_are_the_recorded_ones(standin: MastodonStandIn) -> None:
    """Before the fix a missing status said "Record not found" and a 401 had no challenge."""
    ids = conversation(standin)
    missing = get(standin, f"{API}statuses/1")
    assert missing.status_code == 404
    assert missing.json() == load("mastodon", "error_404_status_missing")[2]
    gone_context = get(standin, f"{API}statuses/1/context")
    assert gone_context.json() == load("mastodon", "error_404_status_missing")[2]
    other = get(standin, f"{API}scheduled_statuses/1")
    assert other.status_code == 404
    assert other.json() == load("mastodon", "error_404_record_not_found")[2]
    refused = httpx.get(
        f"{standin.base_url}{API}statuses/{ids['root']}", headers={"Authorization": "Bearer nope"}
    )
    status, headers, body = load("mastodon", "error_401_invalid_token")
    assert refused.status_code == status and refused.json() == body
    assert refused.headers["www-authenticate"] == headers["www-authenticate"]
    blank = httpx.post(
        f"{standin.base_url}{API}statuses",
        headers={"Authorization": f"Bearer {standin.token_for()}"},
        data={"status": " "},
    )
    localized = shape_of(
        *(load("mastodon", n)[2] for n in ("error_422_empty_status_ja", "error_422_too_long_de"))
    )
    assert blank.status_code == 422 and mismatches(blank.json(), localized) == []


# -- part three: a reply from another server on mastodon-mock -------------------------------------


def test_a_remote_reply_on_mastodon_mock_keeps_its_acct_with_the_host() -> None:
    """mastodon-mock (independent of us) seeds remote accounts; one is given a token here so
    it can answer. It keeps such statuses' url on its own host (unlike the recorded
    mastodon.social answer) and answers every 404 "Record not found": the adapter takes
    each url as given and maps both 404 bodies to NotFound."""
    erin = SeedAccount(
        username="erin", display_name="Erin", domain="remote.example", access_token="erin_token"
    )
    seed = SeedConfig(
        accounts=[*DEFAULT_TEST_SEED.accounts, erin], follows=DEFAULT_TEST_SEED.follows
    )
    with MockServer(seed=seed) as mock:
        ctx = AdapterContext(env={"MASTODON_ACCESS_TOKEN": "alice_token"})
        with build_adapter("mastodon", {"base_url": mock.base_url, "timeout": 5}, ctx) as adapter:
            post = adapter.publish(OutgoingPost(text="My take", idempotency_key="k"))
            reply = mock.client(token="erin_token").status_post("From afar", in_reply_to_id=post.id)
            snapshot = adapter.fetch_thread(post)
            with pytest.raises(NotFound):
                adapter.fetch_thread(RemoteRef("mastodon", "1", ""))
    [comment] = snapshot.comments
    assert comment.author.handle == "@erin@remote.example"
    assert comment.ref.extra == {"acct": "erin@remote.example"}
    assert comment.ref.url == reply["url"]
