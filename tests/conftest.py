"""Shared fixtures. pytest-socket (see pyproject addopts) refuses any
connection that is not to loopback, so a test that reaches for the internet fails."""

from __future__ import annotations

import os

import pytest

# requests (tweepy) and httpx honour proxies from the environment; loopback must bypass them.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"


@pytest.fixture(autouse=True)
def _no_credentials_from_the_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the credentials they set themselves."""
    for name in (
        "MASTODON_ACCESS_TOKEN",
        "BLUESKY_HANDLE",
        "BLUESKY_APP_PASSWORD",
        "X_API_KEY",
        "X_API_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
        "FACEBOOK_PAGE_ACCESS_TOKEN",
        "WEBMENTIONIO_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
