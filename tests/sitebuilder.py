"""Build small throwaway Pelican sites for tests."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pelican.plugins.engage.backfeed.merge import ThreadKey, Threads
from pelican.plugins.engage.model import Author, Counts, RemoteComment, RemoteRef, ThreadSnapshot
from pelican.plugins.engage.store import Store

REPO = Path(__file__).resolve().parent.parent


def write_post(content: Path, name: str, body: str, **meta: str) -> Path:
    """A Markdown post with Pelican metadata; ``meta`` keys are written as given."""
    meta.setdefault("Title", name.replace("-", " ").title())
    meta.setdefault("Date", "2026-11-01 10:00")
    header = "".join(f"{k}: {v}\n" for k, v in meta.items())
    path = content / f"{name}.md"
    path.write_text(header + "\n" + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    return path


# No feeds (they would need a SITEURL) and no content cache (a build sees the files as
# they are now): for the test sites, the corpus builds and the build benchmark.
QUIET_BUILD: dict[str, Any] = {
    "FEED_ALL_ATOM": None,
    "CATEGORY_FEED_ATOM": None,
    "AUTHOR_FEED_ATOM": None,
    "AUTHOR_FEED_RSS": None,
    "TRANSLATION_FEED_ATOM": None,
    "CACHE_CONTENT": False,
    "LOAD_CONTENT_CACHE": False,
}


def write_settings(site: Path, **settings: Any) -> Path:
    """A pelicanconf.py for ``site`` using the repo's theme and the engage plugin."""
    values = {
        "AUTHOR": "Test Author",
        "SITENAME": "Test site",
        "SITEURL": "https://blog.example.net",
        "PATH": "content",
        "OUTPUT_PATH": "output",
        "TIMEZONE": "UTC",
        "THEME": str(REPO / "theme"),
        "PLUGINS": ["engage"],
        "ENGAGE_SHOW_GATE": True,
        **QUIET_BUILD,
    }
    values.update(settings)
    site.mkdir(parents=True, exist_ok=True)
    path = site / "pelicanconf.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
    (site / "content").mkdir(exist_ok=True)
    return path


def copy_demo_blog(folder: Path) -> Path:
    """A private copy of the demo blog (content, theme, settings, tasks) in ``folder``."""
    folder.mkdir()
    for name in ("content", "theme"):
        shutil.copytree(REPO / name, folder / name)
    for name in ("pelicanconf.py", "publishconf.py", "tasks.py"):
        shutil.copy2(REPO / name, folder / name)
    return folder


def translated_site(
    root: Path, french: str, settings: Mapping[str, Any], **french_meta: str
) -> tuple[Path, dict[str, str]]:
    """A site with an English post and its French translation ``french`` (same slug).

    Returns the conf and the metadata any further English post needs: i18n_subsites
    needs every post to name its language (its README says so).
    """
    conf = write_settings(root, **settings)
    content = root / "content"
    lang = {"Lang": "en"} if "I18N_SUBSITES" in settings else {}
    write_post(content, "small-servers", f"## My take\n\n{TAKE}", Slug="small-servers", **lang)
    write_post(
        content,
        "small-servers-fr",
        french,
        Title="Les petits serveurs",
        Slug="small-servers",
        Lang="fr",
        **french_meta,
    )
    return conf, lang


def comment(
    rid: str,
    parent: str,
    name: str,
    html: str,
    minute: int,
    network: str = "mastodon",
    **kw: object,
) -> RemoteComment:
    """A comment by ``name`` on social.example, ``minute`` minutes after 3 Nov 2026 09:00 UTC."""
    handle = name.split(maxsplit=1)[0].lower()
    return RemoteComment(
        ref=RemoteRef(network, rid, f"https://social.example/@{handle}/{rid}"),
        parent_id=parent,
        author=Author(name, f"@{handle}@social.example", f"https://social.example/@{handle}"),
        html=html,
        created_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC) + timedelta(minutes=minute),
        **kw,  # type: ignore[arg-type]
    )


def store_thread(
    db: Path, article: str, network: str, comments: list[RemoteComment], **counts: int
) -> None:
    """``comments`` as a complete read of ``article``'s conversation on ``network``."""
    with Store.open(db) as store:
        snapshot = ThreadSnapshot(
            post=RemoteRef(network, "root", ""), counts=Counts(**counts), comments=comments
        )
        Threads(store).merge(ThreadKey(article, network, "root"), snapshot, full=True)


TAKE = (
    "I have been running my own little server for three years now, and the thing that "
    "surprised me most is how little of the work is technical. Most of it is deciding "
    "what kind of place I want it to be, writing that down, and then actually answering "
    "the people who show up. That part never gets automated away, and I am glad."
)

# Distinct original commentaries, for sites with several posts (the gate refuses reuse).
TAKES = [
    TAKE,
    (
        "What struck me here is how much of the benefit comes from boring defaults rather than "
        "clever features. Nobody will write a conference talk about sensible timeouts or a "
        "readable error message, yet those are the things that decide whether I trust a tool "
        "with my evenings. I would trade three new features for one less surprising default."
    ),
    (
        "I disagree with the framing a little. Calling it a migration makes it sound like a "
        "single weekend of work, when in my experience the long tail of broken links, stale "
        "bookmarks and confused readers lasts for months. Plan for that tail, budget time for "
        "answering people, and write down every redirect you add so future you can find it."
    ),
    (
        "My rule of thumb after a decade of this: if a service makes export hard, assume the "
        "export will be incomplete on the day you need it most. Keep your own copy from the "
        "start, in a format a text editor can open, and test restoring it once a year. It "
        "takes an hour and it has saved me twice already, which is a good return on an hour."
    ),
]
