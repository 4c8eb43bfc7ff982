"""Cache commenters' avatars beside the database, through the one HTTP path.

A commenter chooses their avatar URL, so every download is a stranger's URL:
private addresses are refused (every redirect hop too) unless the host is a
configured network's, the body is capped as it arrives, and only a PNG, JPEG,
GIF or WebP image, recognised by its first bytes, is kept (never SVG, which
can carry script).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..http_client import ALLOW_PRIVATE_OPTION, ANY_HOST, Fault, HttpSession, Limits, where
from ..store import Store
from .conversation import avatar_files, avatar_stem

log = logging.getLogger(__name__)

AVATAR_MAX_BYTES = 256 * 1024
AVATAR_TIMEOUT = 10.0
AVATAR_MAX_REDIRECTS = 3
ACCEPT_IMAGES = "image/png, image/jpeg, image/gif, image/webp"
# Decided by the file's first bytes, never by what the server claims: no SVG (it can script).
AVATAR_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
)


def image_suffix(data: bytes) -> str | None:
    """The file suffix of a PNG, JPEG, GIF or WebP image; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return next((suffix for magic, suffix in AVATAR_MAGIC if data.startswith(magic)), None)


@dataclass
class AvatarReport:
    fetched: int = 0
    failed: int = 0
    pruned: int = 0


def cache_avatars(
    store: Store,
    folder: Path,
    *,
    trusted_hosts: Collection[str] = (),
    workers: int = 4,
    timeout: float = AVATAR_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> AvatarReport:
    """Download the avatars of visible comments into ``folder`` (one file per URL).

    Only images of a known raster type and at most AVATAR_MAX_BYTES are kept.
    Addresses on private networks are refused (a commenter chooses the URL)
    unless the host is one of ``trusted_hosts`` (the configured networks).
    Files no visible comment uses any more are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {avatar_stem(url): url for url in store.comments.avatar_urls()}
    have = avatar_files(folder)
    report = AvatarReport()
    for stem, name in have.items():
        if stem not in wanted:
            (folder / name).unlink(missing_ok=True)
            report.pruned += 1
    missing = [url for stem, url in wanted.items() if stem not in have]
    if not missing:
        return report
    limits = Limits(timeout=timeout, max_bytes=AVATAR_MAX_BYTES, max_redirects=AVATAR_MAX_REDIRECTS)
    with (
        HttpSession(
            "avatar",
            limits=limits,
            headers={"Accept": ACCEPT_IMAGES},
            refuse_private=True,
            trusted_hosts=trusted_hosts,
            transport=transport,
        ) as http,
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="engage-avatar") as pool,
    ):
        for ok in pool.map(lambda url: _fetch_avatar(http, url, folder), missing):
            if ok:
                report.fetched += 1
            else:
                report.failed += 1
    return report


def _fetch_avatar(http: HttpSession, url: str, folder: Path) -> bool:
    answer = http.fetch("GET", url, follow_redirects=True)
    if isinstance(answer, Fault):
        log.debug("engage: avatar %s not fetched: %s", answer.target, answer.reason)
        return False
    if answer.status_code != 200:
        return False
    suffix = image_suffix(answer.content)
    if suffix is None:
        log.debug("engage: avatar %s is not a raster image", where(answer.url))
        return False
    target = folder / (avatar_stem(url) + suffix)
    partial = target.with_suffix(".part")
    partial.write_bytes(answer.content)
    partial.replace(target)
    return True


def trusted_hosts(networks: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The hosts of the configured networks' base URLs (a sandbox on 127.0.0.1, say), and
    every host ("*") when ENGAGE_ALLOW_PRIVATE_ADDRESSES allows private addresses."""
    hosts = set()
    for options in networks.values():
        host = urlsplit(str(options.get("base_url") or "")).hostname
        if host:
            hosts.add(host.lower())
        if options.get(ALLOW_PRIVATE_OPTION):
            hosts.add(ANY_HOST)
    return hosts
