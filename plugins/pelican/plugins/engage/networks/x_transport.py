"""How tweepy reaches X (or a stand-in at ``base_url``), and keeps our keys out of its logs.

tweepy hard-codes ``https://api.twitter.com``: a transport adapter mounted on the
client's public ``requests.Session`` rewrites the host (the OAuth 1.0a signature
is still computed for the real URL) and supplies the timeout tweepy never
passes. requests-oauthlib logs the Authorization header at DEBUG level, so a
log filter masks the credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

API_HOST = "https://api.twitter.com"


class _MaskSecrets(logging.Filter):
    """Replace known credential strings in the records of the OAuth libraries."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


_MASK = _MaskSecrets()
# Logger filters apply only to records made by that very logger, so name each one.
_OAUTH_LOGGERS = (
    "requests_oauthlib.oauth1_auth",
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
    "oauthlib.oauth1.rfc5849.utils",
    "tweepy.client",
)


def mask_in_logs(secrets: Iterable[str]) -> None:
    for secret in secrets:
        if len(secret) >= 4:
            _MASK.secrets.update({secret, quote(secret, safe="~-._")})
    for name in _OAUTH_LOGGERS:
        logger = logging.getLogger(name)
        if _MASK not in logger.filters:
            logger.addFilter(_MASK)


class Rebase(HTTPAdapter):
    """Send tweepy's api.twitter.com requests to ``base_url``, always with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(max_retries=0)  # a POST must never be re-sent behind our back
        self.base_url = base_url
        self.timeout = timeout

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if self.base_url != API_HOST and url.startswith(API_HOST):
            request.url = self.base_url + url[len(API_HOST) :]
            # Proxies were chosen for api.twitter.com; choose again for the real target.
            kwargs["proxies"] = requests.utils.get_environ_proxies(request.url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)
