"""Access to the recorded API responses in ``tests/recordings/``.

Each recording is one JSON file ``tests/recordings/<network>/<name>.json`` holding
``{"_meta": {...}, "body": ...}``; ``tests/recordings/README.md`` documents the
convention and the origin of every file.

    from recordings_data import load
    status, headers, body = load("mastodon", "status_post")

``headers`` are the replayable response headers (lower-case names).  Headers that
describe the encoded wire body (content-encoding, content-length,
transfer-encoding) are kept apart in ``_meta["wire_headers"]`` because bodies are
stored decoded; ``body_bytes`` gives a body ready to serve again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent / "recordings"
NETWORKS = ("mastodon", "bluesky", "x", "facebook", "webmention")


def path(network: str, name: str) -> Path:
    """The file holding one recording; raises if it does not exist."""
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; expected one of {NETWORKS}")
    file = ROOT / network / f"{name}.json"
    if not file.is_file():
        raise FileNotFoundError(f"no recording {network}/{name} (looked for {file})")
    return file


def _read(network: str, name: str) -> dict[str, Any]:
    with path(network, name).open(encoding="utf-8") as handle:
        return json.load(handle)


def load(network: str, name: str) -> tuple[int, dict[str, str], Any]:
    """Return ``(status, headers, body)`` of one recording.

    ``body`` is the parsed JSON value, or a ``str`` when the recorded body was not
    JSON (``_meta["body_format"] == "text"``).  Every call returns fresh objects,
    so callers may modify them.
    """
    data = _read(network, name)
    meta = data["_meta"]
    return int(meta["status"]), dict(meta.get("headers") or {}), data["body"]


def meta(network: str, name: str) -> dict[str, Any]:
    """The ``_meta`` block (origin, request, kind, notes, ...) of one recording."""
    return _read(network, name)["_meta"]


def body_bytes(network: str, name: str) -> bytes:
    """The body serialised for replay (JSON compactly, text as recorded), UTF-8."""
    data = _read(network, name)
    body = data["body"]
    if data["_meta"].get("body_format") == "text":
        return str(body).encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def names(network: str) -> list[str]:
    """All recording names of one network, sorted."""
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; expected one of {NETWORKS}")
    return sorted(p.stem for p in (ROOT / network).glob("*.json"))
