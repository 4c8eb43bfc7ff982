"""An inverted index of earlier commentaries, to catch boilerplate takes.

Each commentary is stored as its set of word shingles; a query walks only the
posting lists of its own shingles, so finding the earlier commentary that
contains most of a new one costs time proportional to the overlap, not to
the number of posts (a pairwise scan of thousands of posts would be quadratic).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import chain

from .text import Shingle

# A phrase used in many earlier commentaries needs to point at the first few of
# them only: a new commentary repeating that boilerplate still meets the
# earliest ones in every posting list of the boilerplate, and the cap bounds
# the counting work of very common phrases ("i think that").
POSTINGS_CAP = 64


@dataclass(frozen=True)
class Match:
    key: str
    containment: float


class ReuseIndex:
    def __init__(self) -> None:
        self._postings: defaultdict[Shingle, list[int]] = defaultdict(list)
        self._keys: list[str] = []
        self._exact: dict[str, str] = {}  # normalized short text -> first key

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str, normalized: str, shingles: set[Shingle]) -> None:
        doc = len(self._keys)
        self._keys.append(key)
        self._exact.setdefault(normalized, key)
        postings = self._postings
        for shingle in shingles:
            docs = postings[shingle]
            if len(docs) < POSTINGS_CAP:
                docs.append(doc)

    def best_match(self, shingles: set[Shingle]) -> Match | None:
        """The indexed commentary that contains the largest share of ``shingles``."""
        if not shingles:
            return None
        postings = self._postings
        # One Counter over every posting list: the counting loop runs in C.
        overlap: Counter[int] = Counter(
            chain.from_iterable(postings[s] for s in shingles if s in postings)
        )
        if not overlap:
            return None
        doc, shared = overlap.most_common(1)[0]
        return Match(self._keys[doc], shared / len(shingles))

    def exact_match(self, normalized: str) -> str | None:
        """The first indexed commentary with exactly this text (for very short ones)."""
        return self._exact.get(normalized) if normalized else None
