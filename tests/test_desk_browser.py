"""The answer desk in headless Chromium, driven with the keyboard over the DevTools protocol.

The demo blog is published to local stand-ins, people answer it there, and
`engage sync` brings the comments back; then the desk is opened from the
address `engage desk` prints, and keys are pressed as a person would press
them. What the stand-ins received is the proof: the answer under the right
comment, exactly one like. The screenshot in the README is taken here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import BROWSER_TEST, CHROMIUM, SCREENSHOTS
from cdp import Chromium
from desk_support import POST_SLUG, conversation, ref_of, serving, settings
from syndication_helpers import engage, own_posts, top_level

SCREENSHOT = SCREENSHOTS / "desk.png"

pytestmark = BROWSER_TEST

ITEMS = "[...document.querySelectorAll('.item')].map(i => i.dataset.ref)"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    with Chromium(CHROMIUM, tmp_path / "chromium-profile") as chromium:
        yield chromium


def select(browser: Chromium, ref: int) -> int:
    """Move the selection to comment ``ref`` with j; returns the keys pressed."""
    refs = browser.js(ITEMS)
    target = refs.index(str(ref))
    at = refs.index(browser.js("document.querySelector('.item.current').dataset.ref"))
    key = "j" if target >= at else "k"
    for _ in range(abs(target - at)):
        browser.press(key)
    browser.wait_for(f"document.querySelector('.item.current').dataset.ref === '{ref}'")
    return abs(target - at)


def test_answer_a_comment_with_the_keyboard_only(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch, browser: Chromium
) -> None:
    with conversation(demo_site, monkeypatch, ("mastodon", "bluesky")) as (running, made):
        bluesky = running["bluesky"]
        carol = made["bluesky"][1]
        ref = ref_of("bluesky", carol)
        with serving(settings()) as desk:
            browser.open(desk.url)
            assert browser.wait_for(f"{ITEMS}.length") == 4
            assert browser.js("location.search") == ""  # the key left the address bar
            select(browser, ref)
            browser.press("r")
            browser.wait_for("document.activeElement.tagName === 'TEXTAREA'")
            text = "Zipapps cannot carry C extensions; that settled it."
            browser.type(text)
            assert browser.js("document.activeElement.value") == text
            browser.screenshot(SCREENSHOT)
            browser.press("Enter", ctrl=True)
            browser.wait_for(f"!document.getElementById('item-{ref}')")
            assert browser.wait_for(f"{ITEMS}.length") == 3
            assert "Answered #" in browser.js("document.getElementById('notice').textContent")
    answer = next(p for p in own_posts(bluesky) if p.text == text)
    assert answer.parent_id == carol, "the answer is not under Carol's comment"
    assert ref not in {w["ref"] for w in json.loads(engage("inbox", "--json")[1])}


def test_a_like_is_sent_once_and_the_list_follows_sync(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch, browser: Chromium
) -> None:
    with conversation(demo_site, monkeypatch, ("mastodon",)) as (running, made):
        mastodon = running["mastodon"]
        bob = made["mastodon"][0]
        ref = ref_of("mastodon", bob)
        with serving(settings()) as desk:
            desk.poll_seconds = 0.2
            browser.open(desk.url)
            browser.wait_for(f"{ITEMS}.length === 2")
            select(browser, ref)
            browser.press("l")
            browser.press("l")  # pressed twice
            status = f"document.querySelector('#item-{ref} .status').textContent"
            assert "still waits" in browser.wait_for(f"{status}.includes('liked') && {status}")
            browser.press("l")  # and again once it has landed
            browser.wait_for(f"{status}.includes('already liked')")
            assert mastodon.items[bob].liked_by == {"author"}
            assert len(mastodon.calls("POST", r"/favourite$")) == 1
            assert browser.js(f"!!document.getElementById('item-{ref}')")  # it still waits
            # Someone else writes; `engage sync` brings it and the page shows it by itself.
            post = next(p for p in top_level(mastodon) if POST_SLUG in p.text)
            mastodon.add_reply(post.id, "dave", "Late to this: what about PEP 723?")
            assert engage("sync", "-s", "publishconf.py", "--all")[0] == 0
            browser.wait_for(f"{ITEMS}.length === 3")
            assert "PEP 723" in browser.js("document.getElementById('list').textContent")
            assert browser.js(
                f"document.querySelector('#item-{ref}').classList.contains('current')"
            )


def mark(n: int) -> str:
    return f"document.documentElement.setAttribute('data-pwned-{n}','1')"


def test_a_hostile_comment_shows_as_text(
    demo_site: Path, monkeypatch: pytest.MonkeyPatch, browser: Chromium
) -> None:
    with conversation(demo_site, monkeypatch, ("mastodon",)) as (running, _made):
        mastodon = running["mastodon"]
        mastodon.add_account("mallory", f'<img src=x onerror="{mark(0)}">Mallory')
        post = next(p for p in top_level(mastodon) if POST_SLUG in p.text)
        words = "I typed <script>alert(1)</script> here on purpose"
        hostile = (
            "<p>I typed &lt;script&gt;alert(1)&lt;/script&gt; here on purpose</p>"
            f'<script>{mark(1)}</script><img src="x" onerror="{mark(2)}">'
            f'<a href="javascript:{mark(3)}">a link</a><svg onload="{mark(4)}"></svg>'
        )
        mastodon.add_reply(post.id, "mallory", words, html=hostile)
        assert engage("sync", "-s", "publishconf.py", "--all")[0] == 0
        with serving(settings()) as desk:
            browser.open(desk.url)
            browser.wait_for(f"{ITEMS}.length === 3")
            browser.wait_for("!!document.querySelector('.item.current')")  # our script ran
            browser.js("document.querySelectorAll('.comment a').forEach(a => a.click())")
            shown = browser.js("document.getElementById('list').textContent")
            assert words in shown and "<img src=x onerror=" in shown
            pwned = browser.js(
                "[...document.documentElement.attributes].map(a => a.name)"
                ".filter(n => n.startsWith('data-pwned'))"
            )
            assert pwned == []
            assert browser.js("document.querySelectorAll('#list script, #list img').length") == 0
