"""The Facebook stand-in's usage headers: ``X-App-Usage`` on every Graph API answer.

The Graph API reports how much of the app's hourly budget is used, as
percentages of ``call_count``, ``total_cputime`` and ``total_time``. The
stand-in counts calls over a rolling hour against ``usage_limit`` (10,000 by
default, so benchmarks never come near it) and reports the percentage;
:meth:`FacebookUsage.enforce_rate_limit` lowers the limit and throttles past
it, as Facebook does, with error code 32 and ``estimated_time_to_regain_access``
(see ``FacebookStandIn.rate_limited``).
"""

from __future__ import annotations

import json

from .base import Request, Response, StandIn
from .ratelimits import WindowedStandIn

USAGE_LIMIT, USAGE_WINDOW = 10_000, 3600


class FacebookUsage(WindowedStandIn, StandIn):
    """Counts Graph API calls and answers them with ``X-App-Usage``."""

    window_limit, window_seconds = USAGE_LIMIT, USAGE_WINDOW

    def dispatch(self, request: Request) -> Response | None:
        refused = self.window.refused("app")
        if refused is not None:
            with self.lock:
                self.requests.append(request)
            return self.rate_limited(refused.reset_in)
        response = super().dispatch(request)
        if response is not None and response.status < 400:
            state = self.window.hit("app")
            percent = min(100, int(100 * state.used / max(state.limit, 1)))
            usage = {"call_count": percent, "total_cputime": percent // 2, "total_time": percent}
            response.headers["X-App-Usage"] = json.dumps(usage)
        return response
