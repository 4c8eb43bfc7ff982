"""The answer desk over HTTP: who may use it, what a forged request gets, what it renders.

The desk runs in a thread on 127.0.0.1 as `engage desk` runs it; httpx plays
both the user's browser (with the cookie from the printed address) and a
hostile page or a DNS-rebinding attacker (without it, from another origin,
with another Host). Every refused request is checked to have changed nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from desk_support import conversation, ref_of, same_origin, serving, settings, signed_in
from syndication_helpers import engage, own_posts

from pelican.plugins.engage.answering import answers
from pelican.plugins.engage.answering.desk import Desk
from pelican.plugins.engage.settings import EngageSettings
from pelican.plugins.engage.store import Store

ENGAGE = str(Path(sys.executable).with_name("engage"))
HOSTILE_NAME = '<img src=x onerror="alert(1)">Mallory'
HOSTILE_HTML = '<p>Look <script>alert(2)</script><img src=x onerror="alert(3)"> here</p>'


def add_comment(
    db: Path, cid: str, name: str = "Bob Marsh", html: str = "<p>Nice post!</p>"
) -> None:
    network, remote = cid.split(":", 1)
    with Store.open(db) as store, store.transaction() as conn:
        conn.execute(
            "INSERT INTO comment (id, network, remote_id, article, author_name, author_handle,"
            " author_url, html, url, created_at, first_seen, last_seen) VALUES"
            " (?, ?, ?, 'content/post.md', ?, '@bob@social.example', '', ?,"
            " 'https://social.example/@bob/1', '2026-11-01T00:00:00+00:00', '', '')",
            (cid, network, remote, name, html),
        )


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """A desk over a database with two waiting comments (no network needed)."""
    engage_settings = EngageSettings.from_pelican({"ENGAGE_BASE_DIR": str(tmp_path)})
    add_comment(engage_settings.db_path, "mastodon:1")
    add_comment(engage_settings.db_path, "mastodon:2", HOSTILE_NAME, HOSTILE_HTML)
    with serving(engage_settings) as running:
        yield running


def waiting_ids(desk: Desk) -> set[str]:
    with Store.open(desk.settings.db_path) as store:
        return {w.id for w in answers.inbox(store)}


def test_only_the_printed_address_opens_the_desk(desk: Desk) -> None:
    stranger = httpx.Client(base_url=desk.origin)
    assert stranger.get("/").status_code == 403
    assert stranger.get("/changes").status_code == 403
    assert stranger.get("/?key=guessed").status_code == 403
    assert desk.url.startswith("http://127.0.0.1:") and desk.secret in desk.url
    client = httpx.Client(base_url=desk.origin)
    first = client.get(desk.url)
    assert first.status_code == 303 and first.headers["location"] == "/"  # the key leaves the URL
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Nice post!" in page.text and desk.csrf in page.text
    assert "access-control-allow-origin" not in {k.lower() for k in page.headers}
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    policy = page.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy and "unsafe-inline" not in policy
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert page.text.count(f'nonce="{nonce}"') == 2  # the page's own style and script only
    assert client.get("/changes").json()["counter"] >= 2


def test_forged_posts_are_refused_and_change_nothing(desk: Desk) -> None:
    client = signed_in(desk)
    body = json.dumps({"ref": "1"})
    good = same_origin(desk)
    forgeries = {
        "no CSRF token": {k: v for k, v in good.items() if k != "X-CSRF-Token"},
        "a wrong CSRF token": {**good, "X-CSRF-Token": "x" * len(desk.csrf)},
        "another Origin": {**good, "Origin": "http://evil.example"},
        "another port of 127.0.0.1": {**good, "Origin": "http://127.0.0.1:9"},
        "no Origin": {k: v for k, v in good.items() if k != "Origin"},
        "a cross-site fetch": {**good, "Sec-Fetch-Site": "cross-site"},
        "another Host (DNS rebinding)": {**good, "Host": "evil.example"},
        "localhost as Host": {**good, "Host": f"localhost:{desk.port}"},
        "a form post": {**good, "Content-Type": "application/x-www-form-urlencoded"},
    }
    for what, headers in forgeries.items():
        answer = client.post("/done", content=body, headers=headers)
        assert answer.status_code in (400, 403, 415), what
        assert answer.json()["ok"] is False, what
        assert "access-control-allow-origin" not in {k.lower() for k in answer.headers}, what
    # Without the cookie (another site's page cannot have it), even a perfect copy fails.
    stranger = httpx.Client(base_url=desk.origin)
    assert stranger.post("/done", content=body, headers=good).status_code == 403
    # A CORS preflight gets no permission either.
    preflight = client.options(
        "/done",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in {k.lower() for k in preflight.headers}
    assert waiting_ids(desk) == {"mastodon:1", "mastodon:2"}
    # The same request from the desk's own page goes through.
    answer = client.post("/done", content=body, headers=good)
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert waiting_ids(desk) == {"mastodon:2"}


def test_strangers_text_is_escaped_and_comment_html_stays_sanitized(desk: Desk) -> None:
    page = signed_in(desk).get("/").text
    assert "alert(2)" not in page  # the script went with its content when it was cleaned
    assert "<img" not in page and 'onerror="' not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Mallory" in page  # the name, as text
    assert "Look" in page and "here" in page


def test_the_change_counter_moves_when_a_comment_arrives(desk: Desk) -> None:
    client = signed_in(desk)
    before = client.get("/changes").json()["counter"]
    assert client.get("/changes").json()["counter"] == before  # reading changes nothing
    add_comment(desk.settings.db_path, "mastodon:3")
    after = client.get("/changes").json()["counter"]
    assert after > before
    listing = client.get("/items")
    assert listing.headers["x-engage-counter"] == str(after)
    assert listing.text.count('class="item"') == 3


def test_reply_and_like_from_the_desk_happen_once(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with conversation(demo_site, monkeypatch, ("mastodon",)) as (running, made):
        mastodon = running["mastodon"]
        bob, carol = made["mastodon"]
        bob_ref, carol_ref = ref_of("mastodon", bob), ref_of("mastodon", carol)
        with serving(settings()) as desk:
            client = signed_in(desk)
            headers = same_origin(desk)
            send = {"ref": bob_ref, "text": "Hatchling, for now."}
            for _ in range(2):  # pressed twice: one answer on the network
                answer = client.post("/reply", content=json.dumps(send), headers=headers)
                assert answer.status_code == 200, answer.text
            assert answer.json()["already"] is True
            answers_posted = [p for p in own_posts(mastodon) if p.text.endswith("for now.")]
            assert len(answers_posted) == 1 and answers_posted[0].parent_id == bob
            for _ in range(2):
                liked = client.post(
                    "/like", content=json.dumps({"ref": carol_ref}), headers=headers
                )
                assert liked.status_code == 200, liked.text
            assert liked.json()["already"] is True
            assert mastodon.items[carol].liked_by == {"author"}
            assert len(mastodon.calls("POST", r"/favourite$")) == 1
            waiting = {w["ref"] for w in json.loads(engage("inbox", "--json")[1])}
            assert bob_ref not in waiting and carol_ref in waiting  # liked still waits


def test_engage_desk_prints_its_address_and_stops_on_ctrl_c(demo_site: Path) -> None:
    add_comment(demo_site / "engage.sqlite3", "mastodon:1")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    child = subprocess.Popen(
        [ENGAGE, "desk", "--no-browser"],
        cwd=demo_site,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "COLUMNS": "200", "NO_PROXY": "127.0.0.1"},
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("The answer desk is at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].strip()
        client = httpx.Client(timeout=10)
        for _ in range(300):  # the server may take a moment to accept (30 s at most)
            try:
                first = client.get(url)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            pytest.fail("the desk never answered")
        assert first.status_code == 303
        page = client.get(url.split("?", 1)[0])
        assert page.status_code == 200 and "Nice post!" in page.text
    finally:
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=20)
    assert code == 0
    assert "The answer desk is closed." in (child.stderr.read() if child.stderr else "")
