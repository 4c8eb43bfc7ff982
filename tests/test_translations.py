"""A post and its translations are one conversation (issue 12).

Only the version in the site's language is cross-posted, unless a translation
opts in with its own ``Syndicate``; every translation's page shows the same
conversation (comments, counts, syndication links). Tested with Pelican's own
translations (``Lang: fr``, same slug) and with the i18n_subsites plugin,
which builds the French versions as a subsite in ``output/fr/``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sitebuilder
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sitebuilder import TAKES, store_thread, translated_site, write_post

from pelican.plugins.engage import plugin, site
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.model import RemoteRef
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.syndication.ledger import Entry, Ledger

# i18n_subsites would stay connected to Pelican's signals after a test (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("_no_i18n_subsites_afterwards")

EN = "content/small-servers.md"
FR = "content/small-servers-fr.md"
PRISE = (
    "Je fais tourner mon propre petit serveur depuis trois ans, et ce qui m'a le plus "
    "surpris, c'est le peu de travail technique. L'essentiel consiste à décider quel genre "
    "de lieu je veux en faire, à l'écrire, puis à répondre vraiment aux gens qui arrivent. "
    "Cette partie-là ne s'automatise jamais, et tant mieux."
)
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def make_site(root: Path, **settings: Any) -> Path:
    """An English post with its French translation (same slug), and one more post."""
    conf, lang = translated_site(root, f"## My take\n\n{PRISE}", settings)
    write_post(root / "content", "defaults", f"## My take\n\n{TAKES[1]}", Slug="defaults", **lang)
    return conf


def check_json(conf: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["check", "--json", "-s", str(conf)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def comment(rid: str, name: str, text: str, minute: int, network: str = "mastodon") -> Any:
    return sitebuilder.comment(rid, "root", name, f"<p>{text}</p>", minute, network)


def store_syndication(db: Path, article: str, network: str, url: str) -> None:
    with Store.open(db) as store:
        ledger = Ledger(store)
        entry = ledger.add(Entry(article, network, 0, "t", None, T0, f"{article}-{network}", T0))
        ledger.mark_posted(entry, RemoteRef(network, url.rsplit("/", 1)[-1], url))


def conversation(page: Path) -> dict[str, Any]:
    """What an article page shows of the conversation: comment authors, links, counts."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return {
        "authors": [a.get_text(" ", strip=True) for a in soup.select(".engage-comment .p-name")],
        "syndications": sorted(a["href"] for a in soup.select("a.u-syndication")),
        "counts": " ".join(soup.select_one(".engage-conversation").get_text(" ").split())
        if soup.select_one(".engage-conversation")
        else "",
    }


# -- Pelican's own translations ---------------------------------------------------------


def test_a_translation_is_not_a_second_candidate(tmp_path: Path) -> None:
    report = check_json(make_site(tmp_path))
    by_path = {a["source_path"]: a for a in report["articles"]}
    assert by_path[EN]["candidate"] is True and by_path[EN]["eligible"] is True
    assert by_path[FR]["candidate"] is False and by_path[FR]["eligible"] is False
    assert by_path[FR]["commentary_words"] > 40  # measured all the same
    assert report["summary"] == {"candidates": 2, "eligible": 2}


def test_a_translation_may_opt_in_with_its_own_syndicate(tmp_path: Path) -> None:
    conf = make_site(tmp_path)
    fr = tmp_path / FR
    fr.write_text("Syndicate: mastodon\n" + fr.read_text(encoding="utf-8"), encoding="utf-8")
    by_path = {a["source_path"]: a for a in check_json(conf)["articles"]}
    assert by_path[FR]["candidate"] is True and by_path[FR]["eligible"] is True
    assert by_path[EN]["candidate"] is True


def test_an_original_without_a_version_in_the_site_language_stays_a_candidate(
    tmp_path: Path,
) -> None:
    conf = make_site(tmp_path)
    write_post(tmp_path / "content", "seul", f"## My take\n\n{TAKES[2]}", Slug="seul", Lang="fr")
    by_path = {a["source_path"]: a for a in check_json(conf)["articles"]}
    assert by_path["content/seul.md"]["candidate"] is True


def test_every_translation_page_shows_the_one_conversation(tmp_path: Path) -> None:
    conf = make_site(tmp_path, SITEURL="", RELATIVE_URLS=True)
    db = tmp_path / "engage.sqlite3"
    store_thread(db, EN, "mastodon", [comment("1", "Bob Marsh", "So true.", 0)], likes=4)
    # A webmention to the French page is part of the same conversation.
    store_thread(db, FR, "webmention", [comment("w", "Léa Martin", "Bien dit.", 5)], likes=1)
    store_syndication(db, EN, "mastodon", "https://social.example/@ada/1")
    site.build_site(site.load_settings(conf))
    english = conversation(tmp_path / "output" / "small-servers.html")
    french = conversation(tmp_path / "output" / "small-servers-fr.html")
    assert english["authors"] == ["Bob Marsh", "Léa Martin"]
    assert english["syndications"] == ["https://social.example/@ada/1"]
    assert french == english
    unrelated = conversation(tmp_path / "output" / "defaults.html")
    assert unrelated["authors"] == [] and unrelated["syndications"] == []


def test_translation_counts_are_added_up(tmp_path: Path) -> None:
    conf = make_site(tmp_path)
    db = tmp_path / "engage.sqlite3"
    store_thread(db, EN, "mastodon", [comment("1", "Bob Marsh", "Yes.", 0)], likes=4)
    store_thread(db, FR, "mastodon", [comment("2", "Léa Martin", "Oui.", 1)], likes=2)
    site.build_site(site.load_settings(conf))
    record = plugin.last_build()
    assert record is not None and {p.source_path for p in record.posts} >= {EN, FR}
    counts = {
        name: {k: (c.likes, c.replies) for k, c in info.counts.items()}
        for name, info in _engage_infos(conf).items()
    }
    assert counts[EN] == counts[FR] == {"mastodon": (6, 2)}


def _engage_infos(conf: Path) -> dict[str, Any]:
    """Read the site again and return ``article.engage`` of every article, by source path."""
    infos: dict[str, Any] = {}
    original = plugin.attach

    def spy(article: Any, record: Any, *args: Any, **kwargs: Any) -> None:
        original(article, record, *args, **kwargs)
        infos[record.source_path] = article.engage

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plugin, "attach", spy)
        site.read_site(site.load_settings(conf))
    return infos


# -- the i18n_subsites plugin -----------------------------------------------------------


I18N = {
    "PLUGINS": ["engage", "i18n_subsites"],
    "I18N_SUBSITES": {"fr": {"SITENAME": "Site de test"}},
    "SITEURL": "https://blog.example.net",
}


def test_i18n_subsites_check_lists_the_translation_as_no_candidate(tmp_path: Path) -> None:
    conf = make_site(tmp_path, **I18N)
    write_post(tmp_path / "content", "seul", f"## My take\n\n{TAKES[2]}", Slug="seul", Lang="fr")
    by_path = {a["source_path"]: a for a in check_json(conf)["articles"]}
    assert by_path[EN]["candidate"] is True
    assert by_path[FR]["candidate"] is False  # found although i18n_subsites took it away
    # a French-only post is the original: i18n_subsites hides it from the English site only
    assert by_path["content/seul.md"]["candidate"] is True
    record = plugin.last_build()
    assert record is not None
    urls = {p.source_path: p.url for p in record.posts}
    assert urls["content/seul.md"] == "https://blog.example.net/fr/seul.html"
    assert urls[FR] == "https://blog.example.net/fr/small-servers.html"


def test_i18n_subsites_opt_in(tmp_path: Path) -> None:
    conf = make_site(tmp_path, **I18N)
    fr = tmp_path / FR
    fr.write_text("Syndicate: mastodon\n" + fr.read_text(encoding="utf-8"), encoding="utf-8")
    by_path = {a["source_path"]: a for a in check_json(conf)["articles"]}
    assert by_path[FR]["candidate"] is True


def test_i18n_subsite_page_shows_the_conversation(tmp_path: Path) -> None:
    # `engage check` on another site first, in the same process: i18n_subsites keeps
    # state in its module that only a full build clears, and the plugin must reset it.
    check_json(make_site(tmp_path / "other", **I18N))
    root = tmp_path / "blog"
    conf = make_site(root, **I18N)
    db = root / "engage.sqlite3"
    store_thread(db, EN, "mastodon", [comment("1", "Bob Marsh", "So true.", 0)], likes=3)
    store_syndication(db, EN, "mastodon", "https://social.example/@ada/1")
    record = site.build_site(site.load_settings(conf))
    output = root / "output"
    french_page = output / "fr" / "small-servers.html"
    assert french_page.is_file() and not (output / "small-servers-fr.html").exists()
    english, french = conversation(output / "small-servers.html"), conversation(french_page)
    assert english["authors"] == ["Bob Marsh"]
    assert english["syndications"] == ["https://social.example/@ada/1"]
    assert french == english
    # the commands report the main site, not the subsite built inside it
    assert record.settings.site_url == "https://blog.example.net"
    assert {p.source_path for p in record.posts if p.kind == "article"} == {
        EN,
        FR,
        "content/defaults.md",
    }
