"""`engage draft --from-feed URL`: start a post from someone else's article."""

from __future__ import annotations
