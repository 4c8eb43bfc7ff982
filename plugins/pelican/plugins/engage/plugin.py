"""Pelican glue: judge every article and attach ``article.engage``.

The handlers are module-level functions (Pelican's signals hold weak
references, so handlers defined inside ``register()`` would be collected) and
check that the plugin is enabled for the build at hand, because a handler stays
connected after the build that registered it. The build never fetches and
never posts: it reads the state database, if there is one, without writing.
"""

from __future__ import annotations

import functools
import logging
import os
import posixpath
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pelican.plugins import signals  # type: ignore[attr-defined]  # mypy sees our namespace dir

from .backfeed.conversation import Conversation, Thread, copy_avatars
from .backfeed.page_insert import insert_into_page
from .backfeed.prerender import conversations_for_build, syndication_links
from .errors import ConfigError, StoreError
from .gate import commentary as commentary_mod
from .gate import rules as gate
from .gate.cache import KnownResults
from .gate.metadata import parse_metadata
from .gate.record import EngageInfo, PostRecord
from .model import NetworkCounts, Syndication
from .settings import EngageSettings
from .store import Store
from .syndication.identity import KnownPost, Resolution
from .syndication.identity import resolve as resolve_identities

log = logging.getLogger(__name__)

PLUGIN_NAMES = frozenset({"engage", "pelican.plugins.engage"})
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class BuildRecord:
    """What the last build saw; the `engage` commands read it after running Pelican."""

    settings: EngageSettings
    posts: list[PostRecord] = field(default_factory=list)
    metadata_errors: list[str] = field(default_factory=list)
    # Which known post each file is (moved, renamed, re-slugged) and which are gone.
    identities: Resolution = field(default_factory=Resolution)
    # The gate's results the commands saved (the pages' analyses come from it too).
    known: KnownResults = field(default_factory=KnownResults)


class _State:
    """What the current build has judged; reset at every `initialized` signal so an
    autoreload or a second build in the same process never sees an old build.

    i18n_subsites runs each language's subsite inside the main build: ``last_build``
    stays the main site's (the one the commands report), ``current`` is the build
    whose pages are being judged, and ``main_lang`` the main site's language.
    """

    last_build: BuildRecord | None = None
    current: BuildRecord | None = None
    main_lang: str = ""


STATE = _State()


def last_build() -> BuildRecord | None:
    return STATE.last_build


def enabled(settings: dict[str, Any]) -> bool:
    """Whether the build using ``settings`` loaded this plugin.

    After initialisation Pelican replaces PLUGINS by the names of the plugins
    that registered successfully.
    """
    plugins = settings.get("PLUGINS")
    return plugins is not None and any(getattr(p, "__name__", p) in PLUGIN_NAMES for p in plugins)


def on_initialized(pelican: Any) -> None:
    """Validate the settings early and make `engage/comments.html` includable."""
    STATE.current = None
    if not is_subsite(pelican.settings):
        STATE.last_build = None
        STATE.main_lang = str(pelican.settings.get("DEFAULT_LANG") or "")
    if not enabled(pelican.settings):
        return
    if not is_subsite(pelican.settings):
        _forget_stale_i18n_state()
    EngageSettings.from_pelican(pelican.settings)  # a ConfigError stops the build here
    overrides = list(pelican.settings.get("THEME_TEMPLATES_OVERRIDES") or [])
    if str(TEMPLATES) not in overrides:
        overrides.append(str(TEMPLATES))  # after the user's own overrides: theirs win
        pelican.settings["THEME_TEMPLATES_OVERRIDES"] = overrides


@dataclass
class SiteState:
    """What the build reads from the state database, once per build."""

    sources: dict[str, gate.SourceText] = field(default_factory=dict)
    syndications: dict[str, list[Syndication]] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    known_posts: list[KnownPost] = field(default_factory=list)
    known: KnownResults = field(default_factory=KnownResults)


def read_state(settings: EngageSettings) -> SiteState:
    try:
        store = Store.open_readonly(settings.db_path)
    except StoreError as exc:
        log.error("engage: %s; building without it", exc)
        return SiteState()
    if store is None:
        return SiteState()
    with store:
        state = SiteState(store.sources(), conversations=conversations_for_build(store, settings))
        state.known_posts = [
            KnownPost(r["key"], r["source_path"], r["url"], r["title"], r["date"])
            for r in store.posts.all()
        ]
        state.known = KnownResults(store.gate_results.analyses(), store.gate_results.verdicts())
        state.syndications = syndication_links(store)
        return state


def judge_articles(
    settings: EngageSettings,
    articles: Iterable[tuple[Any, bool]],
    sources: dict[str, gate.SourceText],
    *,
    judge: bool = True,
    urls: Mapping[str, str] | None = None,
    known: KnownResults | None = None,
) -> list[PostRecord]:
    """Gate verdicts for ``(article, may_be_candidate)`` pairs.

    With ``judge=False`` (pages) the commentary is measured but no rule applies;
    ``urls`` gives the public URL of articles built elsewhere (another subsite).
    """
    pending = []
    for article, may_be_candidate in articles:
        rel = relative(article.source_path, settings.base_dir)
        meta, errors = parse_metadata(rel, article.metadata, timezone=settings.timezone)
        for error in errors:
            log.error("engage: %s", error)
        post_input = gate.PostInput(
            key=rel,
            title=article.title,
            date=getattr(article, "date", None),
            html=article._content,
            candidate=may_be_candidate and not meta.opted_out,
            source_url=meta.source,
            metadata_errors=tuple(e.problem_sentence for e in errors),
            translation_group=translation_group(article, settings.base_dir),
        )
        pending.append((article, rel, meta, post_input))
    posts = [p[3] for p in pending]
    verdicts = gate.SiteVerdicts(posts, sources, settings.gate, judge=judge, known=known)
    records = []
    for article, rel, meta, post_input in pending:
        url = f"{settings.site_url.rstrip('/')}/{article.url}" if settings.site_url else article.url
        url = (urls or {}).get(article.source_path, url)
        records.append(
            PostRecord(
                source_path=rel,
                slug=article.slug,
                title=article.title,
                url=url,
                date=getattr(article, "date", None),
                status=article.status,
                kind="article" if judge else "page",
                meta=meta,
                candidate=post_input.candidate,
                post_input=post_input,
                verdicts=verdicts,
            )
        )
    return records


def attach(
    article: Any,
    record: PostRecord,
    settings: EngageSettings,
    state: SiteState | None = None,
    keys: Sequence[str] = (),
) -> None:
    """Attach ``article.engage``; ``keys`` name the posts whose conversation it shows
    (a post and its translations share one), by default the post itself."""
    found = record.analysis.commentary
    state = state or SiteState()
    keys = keys or (record.key,)
    conversation = shared_conversation(state, keys)
    article.engage = EngageInfo(
        record=record,
        candidate=record.candidate,
        commentary=Markup(found.html if found else ""),
        commentary_words=found.own_words if found else 0,
        show_gate=settings.show_gate,
        syndications=[s for key in keys for s in state.syndications.get(key, [])],
        comments=conversation.comments,
        counts=conversation.counts,
    )
    # Deterministic from the source file alone, so safe with Pelican's content cache.
    article._content = commentary_mod.mark(article._content, found)


# -- translations: a post and its translations are one conversation ---------------------


def _i18n_langs(settings: Mapping[str, Any]) -> set[str]:
    """Languages that i18n_subsites builds as subsites of their own (none without it)."""
    names = [getattr(p, "__name__", str(p)) for p in settings.get("PLUGINS") or ()]
    subsites = settings.get("I18N_SUBSITES")
    if not isinstance(subsites, Mapping) or not any("i18n_subsites" in n for n in names):
        return set()
    return set(subsites)


def _forget_stale_i18n_state() -> None:
    """Make i18n_subsites start afresh at the start of a main build.

    It keeps the main site's settings in a module global that only the end of a
    full build clears; a read of the site (`engage check`, or the read before
    `engage publish` builds) leaves it set, and the next build in the same
    process would then build the old settings' subsites.
    """
    module = sys.modules.get("pelican.plugins.i18n_subsites.i18n_subsites")
    if module is not None and hasattr(module, "_MAIN_SETTINGS"):
        vars(module)["_MAIN_SETTINGS"] = None


def is_subsite(settings: Mapping[str, Any]) -> bool:
    """Whether this build is a language subsite that i18n_subsites runs inside the main one."""
    return settings.get("DEFAULT_LANG") in _i18n_langs(settings)


def original_of(article: Any, main_lang: str) -> Any:
    """The version in the main site's language of a post (itself when there is none)."""
    group = [article, *getattr(article, "translations", ())]
    in_main = [m for m in group if getattr(m, "lang", main_lang) == main_lang]
    if not in_main or any(m is article for m in in_main):
        return article
    return min(in_main, key=lambda m: str(m.source_path))


def _publishable(article: Any, settings: Mapping[str, Any]) -> bool:
    if article.status == "published":
        return True
    # i18n_subsites turns a post whose language has its own subsite (and that has no
    # version in this site's language) into a draft here; its own metadata says otherwise.
    moved = _i18n_langs(settings) - {settings.get("DEFAULT_LANG")}
    return (
        article.status == "draft"
        and getattr(article, "lang", None) in moved
        and str(article.metadata.get("status") or "").lower() != "draft"
    )


def site_articles(generator: Any, main_lang: str) -> list[tuple[Any, bool]]:
    """Every article of the build, once each, with whether it may be a candidate at all.

    A post and its translations are cross-posted once: only the version in the
    main site's language is a candidate, unless a translation asks to be with a
    ``Syndicate`` of its own. i18n_subsites has removed the translations built in
    another subsite from the lists by now, but every article keeps its
    ``translations``, so they are found (and reported) through it.
    """
    listed = [
        *generator.articles,
        *generator.translations,
        *generator.hidden_articles,
        *generator.hidden_translations,
        *generator.drafts,
        *generator.drafts_translations,
    ]
    found: dict[str, Any] = {}
    for article in listed:
        found.setdefault(article.source_path, article)
    for article in listed:
        for other in getattr(article, "translations", ()):
            found.setdefault(other.source_path, other)
    return [
        (
            article,
            _publishable(article, generator.settings)
            and (original_of(article, main_lang) is article or "syndicate" in article.metadata),
        )
        for article in found.values()
    ]


def subsite_urls(
    articles: Iterable[Any], settings: Mapping[str, Any], site_url: str
) -> dict[str, str]:
    """Public URLs of the articles i18n_subsites builds in their language's subsite."""
    langs = _i18n_langs(settings) - {settings.get("DEFAULT_LANG")}
    urls = {}
    for article in articles:
        lang = getattr(article, "lang", None)
        if lang not in langs:
            continue
        overrides = settings["I18N_SUBSITES"][lang]
        # There it is the subsite's own article, so ARTICLE_URL (not ARTICLE_LANG_URL) names it.
        pattern = str(overrides.get("ARTICLE_URL", settings.get("ARTICLE_URL", "{slug}.html")))
        base = str(overrides.get("SITEURL") or posixpath.join(site_url or "/", lang))
        urls[article.source_path] = f"{base.rstrip('/')}/{pattern.format(**article.url_format)}"
    return urls


def relative(source_path: str, base_dir: Path) -> str:
    """A post's key: its source path relative to the site folder."""
    if os.path.isabs(source_path) and base_dir.is_absolute():
        return _relative_between_absolute(source_path, base_dir)
    return os.path.relpath(source_path, base_dir)  # depends on the working folder


# Asked three times a post per build, and ``os.path.relpath`` is no cheap call.
_relative_between_absolute = functools.lru_cache(maxsize=8192)(os.path.relpath)


def translation_group(article: Any, base_dir: Path) -> str | None:
    """One key for a post and its translations (Pelican's, which i18n_subsites keeps):
    the first of their source paths, so every version names the same one."""
    group = [article, *getattr(article, "translations", ())]
    return min(relative(m.source_path, base_dir) for m in group) if len(group) > 1 else None


def conversation_keys(article: Any, main_lang: str, base_dir: Path) -> list[str]:
    """The posts whose conversations ``article`` shows: its whole translation group,
    the main-language version first."""
    original = original_of(article, main_lang)
    group = [original, article, *getattr(original, "translations", ())]
    keys = (relative(m.source_path, base_dir) for m in group)
    return list(dict.fromkeys(keys))


def shared_conversation(state: SiteState, keys: Sequence[str]) -> Conversation:
    """One conversation out of those of ``keys``: threads in time order, counts added up."""
    parts = [state.conversations[k] for k in keys if k in state.conversations]
    if len(parts) <= 1:
        return parts[0] if parts else Conversation()
    roots = sorted((c for part in parts for c in part.comments), key=lambda c: c.published)
    merged = Conversation(Thread(roots))
    for part in parts:
        for network, n in part.counts.items():
            have = merged.counts.get(network) or NetworkCounts(n.label)
            merged.counts[network] = NetworkCounts(
                n.label, have.likes + n.likes, have.reposts + n.reposts, have.replies + n.replies
            )
    merged.counts = dict(sorted(merged.counts.items()))
    return merged


def on_article_generator_finalized(generator: Any) -> None:
    if not enabled(generator.settings):
        return
    try:
        settings = EngageSettings.from_pelican(generator.settings)
    except ConfigError as exc:
        log.error("engage: %s", exc)
        raise
    main_lang = STATE.main_lang or str(generator.settings.get("DEFAULT_LANG") or "")
    articles = site_articles(generator, main_lang)
    urls = subsite_urls((a for a, _ in articles), generator.settings, settings.site_url)
    state = read_state(settings)
    records = judge_articles(settings, articles, state.sources, urls=urls, known=state.known)
    identities = resolve_identities(records, state.known_posts)
    for record in records:
        record.key = identities.key(record.source_path)
    for (article, _), record in zip(articles, records, strict=True):
        keys = conversation_keys(article, main_lang, settings.base_dir)
        attach(article, record, settings, state, [identities.key(k) for k in keys])
    STATE.current = BuildRecord(settings, records, identities=identities, known=state.known)
    if not is_subsite(generator.settings):  # the commands report the main site
        STATE.last_build = STATE.current
    # No verdict is computed here: the site-wide rules run when something reads one.
    log.info("engage: %d articles analysed", len(records))


def on_page_generator_finalized(generator: Any) -> None:
    """Pages are never cross-posted; they are listed so reports cover the whole site."""
    build = STATE.current
    if not enabled(generator.settings) or build is None:
        return
    settings = build.settings
    pages = [*generator.pages, *generator.hidden_pages, *generator.draft_pages]
    pairs = ((p, False) for p in pages)
    records = judge_articles(settings, pairs, {}, judge=False, known=build.known)
    for page, record in zip(pages, records, strict=True):
        attach(page, record, settings)
    build.posts.extend(records)


def on_finalized(pelican: Any) -> None:
    """Copy cached avatars into the output after Pelican has written (and maybe cleaned) it."""
    if enabled(pelican.settings):
        copy_avatars(EngageSettings.from_pelican(pelican.settings))


def on_content_written(path: str, context: dict[str, Any]) -> None:
    """Add the conversation to article pages whose theme does not include the partial.

    After the page is written, not in ``_content``: the content cache keys on sources only.
    """
    if context.get("article") is None or not enabled(context):
        return
    # The setting itself, not EngageSettings.from_pelican(context): this runs for every
    # page written, and `initialized` has checked the settings already.
    if context.get("ENGAGE_INSERT_CONVERSATION", True):
        insert_into_page(Path(path), context)


def register() -> None:
    signals.initialized.connect(on_initialized)
    signals.article_generator_finalized.connect(on_article_generator_finalized)
    signals.page_generator_finalized.connect(on_page_generator_finalized)
    signals.finalized.connect(on_finalized)
    signals.content_written.connect(on_content_written)
