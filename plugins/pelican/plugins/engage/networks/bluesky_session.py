"""Bluesky session persistence: one 0600 file per account and service, never a log or the database.

``createSession`` is limited to 30 calls per 5 minutes and a few hundred a day,
so the session the SDK exports is kept under the adapter's state directory and
rewritten whenever the client refreshes its tokens; the app password is used
only when the stored session is refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from atproto_client.client.session import Session
from atproto_core.exceptions import AtProtocolError

log = logging.getLogger(__name__)


class SessionFile:
    """The stored sessions of the accounts on one service (``service`` is its base URL)."""

    def __init__(self, state_dir: str | Path, service: str) -> None:
        self.state_dir = Path(state_dir)
        self.service = service

    def path(self, handle: str) -> Path:
        safe = re.sub(r"[^a-z0-9._-]", "_", handle.lower().lstrip("@"))
        return self.state_dir / f"bluesky-{safe}.session"

    def store(self, handle: str, session_string: str) -> None:
        path = self.path(handle)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.parent.stat().st_mode & 0o077:
            path.parent.chmod(0o700)  # it holds a secret
        payload = json.dumps({"service": self.service, "session": session_string})
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            os.write(fd, payload.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def load(self, handle: str) -> str | None:
        """The stored session string, if there is one for this service."""
        path = self.path(handle)
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("bluesky: the stored session is unreadable; logging in again")
            return None
        if not isinstance(data, dict) or data.get("service") != self.service:
            return None  # made for another server (a stand-in on another port, say)
        session = data.get("session")
        if not isinstance(session, str) or not decodable(session):
            log.warning("bluesky: the stored session is unreadable; logging in again")
            return None
        return session

    def forget(self, handle: str) -> None:
        self.path(handle).unlink(missing_ok=True)


def decodable(session_string: str) -> bool:
    """Whether the SDK can import this session string (and read its token's expiry)."""
    try:
        return Session.decode(session_string).access_jwt_payload.exp is not None
    except (ValueError, AtProtocolError):
        return False
