"""One article as the commands and templates see it, with its gate verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..model import NetworkCounts, Syndication
from .commentary import PostAnalysis
from .metadata import PostMeta
from .rules import PostInput, Reason, SiteVerdicts, Verdict


@dataclass
class EngageInfo:
    """Attached to every article by the plugin; all fields are safe to render.

    ``eligible`` and ``reasons`` are computed when a template first reads them.
    """

    record: PostRecord
    candidate: bool
    commentary: Markup
    commentary_words: int
    show_gate: bool = False
    syndications: list[Syndication] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)  # a tree of comment nodes
    counts: dict[str, NetworkCounts] = field(default_factory=dict)

    @property
    def eligible(self) -> bool:
        return self.record.verdict.eligible

    @property
    def reasons(self) -> list[Reason]:
        return list(self.record.verdict.reasons)


@dataclass
class PostRecord:
    """One article as the commands see it after a build or a read of the site."""

    source_path: str  # relative to the site folder
    slug: str
    title: str
    url: str  # absolute, from SITEURL
    date: Any
    status: str
    kind: str  # "article" or "page"
    meta: PostMeta
    candidate: bool
    post_input: PostInput
    verdicts: SiteVerdicts  # shared by the site's posts
    # The post's identity in the ledger and the comments: the source path it was first
    # seen under, which survives moves and renames (syndication/identity.py).
    key: str = ""

    def __post_init__(self) -> None:
        self.key = self.key or self.source_path

    @property
    def verdict(self) -> Verdict:
        return self.verdicts[self.source_path]

    @property
    def analysis(self) -> PostAnalysis:
        return self.verdicts.analysis(self.source_path)

    def check_json(self) -> dict[str, Any]:
        verdict = self.verdict
        fields = ("source_path", "slug", "title", "candidate")  # then the verdict's
        return {name: getattr(self, name) for name in fields} | {
            "eligible": verdict.eligible,
            "commentary_words": verdict.commentary_words,
            "reasons": [r.as_dict() for r in verdict.reasons],
        }
