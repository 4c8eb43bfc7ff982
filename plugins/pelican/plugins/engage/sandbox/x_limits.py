"""The X stand-in's rate-limit headers and the mentions it keeps for the author.

Every API answer carries ``x-rate-limit-limit``, ``-remaining`` and ``-reset``
(epoch seconds) for its endpoint's 15-minute window, as X sends them; the
default limit (``rate_limit``, 10,000) keeps benchmarks clear of it, and
:meth:`XLimits.enforce_rate_limit` lowers it and answers 429 past it.

Mentions (``GET /2/users/:id/mentions``): a reply mentions the author of what
it answers and, as X's clients prefill them, everyone above it in the
conversation, unless it was written with ``extra={"mention": False}``.
"""

from __future__ import annotations

import re

from .base import Item, Request, Response
from .ratelimits import WindowedStandIn
from .x_views import XViews

WINDOW = 900  # X's rate-limit windows are 15 minutes
DEFAULT_LIMIT = 10_000
_ENDPOINT = re.compile(r"\d+")


class XLimits(WindowedStandIn, XViews):
    """Per-endpoint windows over every ``/2/`` call."""

    window_limit, window_seconds = DEFAULT_LIMIT, WINDOW

    def dispatch(self, request: Request) -> Response | None:
        if not request.path.startswith("/2/"):
            return super().dispatch(request)
        endpoint = f"{request.method} {_ENDPOINT.sub(':id', request.path)}"
        refused = self.window.refused(endpoint)
        if refused is not None:
            with self.lock:
                self.requests.append(request)
            return self.rate_limited(refused.reset_in)
        response = super().dispatch(request)
        if response is not None and response.status != 429:
            state = self.window.hit(endpoint)
            response.headers.update(
                {
                    "x-rate-limit-limit": str(state.limit),
                    "x-rate-limit-remaining": str(state.remaining),
                    "x-rate-limit-reset": str(state.reset_epoch),
                }
            )
        return response

    def mentions_of(self, key: str) -> list[Item]:
        """Live public tweets by others that mention the account ``key``."""
        found = []
        for item in self.items.values():
            if item.deleted or item.visibility != "public" or item.author == key:
                continue
            if not item.parent_id or item.extra.get("mention") is False:
                continue
            above = self.items.get(item.parent_id)
            while above is not None:
                if above.author == key:
                    found.append(item)
                    break
                above = self.items.get(above.parent_id) if above.parent_id else None
        return found
