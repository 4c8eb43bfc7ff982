"""The webmention adapter and stand-in against recorded webmention.io answers.

Part one replays the recorded JF2 answers (tests/recordings/webmention) on
127.0.0.1 and reads them with the adapter; part two compares the stand-in's
answers with the same recordings (field names, nesting, types; not values).

What the recordings show and the tests hold the code to: ``in-reply-to`` (like
every relation) names the *target page*, also for replies to other replies
(wm-id 739367 and 739364 answer 739365); ``published`` may be ``null`` or lack
a time zone ("2019-12-31T14:47:00"); the documented older entry form has no
``wm-property``.

Missing recordings (tests/recordings/README.md, "Missing"): no error answer and
no ``/api/count.json`` answer was found. Error bodies use webmention.io's own
error shape as its source writes it (``{"error", "error_description"}`` with
the texts of ``controllers/api.rb`` in aaronpk/webmention.io: 400
``invalid_input``, 401 ``forbidden``, 404 ``not_found``), a reference, not a
recording; 429 and 5xx have no known body (a text body is used). The count
answer is derived from the recorded mentions. Sending (endpoint discovery,
the POST) has no recording either; tests/test_network_webmention.py covers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from network_fixtures import open_adapter, standin_fixtures
from recordings_data import load
from replay import Answer, ReplayServer, mismatches, recorded, shape_of

from pelican.plugins.engage import errors
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.networks.webmention import WebmentionAdapter
from pelican.plugins.engage.sandbox.webmention import WebmentionStandIn

TARGET = "https://mxb.dev/blog/year-in-review-2019/"  # the recorded target page
TOKEN = "wm-conformance-token"
API = r"/api/mentions\.jf2"


@pytest.fixture
def adapter(replay: ReplayServer) -> Iterator[WebmentionAdapter]:
    options = {"base_url": replay.base_url, "timeout": 2, "me": "https://mxb.dev"}
    yield from open_adapter(
        WebmentionAdapter, options, AdapterContext(env={"WEBMENTIONIO_TOKEN": TOKEN})
    )


def entries(name: str) -> list[dict[str, Any]]:
    return list(load("webmention", name)[2]["children"])


def test_recorded_replies_stay_flat_under_the_article_and_none_is_lost(
    replay: ReplayServer, adapter: WebmentionAdapter
) -> None:
    replay.add("GET", API, recorded("webmention", "mentions_target"))
    snapshot = adapter.fetch_thread(RemoteRef("webmention", TARGET, TARGET))

    recorded_entries = entries("mentions_target")
    wanted = [e for e in recorded_entries if e["wm-property"] in ("in-reply-to", "mention-of")]
    by_id = {c.ref.id: c for c in snapshot.comments}
    assert sorted(by_id) == sorted(str(e["wm-id"]) for e in wanted)
    # 739367 and 739364 answer 739365, yet webmention.io names the target page for them
    # too: the parent is only in the source's microformats, which are not fetched here.
    for wm_id in ("739367", "739364", "739365"):
        assert by_id[wm_id].parent_id == TARGET and by_id[wm_id].kind == "reply"
    assert {c.parent_id for c in snapshot.comments} == {TARGET}
    assert by_id["739263"].kind == "mention"
    properties = [e["wm-property"] for e in recorded_entries]
    assert (snapshot.counts.likes, snapshot.counts.reposts, snapshot.counts.replies) == (
        properties.count("like-of"),
        properties.count("repost-of"),
        properties.count("in-reply-to"),
    )
    assert snapshot.complete and snapshot.cursor == str(max(e["wm-id"] for e in recorded_entries))
    [call] = replay.calls("GET", API)
    assert call.arg("target") == TARGET and call.arg("token") == TOKEN
    assert (call.arg("per-page"), call.arg("page"), call.arg("sort-dir")) == ("100", "0", "up")


def test_published_without_a_time_zone_is_utc_and_null_falls_back(
    replay: ReplayServer, adapter: WebmentionAdapter
) -> None:
    replay.add("GET", API, recorded("webmention", "mentions_target"))
    by_id = {
        c.ref.id: c for c in adapter.fetch_thread(RemoteRef("webmention", TARGET, TARGET)).comments
    }
    recorded_time = next(e for e in entries("mentions_target") if e["wm-id"] == 739253)
    assert recorded_time["published"] == "2019-12-31T14:47:00"  # as recorded: no offset
    assert by_id["739253"].created_at == datetime(2019, 12, 31, 14, 47, tzinfo=UTC)
    assert by_id["739367"].created_at == datetime(2019, 12, 31, 19, 7, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    "published",
    [
        None,
        "",
        "2019-12-31T14:47:00",
        "2019-12-31 14:47",
        "31/12/2019",
        "2019-12-31T14:47:00+01:00",
    ],
)
def test_any_published_value_reads_without_crashing(
    replay: ReplayServer, adapter: WebmentionAdapter, published: str | None
) -> None:
    entry = next(e for e in entries("mentions_target") if e["wm-id"] == 739253)
    entry["published"] = published
    replay.add("GET", API, (200, {}, {"type": "feed", "name": "Webmentions", "children": [entry]}))
    [comment] = adapter.fetch_thread(RemoteRef("webmention", TARGET, TARGET)).comments
    assert comment.created_at.tzinfo is not None


def test_the_documented_older_entry_form_is_kept_as_a_mention(
    replay: ReplayServer, adapter: WebmentionAdapter
) -> None:
    """The README's answer has no wm-property; before the fix it was dropped."""
    replay.add("GET", API, recorded("webmention", "mentions_readme_example"))
    target = "https://indieweb.org"
    [comment] = adapter.fetch_thread(RemoteRef("webmention", target, target)).comments
    assert comment.kind == "mention" and comment.parent_id == target
    assert comment.author.name == "Tantek Çelik" and comment.ref.id == "900"
    assert comment.created_at == datetime(2013, 4, 22, 22, 3, tzinfo=UTC)  # -07:00


def test_domain_answers_read_every_recorded_kind(
    replay: ReplayServer, adapter: WebmentionAdapter
) -> None:
    """The recorded domain= answer (Bridgy sources of Twitter and Mastodon), one target."""
    target = "https://www.juanfernandes.uk/notes/google-floc/"
    status, headers, body = load("webmention", "mentions_domain")
    body["children"] = [e for e in body["children"] if e["wm-target"] == target]
    replay.add("GET", API, (status, headers, body))
    snapshot = adapter.fetch_thread(RemoteRef("webmention", target, target))
    kinds = [e["wm-property"] for e in body["children"]]
    assert len(snapshot.comments) == kinds.count("in-reply-to") + kinds.count("mention-of")
    assert snapshot.counts.likes == kinds.count("like-of")
    assert snapshot.counts.reposts == kinds.count("repost-of")


def test_incremental_read_takes_counts_from_the_count_api(
    replay: ReplayServer, adapter: WebmentionAdapter
) -> None:
    newest = [e for e in entries("mentions_target") if e["wm-id"] > 739366]
    replay.add("GET", API, (200, {}, {"type": "feed", "name": "Webmentions", "children": newest}))
    # No recorded count answer: derived from the recorded mentions of this target.
    properties = [e["wm-property"] for e in entries("mentions_target")]
    types = {"like": properties.count("like-of"), "reply": properties.count("in-reply-to")}
    types |= {"repost": properties.count("repost-of"), "mention": properties.count("mention-of")}
    replay.add("GET", r"/api/count\.json", (200, {}, {"count": len(properties), "type": types}))
    snapshot = adapter.fetch_thread(RemoteRef("webmention", TARGET, TARGET), cursor="739366")
    assert not snapshot.complete and replay.calls("GET", API)[0].arg("since_id") == "739366"
    assert {c.ref.id for c in snapshot.comments} == {"739367"}
    assert (snapshot.counts.likes, snapshot.counts.replies) == (types["like"], types["reply"])


def service_error(status: int, error: str, description: str) -> Answer:
    """webmention.io's error shape as its controllers/api.rb writes it (not a recording)."""
    return status, {}, {"error": error, "error_description": description}


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (
            service_error(
                400, "invalid_input", "Either an access token or a target URI is required"
            ),
            errors.NetworkError,
            "target URI is required",
        ),
        (
            service_error(401, "forbidden", "Access token was not valid"),
            errors.AuthFailed,
            "Access token was not valid",
        ),
        (
            service_error(404, "not_found", "The site was not found"),
            errors.NotFound,
            "site was not found",
        ),
        ((429, {"retry-after": "90"}, "Rate limit exceeded"), errors.RateLimited, "429"),
        ((500, {}, "Internal Server Error"), errors.Transient, "500"),
        (
            (503, {"content-type": "text/html"}, "<html><h1>503 Service Unavailable</h1></html>"),
            errors.Transient,
            "503",
        ),
    ],
)
def test_error_answers_map_onto_our_errors(
    replay: ReplayServer,
    adapter: WebmentionAdapter,
    answer: Answer,
    error: type[errors.NetworkError],
    text: str,
) -> None:
    replay.add("GET", API, answer)
    with pytest.raises(errors.NetworkError) as caught:
        adapter.fetch_thread(RemoteRef("webmention", TARGET, TARGET))
    assert type(caught.value) is error and text in str(caught.value)
    assert TOKEN not in str(caught.value)
    if isinstance(caught.value, errors.RateLimited):
        assert caught.value.retry_after == 90


def test_publish_reply_and_recovery_are_not_for_the_web(adapter: WebmentionAdapter) -> None:
    post = OutgoingPost(text="x", idempotency_key="k")
    with pytest.raises(errors.Unsupported):
        adapter.publish(post)
    with pytest.raises(errors.Unsupported):
        adapter.reply(RemoteRef("webmention", "739367", TARGET), "thanks", "k")
    assert adapter.find_published(post) is None


# -- part two: the stand-in answers in the recorded shapes ----------------------------------------


server, standin = standin_fixtures(WebmentionStandIn)


RECORDED_ENTRIES = entries("mentions_target") + entries("mentions_domain")
ENTRY_SHAPE = shape_of(*RECORDED_ENTRIES)


def standin_answer(standin: WebmentionStandIn, **params: str) -> httpx.Response:
    query = {"target": TARGET, "token": standin.token, "per-page": "100", **params}
    return httpx.get(f"{standin.base_url}/api/mentions.jf2", params=query)


def test_standin_entries_have_the_recorded_shape_and_name_the_target(
    standin: WebmentionStandIn,
) -> None:
    owner = standin.add_mention(TARGET, author="author", html="<p>Thanks!</p>")
    standin.add_reply(owner.id, "bob", "A reply to the owner's reply")  # like 739367
    standin.add_mention(TARGET, "mention-of", author="eve", html="<p>I wrote about it</p>")
    standin.add_mention(TARGET, author="dave", text="plain text only")
    standin.like(TARGET, "carol")
    standin.repost(TARGET, "dave")
    answer = standin_answer(standin)
    assert answer.status_code == load("webmention", "mentions_target")[0]
    body = answer.json()
    wrapper = {k: v for k, v in load("webmention", "mentions_target")[2].items() if k != "children"}
    assert {k: v for k, v in body.items() if k != "children"} == wrapper
    assert len(body["children"]) == 6
    for entry in body["children"]:
        assert mismatches(entry, ENTRY_SHAPE) == [], entry["wm-property"]
        kind = entry["wm-property"]
        # As recorded: the relation names the target page, replies to replies included.
        assert entry[kind] == entry["wm-target"] == TARGET, entry
        same_kind = [e for e in RECORDED_ENTRIES if e["wm-property"] == kind]
        assert kind in ("in-reply-to", "like-of", "repost-of", "mention-of") and same_kind
        if kind in ("in-reply-to", "mention-of"):
            assert "content" in entry


def test_standin_error_bodies_have_the_service_shape(standin: WebmentionStandIn) -> None:
    bad = httpx.get(f"{standin.base_url}/api/mentions.jf2", params={"token": "wrong"})
    empty = httpx.get(f"{standin.base_url}/api/mentions.jf2")
    reference = shape_of(service_error(401, "forbidden", "Access token was not valid")[2])
    assert (bad.status_code, bad.json()) == (
        401,
        {"error": "forbidden", "error_description": "Access token was not valid"},
    )
    assert empty.status_code == 400 and mismatches(empty.json(), reference) == []
    assert empty.json()["error"] == "invalid_input"


def test_an_in_reply_to_naming_another_mention_nests_under_it(
    replay: ReplayServer, adapter: WebmentionAdapter
) -> None:
    """Derived (no such recording): a JF2 producer naming the parent mention's URL too."""
    status, headers, body = load("webmention", "mentions_target")
    parent = next(e for e in body["children"] if e["wm-id"] == 739365)
    child = next(e for e in body["children"] if e["wm-id"] == 739367)
    child["in-reply-to"] = [TARGET, parent["url"]]
    replay.add("GET", API, (status, headers, body))
    by_id = {
        c.ref.id: c for c in adapter.fetch_thread(RemoteRef("webmention", TARGET, TARGET)).comments
    }
    assert by_id["739367"].parent_id == "739365" and by_id["739364"].parent_id == TARGET
