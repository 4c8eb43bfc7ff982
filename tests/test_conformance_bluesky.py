"""The Bluesky adapter and stand-in against recorded XRPC answers (tests/recordings/bluesky).

Part one replays the recordings on 127.0.0.1 (tests/replay.py) and runs every
adapter operation through the real atproto ``Client``: the login (which moves to
the PDS the session's ``didDoc`` names), publish, find_published, fetch_thread,
reply and the error answers. Part two asks the stand-in the same questions,
validates its answers with the SDK's own response models in strict mode and
compares their shape (field names, nesting, types; not values) with the
recordings. Part three (tests/test_conformance_bluesky_sync.py) syncs a thread
whose reply was deleted: the AppView drops the reply with its subtree, and the
merge removes them only after two complete reads without them.

Recordings missing for a case (tests/recordings/README.md, "Missing"), and what
stands in for them here:

* ``createSession``'s tokens are recorded as placeholders ("secrets replaced"): the
  SDK reads ``exp`` from the access token, so unsigned JWTs are put in; the
  didDoc's PDS endpoint is pointed at the replay server (the SDK moves there).
* ``getRecord``: not recorded; the lexicon's ``{uri, cid, value}`` with the
  recorded ``createRecord`` uri and cid and the record the adapter wrote.
* ``notFoundPost`` inside a thread and the ``NotFound`` error body: not recorded;
  the lexicon's ``#notFoundPost`` (``uri``, ``notFound: true``) and the recorded
  400 body with the error name and message the PDS logs show (``NotFound``,
  ``Post not found: …``). ``threadContext`` (a field the recordings predate) is
  added to recorded thread nodes to show unknown fields are borne.
* 401, 409 and 5xx bodies: not recorded; the recorded 400 envelope
  (``{"error", "message"}``) with the reference PDS's names (``AuthenticationRequired``,
  ``RecordAlreadyExists``, ``InternalServerError``, ``UpstreamFailure``).
* XRPC answers no 404 for a missing record (a 400 ``NotFound``/``RecordNotFound``)
  and no 422 at all: nothing more to test there.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from atproto_client import models
from atproto_client.models.utils import get_or_create
from network_fixtures import open_adapter, standin_fixtures
from recordings_data import load
from replay import Answer, ReplayServer, Shape, mismatches, recorded, shape_of

from pelican.plugins.engage import errors
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.networks.bluesky import BlueskyAdapter, record_key
from pelican.plugins.engage.networks.bluesky_records import iso_time
from pelican.plugins.engage.sandbox.base import Item
from pelican.plugins.engage.sandbox.bluesky import BlueskyStandIn

HANDLE = "shinyakato.dev"  # the recorded session's account
DID = "did:plc:iijrtk7ocored6zuziwmqq3c"
PASSWORD = "abcd-efgh-ijkl-mnop"
X = "/pds/xrpc/"  # where the recorded didDoc (pointed at the replay server) sends the SDK
THREAD = "get_post_thread_blocked"
FOCUS = "at://did:plc:uxousfobdqxrsvb356lybuiy/app.bsky.feed.post/3jujgsslyxt2h"
CREATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


# -- part one: the adapter against replayed recordings -------------------------------------------


def jwt(kind: str) -> str:
    """An unsigned token with the claims the SDK reads (it never checks a signature)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"scope": kind, "sub": DID, "iat": int(time.time()), "exp": int(time.time()) + 7200}
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


def session_answer(replay: ReplayServer) -> Answer:
    """The recorded createSession, with usable tokens and its didDoc pointing at the replay."""
    status, headers, body = load("bluesky", "create_session")
    body["accessJwt"], body["refreshJwt"] = jwt("com.atproto.appPass"), jwt("com.atproto.refresh")
    [service] = body["didDoc"]["service"]
    service["serviceEndpoint"] = f"{replay.base_url}/pds"
    return status, headers, body


def xrpc_error(status: int, error: str, message: str) -> Answer:
    """The recorded 400 envelope with another status, error name and message."""
    _, headers, body = load("bluesky", "error_400_invalid_request")
    return status, headers, {**body, "error": error, "message": message}


@pytest.fixture
def replay(replay: ReplayServer) -> ReplayServer:
    """The replay server (tests/conftest.py), already answering the log-in and the profile."""
    replay.add("POST", "/xrpc/com.atproto.server.createSession", session_answer(replay))
    replay.add("GET", X + r"app\.bsky\.actor\.getProfile", recorded("bluesky", "get_profile"))
    return replay


@pytest.fixture
def adapter(replay: ReplayServer, tmp_path: Path) -> Iterator[BlueskyAdapter]:
    env = {"BLUESKY_HANDLE": HANDLE, "BLUESKY_APP_PASSWORD": PASSWORD}
    ctx = AdapterContext(env=env, state_dir=tmp_path / "state")
    yield from open_adapter(BlueskyAdapter, {"base_url": replay.base_url, "timeout": 2}, ctx)


def post(text: str = "My take on quiet servers", **kw: Any) -> OutgoingPost:
    return OutgoingPost(text=text, idempotency_key="key-1", created_at=CREATED, **kw)


def test_login_follows_the_recorded_did_doc_to_its_pds(
    replay: ReplayServer, adapter: BlueskyAdapter
) -> None:
    replay.add(
        "POST", X + r"com\.atproto\.repo\.createRecord", recorded("bluesky", "create_record")
    )
    adapter.publish(post())
    [login] = replay.calls("POST", "/xrpc/com.atproto.server.createSession")
    assert json.loads(login.body) == {"identifier": HANDLE, "password": PASSWORD}
    # Everything after the login goes to the PDS the didDoc names, none to the login host.
    assert [s.path for s in replay.seen[1:]] == [
        "/pds/xrpc/app.bsky.actor.getProfile",
        "/pds/xrpc/com.atproto.repo.createRecord",
    ]
    assert replay.calls("GET", X + r"app\.bsky\.actor\.getProfile")[0].arg("actor") == HANDLE


def test_publish_writes_under_the_derived_key_and_reads_the_recorded_answer(
    replay: ReplayServer, adapter: BlueskyAdapter
) -> None:
    replay.add(
        "POST", X + r"com\.atproto\.repo\.createRecord", recorded("bluesky", "create_record")
    )
    made = adapter.publish(post(link="https://blog.example/p", link_title="P"))
    uri, cid = load("bluesky", "create_record")[2].values()
    assert made.id == uri and made.extra == {
        "uri": uri,
        "cid": cid,
        "root_uri": uri,
        "root_cid": cid,
    }
    assert made.url == f"https://bsky.app/profile/{HANDLE}/post/3jqhxhsrye223"
    [call] = replay.calls("POST", X + r"com\.atproto\.repo\.createRecord")
    sent = json.loads(call.body)
    assert sent["repo"] == DID and sent["collection"] == "app.bsky.feed.post"
    assert sent["rkey"] == record_key(CREATED, "key-1")
    assert sent["record"]["text"] == "My take on quiet servers"
    assert sent["record"]["createdAt"] == iso_time(CREATED)
    assert sent["record"]["embed"]["external"]["uri"] == "https://blog.example/p"


def test_reply_carries_root_and_parent(replay: ReplayServer, adapter: BlueskyAdapter) -> None:
    replay.add(
        "POST", X + r"com\.atproto\.repo\.createRecord", recorded("bluesky", "create_record")
    )
    reply = load("bluesky", THREAD)[2]["thread"]["replies"][0]["post"]
    refs = reply["record"]["reply"]
    to = RemoteRef(
        "bluesky",
        reply["uri"],
        "",
        {
            "uri": reply["uri"],
            "cid": reply["cid"],
            "root_uri": refs["root"]["uri"],
            "root_cid": refs["root"]["cid"],
        },
    )
    made = adapter.reply(to, "Thanks!", "key-2", created_at=CREATED)
    assert made.extra["root_uri"] == refs["root"]["uri"]
    [call] = replay.calls("POST", X + r"com\.atproto\.repo\.createRecord")
    sent = json.loads(call.body)["record"]["reply"]
    assert {k: sent["parent"][k] for k in ("uri", "cid")} == {
        "uri": reply["uri"],
        "cid": reply["cid"],
    }
    assert {k: sent["root"][k] for k in ("uri", "cid")} == {
        "uri": refs["root"]["uri"],
        "cid": refs["root"]["cid"],
    }


def test_find_published_looks_at_the_derived_key(
    replay: ReplayServer, adapter: BlueskyAdapter
) -> None:
    uri, cid = load("bluesky", "create_record")[2].values()
    record = {"$type": "app.bsky.feed.post", "text": post().text, "createdAt": iso_time(CREATED)}
    replay.add(
        "GET",
        X + r"com\.atproto\.repo\.getRecord",
        (200, {}, {"uri": uri, "cid": cid, "value": record}),
    )
    found = adapter.find_published(post())
    assert found is not None and found.id == uri
    [call] = replay.calls("GET", X + r"com\.atproto\.repo\.getRecord")
    assert call.arg("rkey") == record_key(CREATED, "key-1") and call.arg("repo") == DID
    replay.add(
        "GET",
        X + r"com\.atproto\.repo\.getRecord",
        xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}"),
    )
    assert adapter.find_published(post()) is None


def test_fetch_thread_reads_the_recorded_thread(
    replay: ReplayServer, adapter: BlueskyAdapter
) -> None:
    replay.add("GET", X + r"app\.bsky\.feed\.getPostThread", recorded("bluesky", THREAD))
    snapshot = adapter.fetch_thread(RemoteRef("bluesky", FOCUS, ""))
    thread = load("bluesky", THREAD)[2]["thread"]
    assert [c.ref.id for c in snapshot.comments] == [r["post"]["uri"] for r in thread["replies"]]
    assert {c.parent_id for c in snapshot.comments} == {FOCUS}
    assert snapshot.complete
    assert snapshot.counts.replies == thread["post"]["replyCount"] == 4
    assert snapshot.counts.likes == thread["post"]["likeCount"]
    first = snapshot.comments[0]
    assert first.author.handle.startswith("@") and first.ref.url.startswith("https://bsky.app/")
    [call] = replay.calls("GET", X + r"app\.bsky\.feed\.getPostThread")
    assert call.arg("uri") == FOCUS and call.arg("parentHeight") == "0"


def not_found_post(uri: str) -> dict[str, Any]:
    """The lexicon's app.bsky.feed.defs#notFoundPost (none is recorded)."""
    return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}


def test_placeholders_and_unknown_fields_do_not_break_the_read(
    replay: ReplayServer, adapter: BlueskyAdapter
) -> None:
    """Derived: the recorded thread with the recorded blockedPost (from its parent chain),
    a lexicon notFoundPost and a threadContext on every node (a field newer than the SDK's
    recordings) among the replies."""
    status, headers, body = load("bluesky", THREAD)
    thread = body["thread"]
    blocked = thread
    while blocked.get("parent"):
        blocked = blocked["parent"]
    assert blocked["$type"] == "app.bsky.feed.defs#blockedPost"
    for node in [thread, *thread["replies"]]:
        node["threadContext"] = {"rootAuthorLike": "at://did:plc:x/app.bsky.feed.like/3k"}
        node["post"]["someFieldOfTomorrow"] = {"nested": [1, 2]}
    gone = FOCUS.replace("3jujgsslyxt2h", "3jujgzzzzzz2z")
    thread["replies"] += [blocked, not_found_post(gone)]
    replay.add("GET", X + r"app\.bsky\.feed\.getPostThread", (status, headers, body))
    snapshot = adapter.fetch_thread(RemoteRef("bluesky", FOCUS, ""))
    assert len(snapshot.comments) == 4
    assert blocked["uri"] not in {c.ref.id for c in snapshot.comments}


@pytest.mark.parametrize("placeholder", ["blocked", "not found"])
def test_a_blocked_or_missing_post_itself_is_not_found(
    replay: ReplayServer, adapter: BlueskyAdapter, placeholder: str
) -> None:
    thread = load("bluesky", THREAD)[2]["thread"]
    while thread.get("parent"):
        thread = thread["parent"]
    node = thread if placeholder == "blocked" else not_found_post(FOCUS)
    replay.add("GET", X + r"app\.bsky\.feed\.getPostThread", (200, {}, {"thread": node}))
    with pytest.raises(errors.NotFound, match="gone or blocked"):
        adapter.fetch_thread(RemoteRef("bluesky", FOCUS, ""))


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (
            recorded("bluesky", "error_400_invalid_request"),
            errors.NetworkError,
            "400 InvalidRequest",
        ),
        (
            xrpc_error(400, "NotFound", f"Post not found: {FOCUS}"),
            errors.NotFound,
            "Post not found",
        ),
        (
            xrpc_error(401, "AuthenticationRequired", "Authentication Required"),
            errors.AuthFailed,
            "401",
        ),
        (recorded("bluesky", "error_429_rate_limit"), errors.RateLimited, "RateLimitExceeded"),
        (xrpc_error(500, "InternalServerError", "Internal Server Error"), errors.Transient, "500"),
        (xrpc_error(502, "UpstreamFailure", "Upstream Failure"), errors.Transient, "502"),
    ],
)
def test_error_answers_map_onto_our_errors(
    replay: ReplayServer,
    adapter: BlueskyAdapter,
    answer: Answer,
    error: type[errors.NetworkError],
    text: str,
) -> None:
    replay.add("GET", X + r"app\.bsky\.feed\.getPostThread", answer)
    with pytest.raises(errors.NetworkError) as caught:
        adapter.fetch_thread(RemoteRef("bluesky", FOCUS, ""))
    assert type(caught.value) is error
    assert text in str(caught.value) and PASSWORD not in str(caught.value)
    if error is errors.RateLimited:
        # ratelimit-reset (epoch seconds) against the answer's own Date header.
        assert caught.value.retry_after == 42.0  # type: ignore[attr-defined]


def test_a_taken_record_key_that_is_not_ours_is_a_duplicate(
    replay: ReplayServer, adapter: BlueskyAdapter
) -> None:
    uri = load("bluesky", "create_record")[2]["uri"]
    replay.add(
        "POST",
        X + r"com\.atproto\.repo\.createRecord",
        xrpc_error(409, "RecordAlreadyExists", f"Record already exists: {uri}"),
    )
    other = {"$type": "app.bsky.feed.post", "text": "Another post", "createdAt": iso_time(CREATED)}
    replay.add(
        "GET",
        X + r"com\.atproto\.repo\.getRecord",
        (200, {}, {"uri": uri, "cid": "x", "value": other}),
    )
    with pytest.raises(errors.Duplicate, match="already holds a different post"):
        adapter.publish(post())


# -- part two: the stand-in answers in the recorded shapes ----------------------------------------


server, standin = standin_fixtures(BlueskyStandIn)


def strict(body: Any, model: Any) -> None:
    """The SDK's own response model accepts the answer in strict mode."""
    get_or_create(body, model, strict=True)


def login(standin: BlueskyStandIn) -> tuple[dict[str, Any], dict[str, str]]:
    env = standin.environment()
    answer = httpx.post(
        f"{standin.base_url}/xrpc/com.atproto.server.createSession",
        json={"identifier": env["BLUESKY_HANDLE"], "password": env["BLUESKY_APP_PASSWORD"]},
    )
    assert answer.status_code == 200
    body = answer.json()
    return body, {"Authorization": f"Bearer {body['accessJwt']}"}


def test_sessions_have_the_recorded_shape(standin: BlueskyStandIn) -> None:
    body, auth = login(standin)
    strict(body, models.ComAtprotoServerCreateSession.Response)
    # The recorded account was deactivated: "active": false and a "status" a live one lacks.
    deactivated = {"$": {"status"}}
    assert (
        mismatches(body, shape_of(load("bluesky", "create_session")[2]), optional=deactivated) == []
    )
    assert body["didDoc"]["service"][0]["serviceEndpoint"] == standin.base_url
    session = httpx.get(f"{standin.base_url}/xrpc/com.atproto.server.getSession", headers=auth)
    strict(session.json(), models.ComAtprotoServerGetSession.Response)
    recorded_session = shape_of(load("bluesky", "get_session")[2])
    assert mismatches(session.json(), recorded_session, optional=deactivated) == []


def recorded_authors() -> Shape:
    """Author views as recorded in threads (with and without createdAt, associated)."""
    samples = [load("bluesky", "get_post_thread_embed")[2]["thread"]["post"]["author"]]
    samples += [r["post"]["author"] for r in load("bluesky", THREAD)[2]["thread"]["replies"]]
    return shape_of(*samples)


def test_a_profile_has_the_recorded_shape(standin: BlueskyStandIn) -> None:
    _, auth = login(standin)
    answer = httpx.get(
        f"{standin.base_url}/xrpc/app.bsky.actor.getProfile",
        params={"actor": "bob.bsky.social"},
        headers=auth,
    )
    strict(answer.json(), models.AppBskyActorDefs.ProfileViewDetailed)
    # Optional in the lexicon (app.bsky.actor.defs#profileViewDetailed), absent for an
    # account without them; the recorded profile has them all.
    optional = {"$": {"avatar", "banner", "associated"}}
    # createdAt is newer than this 2024 recording (the thread recording's authors have it).
    newer = {"$": {"createdAt"}}
    recorded_profile = shape_of(load("bluesky", "get_profile")[2])
    assert mismatches(answer.json(), recorded_profile, optional=optional, ignore=newer) == []


def conversation(standin: BlueskyStandIn) -> dict[str, Item]:
    """Our post; Bob and Dave answer it; Carol answers Bob; Eve answers Carol."""
    root = standin.add_post("author", "My take on quiet servers https://blog.example/p")
    bob = standin.add_reply(root.id, "bob", "Bob: good point")
    carol = standin.add_reply(bob.id, "carol", "Carol: I disagree with Bob")
    eve = standin.add_reply(carol.id, "eve", "Eve: so do I")
    dave = standin.add_reply(root.id, "dave", "Dave: bookmarked")
    standin.like(root.id, "carol")
    return {"root": root, "bob": bob, "carol": carol, "eve": eve, "dave": dave}


# Newer than the 2023 thread recordings, and in the SDK's lexicon models: quoteCount and
# bookmarkCount on a post view, a root's threadgate (our hidden-reply feature reads it).
NEWER_POST_FIELDS = {"quoteCount", "bookmarkCount", "threadgate"}


def thread_shape() -> Shape:
    return shape_of(load("bluesky", THREAD)[2], load("bluesky", "get_post_thread_embed")[2])


def test_a_thread_has_the_recorded_shape(standin: BlueskyStandIn) -> None:
    items = conversation(standin)
    answer = httpx.get(
        f"{standin.base_url}/xrpc/app.bsky.feed.getPostThread",
        params={"uri": items["root"].id, "depth": "100", "parentHeight": "0"},
    )
    body = answer.json()
    strict(body, models.AppBskyFeedGetPostThread.Response)
    post, reply = "$.thread.post", "$.thread.replies[].post"
    ignore = {
        post: NEWER_POST_FIELDS,
        reply: NEWER_POST_FIELDS,
        # Link facets (app.bsky.feed.post#facets): the recorded texts carry no links.
        f"{post}.record": {"facets"},
        f"{reply}.record": {"facets"},
        # Newer than the 2023 replies; checked against the recorded authors below.
        f"{reply}.author": {"createdAt"},
    }
    # Optional in the lexicon, absent from a text-only post by an account without an
    # avatar (every recorded post has images); "parent": null in the recorded replies is
    # the fixture author's re-serialisation (see its notes), the AppView omits it.
    optional = {
        post: {"embed"},
        reply: {"embed"},
        f"{post}.record": {"embed"},
        f"{reply}.record": {"embed"},
        f"{post}.author": {"avatar"},
        f"{reply}.author": {"avatar"},
        "$.thread.replies[]": {"parent"},
    }
    assert mismatches(body, thread_shape(), ignore=ignore, optional=optional) == []
    assert (
        mismatches(body["thread"]["post"]["author"], recorded_authors(), optional={"$": {"avatar"}})
        == []
    )


def test_a_deleted_reply_vanishes_with_its_subtree(standin: BlueskyStandIn) -> None:
    """As the AppView answers; before the fix the stand-in listed a notFoundPost with children."""
    items = conversation(standin)
    standin.delete(items["bob"].id)
    answer = httpx.get(
        f"{standin.base_url}/xrpc/app.bsky.feed.getPostThread", params={"uri": items["root"].id}
    )
    body = answer.json()
    strict(body, models.AppBskyFeedGetPostThread.Response)
    assert [r["post"]["uri"] for r in body["thread"]["replies"]] == [items["dave"].id]
    assert "notFoundPost" not in answer.text and items["carol"].id not in answer.text


def test_created_records_and_errors_have_the_recorded_shape(standin: BlueskyStandIn) -> None:
    body, auth = login(standin)
    record = {"$type": "app.bsky.feed.post", "text": "Hello", "createdAt": iso_time(CREATED)}
    made = httpx.post(
        f"{standin.base_url}/xrpc/com.atproto.repo.createRecord",
        json={"repo": body["did"], "collection": "app.bsky.feed.post", "record": record},
        headers=auth,
    )
    strict(made.json(), models.ComAtprotoRepoCreateRecord.Response)
    # Current PDSs add commit and validationStatus (the recorded applyWrites shows them).
    current = {"$": {"commit", "validationStatus"}}
    assert (
        mismatches(made.json(), shape_of(load("bluesky", "create_record")[2]), ignore=current) == []
    )
    writes = shape_of(load("bluesky", "apply_writes")[2]["commit"])
    assert mismatches(made.json()["commit"], writes) == []
    error_shape = shape_of(
        *(load("bluesky", n)[2] for n in ("error_400_invalid_request", "error_429_rate_limit"))
    )
    bad = httpx.post(
        f"{standin.base_url}/xrpc/com.atproto.repo.createRecord",
        json={"repo": "nobody", "collection": "app.bsky.feed.post", "record": record},
        headers=auth,
    )
    assert bad.status_code == 400 and mismatches(bad.json(), error_shape) == []
    standin.fail_next(1, "429", retry_after=42)
    limited = httpx.get(f"{standin.base_url}/xrpc/com.atproto.server.getSession", headers=auth)
    status, headers, recorded_body = load("bluesky", "error_429_rate_limit")
    assert limited.status_code == status and limited.json() == recorded_body
    assert {k for k in headers if k.startswith("ratelimit-")} <= set(limited.headers)
