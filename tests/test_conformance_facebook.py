"""The Facebook adapter and stand-in against recorded Graph API answers (tests/recordings/facebook).

Part one replays the recordings on 127.0.0.1 (tests/replay.py) and runs every
adapter operation through them: publish, find_published, fetch_thread, reply
and the error answers. Part two asks the stand-in the same questions and
compares the shape of its answers (field names, nesting, types; not values)
with the recordings. Part three runs ``engage sync`` against a stand-in that
withholds ``id``/``from`` the way the recorded comment pages do.

Recordings missing for a case (see tests/recordings/README.md, "Missing"): no
``POST /{page-id}/feed`` answer is recorded, so publish is answered with the
documented ``{"id": "<page>_<post>"}`` built from a recorded post id; no error
body for codes 4, 17, 32, 613 or 506 and none with status 401/403/404/429/5xx is
recorded, so those use the reference-example body (``error_reference_example``)
with the code, message and status changed (the messages are the ones the
README quotes). Comment rows with ``id`` but without ``from`` (or the reverse)
are derived from the recorded rows by adding the missing fields, and said so
at each use. The Graph API answers no 409 or 422: nothing to test there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from network_fixtures import ErrorAnswer, one_post_site, open_adapter, standin_fixtures
from recordings_data import load, meta
from replay import Answer, ReplayServer, mismatches, recorded, shape_of

from pelican.plugins.engage import errors
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.networks import build_adapter
from pelican.plugins.engage.networks.base import AdapterContext, OutgoingPost, RemoteRef
from pelican.plugins.engage.networks.facebook import (
    COMMENT_FIELDS,
    COUNT_FIELDS,
    POST_FIELDS,
    FacebookAdapter,
)
from pelican.plugins.engage.sandbox.facebook import FacebookStandIn
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

PAGE = "19292868552"  # the recorded Page ("Facebook for Developers")
POST = f"{PAGE}_10158407654328553"  # the recorded post whose comments were read
LOCAL = POST.split("_")[1]
TOKEN = "EAAGconformanceTOKEN"
V = r"/v21\.0"


# -- part one: the adapter against replayed recordings -------------------------------------------


@pytest.fixture
def adapter(replay: ReplayServer) -> Iterator[FacebookAdapter]:
    options = {"base_url": f"{replay.base_url}/v21.0", "page_id": PAGE, "timeout": 2}
    yield from open_adapter(
        FacebookAdapter, options, AdapterContext(env={"FACEBOOK_PAGE_ACCESS_TOKEN": TOKEN})
    )


def recorded_post(index: int = 1) -> dict[str, Any]:
    """One recorded Page post (a row of the recorded feed page)."""
    return load("facebook", "page_feed_with_updated_time")[2]["data"][index]


def comment_pages(rows: Any = None) -> tuple[Answer, Answer]:
    """The two recorded comment pages, their rows changed by ``rows(row)`` if given."""
    pages = []
    for name in ("comments_page1", "comments_page2"):
        status, headers, body = load("facebook", name)
        if rows is not None:
            body["data"] = [rows(dict(row)) for row in body["data"]]
        pages.append((status, headers, body))
    return pages[0], pages[1]


def serve_thread(replay: ReplayServer, pages: tuple[Answer, Answer]) -> None:
    """The post node (a recorded post) and its comment pages, page 2 for the ``after`` cursor."""
    replay.add("GET", f"{V}/{POST}", (200, {}, recorded_post()))
    replay.add("GET", f"{V}/{POST}/comments", pages[0])
    replay.add("GET", f"{V}/{POST}/comments", pages[1], when=lambda s: s.arg("after") == "after")


def with_id(row: dict[str, Any]) -> dict[str, Any]:
    """Derived: the comment's id (and its parent's) from its recorded permalink."""
    found = dict(re.findall(r"(comment_id|reply_comment_id)=(\d+)", row["permalink_url"]))
    row["id"] = f"{LOCAL}_{found.get('reply_comment_id') or found['comment_id']}"
    if "reply_comment_id" in found:
        row["parent"] = {"id": f"{LOCAL}_{found['comment_id']}"}
    return row


def with_from(row: dict[str, Any]) -> dict[str, Any]:
    """Derived: an author, shaped as the Graph reference documents ``from``."""
    row["from"] = {"id": "7100000000000001", "name": "Person"}
    return row


def test_publish_reads_the_new_post_id(replay: ReplayServer, adapter: FacebookAdapter) -> None:
    # No recorded POST /{page-id}/feed answer: the documented {"id"} with a recorded post id.
    replay.add("POST", f"{V}/{PAGE}/feed", (200, {}, {"id": recorded_post()["id"]}))
    ref = adapter.publish(
        OutgoingPost(text="My take", idempotency_key="k", link="https://blog.example/p")
    )
    assert ref.id == recorded_post()["id"]
    assert ref.url == f"https://www.facebook.com/{ref.id}"
    [call] = replay.calls("POST", f"{V}/{PAGE}/feed")
    assert call.form() == {"message": "My take", "link": "https://blog.example/p"}
    assert call.headers["authorization"] == f"Bearer {TOKEN}" and not call.query


def test_reply_returns_the_recorded_comment(replay: ReplayServer, adapter: FacebookAdapter) -> None:
    replay.add("POST", f"{V}/[0-9_]+/comments", recorded("facebook", "comment_create"))
    parent = RemoteRef("facebook", f"{LOCAL}_10158407835073553", "https://www.facebook.com/x")
    ref = adapter.reply(parent, "Thanks!", "key-1")
    assert ref.id == load("facebook", "comment_create")[2]["id"]
    assert ref.extra == {"parent_id": parent.id}
    [call] = replay.calls("POST")
    assert call.path == f"/v21.0/{parent.id}/comments" and call.form() == {"message": "Thanks!"}


def test_find_published_finds_a_recorded_post_by_text_or_by_link(
    replay: ReplayServer, adapter: FacebookAdapter
) -> None:
    replay.add("GET", f"{V}/{PAGE}/posts", recorded("facebook", "page_feed_with_updated_time"))
    found = recorded_post(1)
    by_text = adapter.find_published(OutgoingPost(text=found["message"], idempotency_key="k"))
    assert by_text is not None and by_text.id == found["id"]
    assert by_text.url == found["permalink_url"]
    # The recorded share attachment: the link as posted is its unshimmed_url.
    link = found["attachments"]["data"][0]["unshimmed_url"]
    queued = datetime(2021, 7, 8, 15, 25, tzinfo=UTC)  # five minutes before created_time
    by_link = adapter.find_published(
        OutgoingPost(text="edited text", idempotency_key="k", link=link, created_at=queued)
    )
    assert by_link is not None and by_link.id == found["id"]
    assert adapter.find_published(OutgoingPost(text="never posted", idempotency_key="k")) is None
    assert replay.calls("GET")[0].arg("fields") == POST_FIELDS


def test_recorded_comment_pages_without_id_and_from_are_not_a_complete_read(
    replay: ReplayServer, adapter: FacebookAdapter
) -> None:
    """The recorded pages: 10 + 5 rows, none with id or from, summary.total_count 18.

    Before the fix every row was dropped and the read was "complete" with 0 replies,
    which told the merge that every stored comment was gone.
    """
    serve_thread(replay, comment_pages())
    with pytest.raises(errors.AuthFailed) as caught:
        adapter.fetch_thread(RemoteRef("facebook", POST, "https://www.facebook.com/x"))
    message = str(caught.value)
    assert message == (
        "facebook: 10 of 18 comments came without their ids and authors, so nothing was "
        "changed: use a Page access token with the pages_read_engagement permission, "
        "from a user who has the MODERATE task on the Page"
    )
    [call] = replay.calls("GET", f"{V}/{POST}/comments")
    assert call.arg("filter") == "stream" and call.arg("fields") == COMMENT_FIELDS


@pytest.mark.parametrize(
    ("rows", "named", "not_named"),
    [
        (with_id, "pages_read_engagement", "MODERATE"),  # derived: id added, no from
        (with_from, "MODERATE task on the Page", "pages_read_engagement"),  # derived: no id
    ],
)
def test_rows_lacking_one_field_name_its_own_fix(
    replay: ReplayServer, adapter: FacebookAdapter, rows: Any, named: str, not_named: str
) -> None:
    serve_thread(replay, comment_pages(rows))
    with pytest.raises(errors.AuthFailed, match=named) as caught:
        adapter.fetch_thread(RemoteRef("facebook", POST, "https://www.facebook.com/x"))
    assert not_named not in str(caught.value)


def test_recorded_rows_with_id_and_from_read_completely(
    replay: ReplayServer, adapter: FacebookAdapter
) -> None:
    """Derived: the recorded rows with id, parent and from added read as a whole thread."""
    serve_thread(replay, comment_pages(lambda row: with_from(with_id(row))))
    snapshot = adapter.fetch_thread(RemoteRef("facebook", POST, "https://www.facebook.com/x"))
    assert snapshot.complete and len(snapshot.comments) == 15
    by_id = {c.ref.id: c for c in snapshot.comments}
    reply = by_id[f"{LOCAL}_10158409983033553"]
    assert reply.parent_id == f"{LOCAL}_10158407903973553"
    assert reply.created_at == datetime(2021, 8, 11, 23, 22, 14, tzinfo=UTC)  # "+0000"
    assert reply.ref.url.endswith("reply_comment_id=10158409983033553")
    node = recorded_post()
    assert snapshot.counts.likes == node["reactions"]["summary"]["total_count"]
    assert snapshot.counts.reposts == node["shares"]["count"]
    assert snapshot.counts.replies == 15
    assert [c.arg("after") for c in replay.calls("GET", f"{V}/{POST}/comments")] == [
        None,
        "after",
    ]


def test_crash_recovery_of_a_reply_does_not_guess_on_rows_without_from(
    replay: ReplayServer, adapter: FacebookAdapter
) -> None:
    """Answering "not posted" here would post the reply twice; before the fix it did."""
    replay.add("GET", f"{V}/{POST}/comments", recorded("facebook", "comments_page1"))
    post = OutgoingPost(
        text="Thanks!", idempotency_key="k", reply_to=RemoteRef("facebook", POST, "")
    )
    with pytest.raises(errors.AuthFailed, match="pages_read_engagement"):
        adapter.find_published(post)


def graph_error(code: int, message: str, status: int = 400, subcode: int | None = None) -> Answer:
    """The reference-example error body with its code and message replaced."""
    _, headers, body = load("facebook", "error_reference_example")
    error = {**body["error"], "code": code, "message": message}
    error.pop("error_user_title")
    error.pop("error_user_msg")
    if subcode is None:
        error.pop("error_subcode")
    else:
        error["error_subcode"] = subcode
    return status, headers, {"error": error}


RATE_LIMITS = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}


@pytest.mark.parametrize("status", [400, 403])
@pytest.mark.parametrize("code", sorted(RATE_LIMITS))
def test_rate_limit_codes_are_rate_limited_with_the_usage_headers(
    replay: ReplayServer, adapter: FacebookAdapter, code: int, status: int
) -> None:
    usage = {PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    headers = {
        "x-app-usage": json.dumps({"call_count": 100, "total_cputime": 3, "total_time": 4}),
        "x-business-use-case-usage": json.dumps(usage),
    }
    answer = graph_error(code, RATE_LIMITS[code], status)
    replay.add("GET", f"{V}/{POST}", (answer[0], headers, answer[2]))
    with pytest.raises(errors.RateLimited) as caught:
        adapter.fetch_thread(RemoteRef("facebook", POST, ""))
    assert caught.value.retry_after == 7 * 60
    assert RATE_LIMITS[code] in str(caught.value)


def test_rate_limit_with_app_usage_only_waits_the_default(
    replay: ReplayServer, adapter: FacebookAdapter
) -> None:
    headers = {"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 3, "total_time": 4})}
    answer = graph_error(4, RATE_LIMITS[4], 403)
    replay.add("GET", f"{V}/{POST}", (answer[0], headers, answer[2]))
    with pytest.raises(errors.RateLimited) as caught:
        adapter.fetch_thread(RemoteRef("facebook", POST, ""))
    assert caught.value.retry_after == 60.0


@pytest.mark.parametrize(
    "case",
    [
        # Recorded bodies (status assumed 400, see their notes): not "gone", not "retry".
        ErrorAnswer(
            recorded("facebook", "error_100_missing_permission"), errors.NetworkError, "pages_read_"
        ),
        ErrorAnswer(
            recorded("facebook", "error_100_app_secret_proof"),
            errors.NetworkError,
            "app secret proof",
        ),
        # Reference example (code 190, subcode 460) as recorded: an expired token.
        ErrorAnswer(
            recorded("facebook", "error_reference_example"),
            errors.AuthFailed,
            "code 190, subcode 460",
        ),
        ErrorAnswer(
            recorded("facebook", "error_reference_example", status=401),
            errors.AuthFailed,
            "code 190",
        ),
        ErrorAnswer(graph_error(200, "(#200) Permissions error", 403), errors.AuthFailed, "(#200)"),
        ErrorAnswer(
            graph_error(803, "(#803) Some of the aliases you requested do not exist", 404),
            errors.NotFound,
            "",
        ),
        ErrorAnswer(
            graph_error(100, "Unsupported get request.", 400, subcode=33),
            errors.NotFound,
            "subcode 33",
        ),
        ErrorAnswer(graph_error(613, RATE_LIMITS[613], 429), errors.RateLimited, "(#613)"),
        ErrorAnswer(
            graph_error(1, "An unknown error has occurred.", 500), errors.Transient, "code 1"
        ),
        ErrorAnswer(
            graph_error(2, "Service temporarily unavailable", 503), errors.Transient, "code 2"
        ),
    ],
    ids=ErrorAnswer.label,
)
def test_error_answers_map_onto_our_errors(
    replay: ReplayServer, adapter: FacebookAdapter, case: ErrorAnswer
) -> None:
    thread = RemoteRef("facebook", POST, "")
    caught = case.check(replay, f"{V}/{POST}", lambda: adapter.fetch_thread(thread), [TOKEN])
    assert "fbtrace_id" in str(caught)


def test_duplicate_post_is_duplicate(replay: ReplayServer, adapter: FacebookAdapter) -> None:
    replay.add("POST", f"{V}/{PAGE}/feed", graph_error(506, "(#506) Duplicate status message"))
    with pytest.raises(errors.Duplicate, match="506"):
        adapter.publish(OutgoingPost(text="again", idempotency_key="k"))


# -- part two: the stand-in answers in the recorded shapes ----------------------------------------


server, standin = standin_fixtures(FacebookStandIn)


def ask(standin: FacebookStandIn, method: str, path: str, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {standin.page_token}"}
    url = f"{standin.base_url}/{standin.api_version}/{path}"
    if method == "GET":
        return httpx.get(url, params=params, headers=headers)
    return httpx.post(url, data=params, headers=headers)


def conversation(standin: FacebookStandIn) -> str:
    """A linked Page post with 15 comments and replies (the recorded pages hold 15 rows)."""
    post = standin.add_post("author", "My take", extra={"link": "https://blog.example/p"})
    start = datetime.now(UTC) - timedelta(hours=3)
    tops: list[str] = []
    for number in range(15):
        parent = post.id if number % 3 == 0 or not tops else tops[-1]
        item = standin.add_reply(
            parent, "bob", f"Comment {number}", created_at=start + timedelta(minutes=number)
        )
        if parent == post.id:
            tops.append(item.id)
    standin.like(post.id, "carol")
    standin.repost(post.id, "dave")
    return post.id


def recorded_request(name: str) -> dict[str, str]:
    """The query of a recording's request, without the token."""
    query = httpx.URL(meta("facebook", name)["request"]["url"]).params
    return {k: v for k, v in query.items() if k != "access_token"}


def test_comment_pages_have_the_recorded_shape_when_fields_are_withheld(
    standin: FacebookStandIn,
) -> None:
    """Asked as the recording asked, by a token without the task and the permission."""
    post_id = conversation(standin)
    standin.moderate_task = standin.read_engagement = False
    params = recorded_request("comments_page1")
    assert params["fields"] == "id,comment_count,created_time,like_count,message,permalink_url"
    first = ask(standin, "GET", f"{post_id}/comments", **params)
    assert first.status_code == load("facebook", "comments_page1")[0]
    assert mismatches(first.json(), shape_of(load("facebook", "comments_page1")[2])) == []
    after = first.json()["paging"]["cursors"]["after"]
    last = ask(standin, "GET", f"{post_id}/comments", **params, after=after)
    assert mismatches(last.json(), shape_of(load("facebook", "comments_page2")[2])) == []
    assert last.json()["summary"]["total_count"] == 15


def test_comment_pages_with_full_access_add_only_id_and_from(standin: FacebookStandIn) -> None:
    post_id = conversation(standin)
    params = recorded_request("comments_page1")
    params["fields"] += ",from{id,name,picture}"
    body = ask(standin, "GET", f"{post_id}/comments", **params).json()
    # id and from are what the recorded token could not see (their shape is not recorded).
    recorded_page = shape_of(load("facebook", "comments_page1")[2])
    assert mismatches(body, recorded_page, ignore={"$.data[]": {"id", "from"}}) == []
    assert {"id", "from"} <= set(body["data"][0])


def trim(row: dict[str, Any], fields: str) -> dict[str, Any]:
    """A recorded post as if only ``fields`` had been asked for (one level of ``{...}``)."""
    kept: dict[str, Any] = {}
    for field in re.split(r",(?![^{(]*[})])", fields):
        name = re.split(r"[.{]", field, maxsplit=1)[0]
        if name not in row:
            continue
        kept[name] = row[name]
        nested = re.search(r"\{(.*)\}", field)
        if nested and isinstance(row[name], dict):
            subfields = nested.group(1).split(",")
            rows = [{k: v for k, v in r.items() if k in subfields} for r in row[name]["data"]]
            kept[name] = {**row[name], "data": rows}
    return kept


@pytest.mark.parametrize("fields", [POST_FIELDS, COUNT_FIELDS])
def test_page_posts_and_post_nodes_have_the_recorded_shape(
    standin: FacebookStandIn, fields: str
) -> None:
    conversation(standin)
    second = standin.add_post("author", "Second post", extra={"link": "https://blog.example/q"})
    standin.repost(second.id, "eve")  # every recorded post has a link and shares
    rows = [trim(r, fields) for r in load("facebook", "page_feed_with_updated_time")[2]["data"]]
    body = ask(standin, "GET", f"{standin.page.id}/posts", fields=fields, limit="1").json()
    recorded_page = load("facebook", "page_feed_with_updated_time")[2]
    expected = shape_of({**recorded_page, "data": rows})
    assert mismatches(body, expected) == []
    node_id = standin.posts_by("author")[0].id
    node = ask(standin, "GET", node_id, fields=fields).json()
    # A node read always carries the node's id (the recorded rows come from an edge read).
    assert mismatches(node, shape_of(*rows), ignore={"$": {"id"}}) == [] and node["id"]


def test_a_created_comment_has_the_recorded_shape(standin: FacebookStandIn) -> None:
    post_id = conversation(standin)
    fields = ",".join(load("facebook", "comment_create")[2])
    answer = ask(standin, "POST", f"{post_id}/comments", message="Hi", fields=fields)
    assert answer.status_code == 200
    assert mismatches(answer.json(), shape_of(load("facebook", "comment_create")[2])) == []
    bare = ask(standin, "POST", f"{post_id}/comments", message="Hi again").json()
    assert list(bare) == ["id"] and isinstance(bare["id"], str)


ERROR_SHAPE = shape_of(
    *(
        load("facebook", name)[2]
        for name in (
            "error_reference_example",
            "error_100_missing_permission",
            "error_100_app_secret_proof",
        )
    )
)


def test_error_bodies_and_statuses_have_the_recorded_shape(standin: FacebookStandIn) -> None:
    post_id = conversation(standin)
    seen: dict[str, httpx.Response] = {}
    seen["bad token"] = httpx.get(
        f"{standin.base_url}/v21.0/{post_id}", headers={"Authorization": "Bearer wrong"}
    )
    seen["missing"] = ask(standin, "GET", f"{PAGE}_404/comments")
    standin.fail_next(1, "429", retry_after=120)
    seen["rate limit"] = ask(standin, "GET", post_id)
    standin.fail_next(1, "500")
    seen["server"] = ask(standin, "GET", post_id)
    latest = standin.posts_by("author")[-1]
    seen["duplicate"] = ask(
        standin, "POST", f"{standin.page.id}/feed", message=latest.text, link=latest.extra["link"]
    )
    for what, answer in seen.items():
        assert mismatches(answer.json(), ERROR_SHAPE) == [], what
    # Graph errors come as 400 (the recorded status), throttling as 400 or 403.
    assert seen["bad token"].status_code == 400 and seen["missing"].status_code == 400
    assert seen["rate limit"].status_code in (400, 403)
    assert {"x-app-usage", "x-business-use-case-usage"} <= set(seen["rate limit"].headers)


# -- part three: `engage sync` against a stand-in that withholds id and from -----------------------


def test_sync_exits_3_and_keeps_every_comment_when_ids_and_authors_are_withheld(
    standin: FacebookStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, options, posted = one_post_site(tmp_path, "facebook", standin, monkeypatch)
    article = "https://blog.example.net/hello.html"
    with build_adapter(
        "facebook", options, AdapterContext(env=dict(standin.environment()))
    ) as adapter:
        ref = adapter.publish(OutgoingPost(text="My take", idempotency_key="k", link=article))
    with Store.open(site / "engage.sqlite3") as store:
        ledger = Ledger(store)
        entry = ledger.add(
            Entry("content/hello.md", "facebook", 0, "t", article, posted, "k", posted)
        )
        ledger.mark_posted(entry, ref)
    bob = standin.add_reply(ref.id, "bob", "Bob on Facebook")
    standin.add_reply(bob.id, "carol", "Carol answers Bob")

    def sync() -> tuple[int, dict[str, Any]]:
        result = CliRunner().invoke(
            cli, ["sync", "--all", "--json", "-s", str(site / "pelicanconf.py")]
        )
        return result.exit_code, json.loads(result.stdout)

    def inbox() -> list[str]:
        result = CliRunner().invoke(cli, ["inbox", "--json", "-s", str(site / "pelicanconf.py")])
        return sorted(c["text"] for c in json.loads(result.stdout))

    code, report = sync()
    assert code == 0 and report["networks"]["facebook"]["new"] == 2
    assert inbox() == ["Bob on Facebook", "Carol answers Bob"]

    standin.moderate_task = standin.read_engagement = False
    for _ in range(3):  # three "reads" in a row: a complete one would have deleted them
        code, report = sync()
        assert code == 3, report
        facebook = report["networks"]["facebook"]
        assert facebook["errors"] == 1 and facebook["removed"] == 0
        [message] = facebook["messages"]
        assert "pages_read_engagement" in message and "MODERATE task on the Page" in message
    assert inbox() == ["Bob on Facebook", "Carol answers Bob"]
