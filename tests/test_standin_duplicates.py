"""The stand-ins refuse duplicates as the real services do and no more; permissive mode, never.

Real rules (NETWORK-NOTES.md and tests/recordings): X refuses the same text posted
*recently* (403 duplicate content), Facebook an identical *consecutive* post (506),
Mastodon a reused Idempotency-Key for about an hour (it answers with the first
status), Bluesky a record key already taken. The crash tests run the stand-ins in
permissive mode, where each of these duplicates is accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pelican.plugins.engage.sandbox import standin_class
from pelican.plugins.engage.sandbox.base import StandIn


@pytest.fixture
def standin(request: pytest.FixtureRequest) -> Iterator[Any]:
    running: StandIn = standin_class(request.param)().start()
    yield running
    running.stop()


def own(standin: StandIn) -> list[str]:
    return [i.text for i in standin.posts_by("author")]


@pytest.mark.parametrize("standin", ["x"], indirect=True)
def test_x_refuses_the_same_text_only_within_its_window(standin: Any) -> None:
    auth = (
        f'OAuth oauth_consumer_key="{standin.consumer_key}", '
        f'oauth_token="{standin.access_token}", oauth_signature="unchecked"'
    )

    def tweet(text: str) -> httpx.Response:
        return httpx.post(
            f"{standin.base_url}/2/tweets", json={"text": text}, headers={"Authorization": auth}
        )

    assert tweet("Hello").status_code == 201
    refused = tweet("Hello")
    assert refused.status_code == 403 and "duplicate content" in refused.json()["detail"]
    standin.posts_by("author")[0].created_at -= standin.duplicate_window + timedelta(minutes=1)
    assert tweet("Hello").status_code == 201  # a day later the same text is welcome again
    standin.permissive = True
    assert tweet("Hello").status_code == 201
    assert own(standin) == ["Hello"] * 3


@pytest.mark.parametrize("standin", ["facebook"], indirect=True)
def test_facebook_refuses_only_an_identical_consecutive_post(standin: Any) -> None:
    def post(message: str) -> httpx.Response:
        return httpx.post(
            f"{standin.base_url}/{standin.api_version}/{standin.page.id}/feed",
            data={"message": message, "access_token": standin.page_token},
        )

    assert post("A").status_code == 200
    refused = post("A")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 506
    assert post("B").status_code == 200
    assert post("A").status_code == 200  # not consecutive: accepted
    standin.permissive = True
    assert post("A").status_code == 200
    assert own(standin) == ["A", "B", "A", "A"]


@pytest.mark.parametrize("standin", ["mastodon"], indirect=True)
def test_mastodon_answers_a_reused_key_with_the_first_status_unless_permissive(
    standin: Any,
) -> None:
    def post(key: str) -> httpx.Response:
        return httpx.post(
            f"{standin.base_url}/api/v1/statuses",
            data={"status": "Hello"},
            headers={"Authorization": f"Bearer {standin.token_for()}", "Idempotency-Key": key},
        )

    first = post("k1").json()["id"]
    assert post("k1").json()["id"] == first
    assert post("k2").json()["id"] != first  # the same text under another key is posted
    standin.permissive = True
    assert post("k1").json()["id"] != first
    assert len(own(standin)) == 3


@pytest.mark.parametrize("standin", ["bluesky"], indirect=True)
def test_bluesky_refuses_a_taken_record_key_unless_permissive(standin: Any) -> None:
    session = httpx.post(
        f"{standin.base_url}/xrpc/com.atproto.server.createSession",
        json={"identifier": standin.accounts["author"].handle, "password": standin.app_password},
    ).json()

    def create(rkey: str) -> httpx.Response:
        record = {
            "$type": "app.bsky.feed.post",
            "text": "Hello",
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        return httpx.post(
            f"{standin.base_url}/xrpc/com.atproto.repo.createRecord",
            json={
                "repo": session["did"],
                "collection": "app.bsky.feed.post",
                "rkey": rkey,
                "record": record,
            },
            headers={"Authorization": f"Bearer {session['accessJwt']}"},
        )

    rkey = "3kabcdefghij2"
    first = create(rkey)
    assert first.status_code == 200 and first.json()["uri"].endswith(rkey)
    assert create(rkey).status_code == 500  # as bsky.social answers a taken key today
    standin.permissive = True
    copy = create(rkey)
    assert copy.status_code == 200 and not copy.json()["uri"].endswith(rkey)
    assert own(standin) == ["Hello", "Hello"]
