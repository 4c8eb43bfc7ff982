"""The gate's results saved by the commands and reused by the read-only build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage import site
from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.gate import cache, commentary
from pelican.plugins.engage.gate import rules as gate
from pelican.plugins.engage.model import SourceText
from pelican.plugins.engage.store import Store
from pelican.plugins.engage.store.gate_cache import KEEP_SITES

OTHER_TAKE = (
    "Small servers age well because nobody has to chase a vendor roadmap, and the people "
    "who run them tend to know every user by name, which changes how moderation feels, "
    "how outages are forgiven and how slowly, carefully, features arrive at all."
)
SETTINGS = gate.GateSettings()


def post(key: str, html: str, **fields: object) -> gate.PostInput:
    values: dict[str, object] = {"title": key, "date": None, "candidate": True} | fields
    return gate.PostInput(key=key, html=html, **values)  # type: ignore[arg-type]


def judged(
    posts: list[gate.PostInput],
    sources: dict[str, SourceText] | None = None,
    known: cache.KnownResults | None = None,
) -> gate.SiteVerdicts:
    verdicts = gate.SiteVerdicts(posts, sources or {}, SETTINGS, known=known)
    for p in posts:
        _ = verdicts[p.key]
    return verdicts


def saved(verdicts: gate.SiteVerdicts) -> cache.KnownResults:
    analyses, site_verdicts = verdicts.fresh()
    return cache.KnownResults(analyses, dict([site_verdicts]) if site_verdicts else {})


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., object] = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


SITE = [
    post("a.md", f"<h2>My take</h2><p>{TAKE}</p>", date=None),
    post("b.md", f"<h2>My take</h2><p>{TAKE}</p><blockquote><p>{OTHER_TAKE}</p></blockquote>"),
    post("c.md", "<p>No take at all, just a link.</p>"),
    post("d.md", f'<div class="commentary"><p>{OTHER_TAKE}</p></div>', source_url="https://s/1"),
]
SOURCES = {"https://s/1": SourceText("https://s/1", True, "Something else entirely " * 20)}


def test_known_results_give_the_same_verdicts_without_running_the_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = judged(SITE, SOURCES)
    analyze_calls = counting(monkeypatch, gate, "analyze")
    evaluate_calls = counting(monkeypatch, gate, "evaluate")
    again = judged(SITE, SOURCES, saved(first))
    assert analyze_calls == [] and evaluate_calls == []
    for p in SITE:
        assert again[p.key] == first[p.key]
        assert again.analysis(p.key) == first.analysis(p.key)
    assert again.fresh() == ({}, None)  # nothing new to save
    assert [first[p.key].codes for p in SITE] == [
        [],
        ["reused_commentary"],
        ["missing_commentary"],
        [],
    ]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda posts, sources: (posts[:1] + posts[2:], sources), id="post-removed"),
        pytest.param(
            lambda posts, sources: ([post("a.md", "<p>changed</p>"), *posts[1:]], sources),
            id="earlier-commentary-edited",
        ),
        pytest.param(
            lambda posts, sources: (
                [
                    *posts[:3],
                    post("d.md", posts[3].html, title="New title", source_url="https://s/1"),
                ],
                sources,
            ),
            id="title-changed",
        ),
        pytest.param(
            lambda posts, sources: (
                posts,
                {"https://s/1": SourceText("https://s/1", True, OTHER_TAKE)},
            ),
            id="source-text-changed",
        ),
    ],
)
def test_any_change_to_what_the_rules_read_judges_the_site_again(
    change: Callable[..., tuple[list[gate.PostInput], dict[str, SourceText]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = saved(judged(SITE, SOURCES))
    posts, sources = change(SITE, SOURCES)
    evaluate_calls = counting(monkeypatch, gate, "evaluate")
    again = judged(posts, sources, known)
    fresh = judged(posts, sources)
    assert evaluate_calls == [1, 1]
    for p in posts:
        assert again[p.key] == fresh[p.key]


def test_the_rules_themselves_are_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.analysis_key("<p>x</p>", SETTINGS.headings)
    monkeypatch.setattr(cache, "_RULE_MODULES", ("commentary.py",))  # other rule code
    assert cache.analysis_key("<p>x</p>", SETTINGS.headings) != before
    monkeypatch.undo()
    assert cache.analysis_key("<p>x</p>", SETTINGS.headings) == before
    assert cache.analysis_key("<p>x</p>", ("Other heading",)) != before


def test_the_check_command_saves_and_the_build_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"
    conf = write_settings(tmp_path, ENGAGE_SHOW_GATE=True)
    write_post(content, "first", f"## My take\n\n{TAKE}", Date="2026-11-01 10:00")
    write_post(content, "second", f"## My take\n\n{TAKE}", Date="2026-11-02 10:00")
    cold = site.build_site(site.load_settings(conf))
    cold_page = (tmp_path / "output" / "second.html").read_text(encoding="utf-8")
    cold_codes = [p.verdict.codes for p in cold.posts]
    assert ["reused_commentary"] in cold_codes

    result = CliRunner().invoke(cli, ["check", "-s", str(conf), "--json"])
    assert result.exit_code == 1, result.output  # a post fails the gate
    with Store.open_readonly(tmp_path / "engage.sqlite3") as store:  # type: ignore[union-attr]
        assert len(store.gate_results.analyses()) == 1  # the same HTML is analysed once
        assert len(store.gate_results.verdicts()) == 1

    analyze_calls = counting(monkeypatch, gate, "analyze")
    evaluate_calls = counting(monkeypatch, gate, "evaluate")
    warm = site.build_site(site.load_settings(conf))
    assert analyze_calls == [] and evaluate_calls == []
    assert [p.verdict.codes for p in warm.posts] == cold_codes
    assert (tmp_path / "output" / "second.html").read_text(encoding="utf-8") == cold_page

    # An edited post misses the cache alone; the site is judged again for it.
    write_post(content, "second", f"## My take\n\n{OTHER_TAKE}", Date="2026-11-02 10:00")
    edited = site.build_site(site.load_settings(conf))
    assert len(analyze_calls) == 1 and len(evaluate_calls) == 1
    assert all(p.verdict.eligible for p in edited.posts)


def test_the_store_keeps_only_the_current_posts_and_a_few_sites(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db.sqlite3") as store:
        results = store.gate_results
        results.save({"a": "1", "b": "2"}, ("site-0", "{}"), keep={"a", "b"})
        results.save({"c": "3"}, ("site-1", "{}"), keep={"b", "c"})
        assert results.analyses() == {"b": "2", "c": "3"}
        for n in range(2, 2 + KEEP_SITES + 2):
            results.save({}, (f"site-{n}", "{}"), keep={"b", "c"})
        kept = results.verdicts()
        assert len(kept) == KEEP_SITES and f"site-{KEEP_SITES + 3}" in kept


def test_a_saved_analysis_decodes_to_the_same_value() -> None:
    html = f"<h2>My take</h2><p>{TAKE} “quoted words here”</p><blockquote>x y</blockquote>"
    analysis = commentary.analyze(html, SETTINGS.headings)
    assert cache.decode_analysis(cache.encode_analysis(analysis)) == analysis
    none = commentary.analyze("<p>plain</p>", SETTINGS.headings)
    assert cache.decode_analysis(cache.encode_analysis(none)) == none
