"""Pelican glue: judge every article and attach ``article.engage``.

The handlers are module-level functions (Pelican's signals hold weak
references, so handlers defined inside ``register()`` would be collected) and
check that the plugin is enabled for the build at hand, because a handler stays
connected after the build that registered it. The build never fetches and
never posts: it reads the state database, if there is one, without writing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pelican.plugins import signals  # type: ignore[attr-defined]  # mypy sees our namespace dir

from .backfeed.conversation import Conversation, copy_avatars, load_conversations
from .backfeed.page_insert import insert_into_page
from .errors import ConfigError, StoreError
from .gate import commentary as commentary_mod
from .gate import rules as gate
from .gate.metadata import parse_metadata
from .gate.record import EngageInfo, PostRecord
from .model import Syndication
from .networks import network_label
from .settings import EngageSettings
from .store import Store
from .syndication.ledger import Ledger

log = logging.getLogger(__name__)

PLUGIN_NAMES = frozenset({"engage", "pelican.plugins.engage"})
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class BuildRecord:
    """What the last build saw; the `engage` commands read it after running Pelican."""

    settings: EngageSettings
    posts: list[PostRecord] = field(default_factory=list)
    metadata_errors: list[str] = field(default_factory=list)


class _State:
    """What the current build has judged; reset at every `initialized` signal so an
    autoreload or a second build in the same process never sees an old build."""

    last_build: BuildRecord | None = None


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
    STATE.last_build = None
    if not enabled(pelican.settings):
        return
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


def read_state(settings: EngageSettings) -> SiteState:
    try:
        store = Store.open_readonly(settings.db_path)
    except StoreError as exc:
        log.error("engage: %s; building without it", exc)
        return SiteState()
    if store is None:
        return SiteState()
    with store:
        state = SiteState(store.sources(), conversations=load_conversations(store, settings))
        for entry in Ledger(store).syndications():
            if entry.remote_url:
                state.syndications.setdefault(entry.article, []).append(
                    Syndication(entry.network, network_label(entry.network), entry.remote_url)
                )
        return state


def judge_articles(
    settings: EngageSettings,
    articles: Iterable[tuple[Any, bool]],
    sources: dict[str, gate.SourceText],
    *,
    judge: bool = True,
) -> list[PostRecord]:
    """Gate verdicts for ``(article, may_be_candidate)`` pairs.

    With ``judge=False`` (pages) the commentary is measured but no rule applies.
    """
    pending = []
    for article, may_be_candidate in articles:
        rel = os.path.relpath(article.source_path, settings.base_dir)
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
        )
        pending.append((article, rel, meta, post_input))
    verdicts = gate.SiteVerdicts([p[3] for p in pending], sources, settings.gate, judge=judge)
    records = []
    for article, rel, meta, post_input in pending:
        url = f"{settings.site_url.rstrip('/')}/{article.url}" if settings.site_url else article.url
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
    article: Any, record: PostRecord, settings: EngageSettings, state: SiteState | None = None
) -> None:
    found = record.analysis.commentary
    state = state or SiteState()
    conversation = state.conversations.get(record.source_path, Conversation())
    article.engage = EngageInfo(
        record=record,
        candidate=record.candidate,
        commentary=Markup(found.html if found else ""),
        commentary_words=found.own_words if found else 0,
        show_gate=settings.show_gate,
        syndications=state.syndications.get(record.source_path, []),
        comments=conversation.comments,
        counts=conversation.counts,
    )
    # Deterministic from the source file alone, so safe with Pelican's content cache.
    article._content = commentary_mod.mark(article._content, found)


def on_article_generator_finalized(generator: Any) -> None:
    if not enabled(generator.settings):
        return
    try:
        settings = EngageSettings.from_pelican(generator.settings)
    except ConfigError as exc:
        log.error("engage: %s", exc)
        raise
    articles = [
        *((a, True) for a in generator.articles),
        *((a, True) for a in generator.translations),
        *((a, False) for a in generator.hidden_articles),
        *((a, False) for a in generator.hidden_translations),
        *((a, False) for a in generator.drafts),
        *((a, False) for a in generator.drafts_translations),
    ]
    state = read_state(settings)
    records = judge_articles(settings, articles, state.sources)
    for (article, _), record in zip(articles, records, strict=True):
        attach(article, record, settings, state)
    STATE.last_build = BuildRecord(settings, records)
    # No verdict is computed here: the site-wide rules run when something reads one.
    log.info("engage: %d articles analysed", len(records))


def on_page_generator_finalized(generator: Any) -> None:
    """Pages are never cross-posted; they are listed so reports cover the whole site."""
    build = STATE.last_build
    if not enabled(generator.settings) or build is None:
        return
    settings = build.settings
    pages = [*generator.pages, *generator.hidden_pages, *generator.draft_pages]
    records = judge_articles(settings, ((p, False) for p in pages), {}, judge=False)
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
    if EngageSettings.from_pelican(context).insert_conversation:
        insert_into_page(Path(path), context)


def register() -> None:
    signals.initialized.connect(on_initialized)
    signals.article_generator_finalized.connect(on_article_generator_finalized)
    signals.page_generator_finalized.connect(on_page_generator_finalized)
    signals.finalized.connect(on_finalized)
    signals.content_written.connect(on_content_written)
