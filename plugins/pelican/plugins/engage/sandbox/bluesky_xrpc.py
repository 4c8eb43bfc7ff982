"""The Bluesky stand-in's XRPC plumbing: ids, accounts, error answers, tokens and sessions.

Access tokens are unsigned JWTs with an ``exp`` claim (the SDK decides when to
refresh by reading it); ``createSession`` has its real budget of 30 calls per
5 minutes. Its answer carries a ``didDoc`` as bsky.social's does (the recorded
``create_session``), naming this server as the account's PDS: the SDK moves to
the PDS a didDoc names, so it stays here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from .base import Account, Request, Response, StandIn, route

POST = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
X = "/xrpc/"
SESSION_WINDOW = 300  # seconds over which createSession calls are counted


def cid_for(data: Any) -> str:
    """A CIDv1-looking string derived from the content (dag-cbor is not worth faking)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def tid(micros: int, clock_id: int) -> str:
    """A record key as the PDS makes them: microseconds and a clock id in base32-sortable."""
    value = (micros << 10) | (clock_id & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


@dataclass
class Token:
    did: str
    kind: str  # "access" | "refresh"
    exp: float
    revoked: bool = False


class BlueskySessions(StandIn):
    """Accounts by handle or DID, the reference PDS's errors, and its session endpoints."""

    network: ClassVar[str] = "bluesky"
    app_password: ClassVar[str] = "sand-box0-blue-sky1"
    access_ttl: float = 2 * 3600.0  # the reference PDS's access token lifetime
    refresh_ttl: float = 90 * 86400.0
    session_limit: int = 30  # createSession per handle and 5 minutes

    NAMES: ClassVar[dict[int, str]] = {
        400: "InvalidRequest",
        401: "AuthenticationRequired",
        403: "Forbidden",
        404: "XRPCNotSupported",
        405: "InvalidRequest",
        500: "InternalServerError",
        502: "UpstreamFailure",
        503: "NotEnoughResources",
        504: "UpstreamTimeout",
    }

    def __init__(self, **kw: Any) -> None:
        self.tokens: dict[str, Token] = {}
        self.session_times: list[float] = []
        super().__init__(**kw)

    # -- accounts ---------------------------------------------------------------
    def handle_for(self, key: str) -> str:
        return f"{key}.bsky.social"

    def account_id(self, key: str) -> str:
        return f"did:plc:{key}"

    def account(self, who: str) -> Account | None:
        """An account by key, handle or DID."""
        return self.accounts.get(who) or next(
            (a for a in self.accounts.values() if who in (a.handle, a.id)), None
        )

    def environment(self) -> dict[str, str]:
        return {
            "BLUESKY_HANDLE": self.accounts["author"].handle,
            "BLUESKY_APP_PASSWORD": self.app_password,
        }

    # -- errors ----------------------------------------------------------------------
    def xrpc_error(self, status: int, error: str, message: str) -> Response:
        return Response(status, {"error": error, "message": message})

    def error(self, status: int, message: str) -> Response:
        name = self.NAMES.get(status, "InternalServerError")
        if status >= 500:
            message = "Internal Server Error" if status == 500 else message
        return self.xrpc_error(status, name, message)

    def rate_limited(self, retry_after: float, limit: int = 3000, window: int = 300) -> Response:
        response = self.xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        response.headers.update(
            {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": self.reset_epoch(retry_after),
                "RateLimit-Policy": f"{limit};w={window}",
            }
        )
        return response

    # -- tokens ------------------------------------------------------------------------
    def expire_sessions(self) -> None:
        """Every access token issued so far is refused as expired (refresh tokens still work)."""
        with self.lock:
            for token in self.tokens.values():
                if token.kind == "access":
                    token.exp = 0
                    token.revoked = True

    def revoke_sessions(self) -> None:
        """Every token issued so far is refused: only a password login helps."""
        with self.lock:
            for token in self.tokens.values():
                token.revoked = True

    def _jwt(self, did: str, kind: str, ttl: float) -> str:
        now = int(time.time())
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "ES256K"}
        claims: dict[str, Any] = {
            "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
            "sub": did,
            "aud": "did:web:127.0.0.1",
            "iat": now,
            "exp": int(now + ttl),
        }
        if kind == "refresh":
            claims["jti"] = secrets.token_urlsafe(24)
        token = ".".join(
            [
                b64url(json.dumps(header).encode()),
                b64url(json.dumps(claims).encode()),
                b64url(secrets.token_bytes(32)),  # unsigned: nobody verifies it here
            ]
        )
        self.tokens[token] = Token(did=did, kind=kind, exp=now + ttl)
        return token

    def did_doc(self, account: Account) -> dict[str, Any]:
        """The account's DID document; its PDS is this server."""
        return {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/suites/secp256k1-2019/v1",
            ],
            "id": account.id,
            "alsoKnownAs": [f"at://{account.handle}"],
            "verificationMethod": [
                {
                    "id": f"{account.id}#atproto",
                    "type": "Multikey",
                    "controller": account.id,
                    "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
                }
            ],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": self.base_url,
                }
            ],
        }

    def _account_body(self, account: Account) -> dict[str, Any]:
        """What createSession and getSession say about the account (as recorded)."""
        return {
            "did": account.id,
            "handle": account.handle,
            "email": f"{account.key}@example.org",
            "emailConfirmed": True,
            "emailAuthFactor": False,
            "didDoc": self.did_doc(account),
            "active": True,
        }

    def _session_body(self, account: Account) -> dict[str, Any]:
        return {
            "accessJwt": self._jwt(account.id, "access", self.access_ttl),
            "refreshJwt": self._jwt(account.id, "refresh", self.refresh_ttl),
            **self._account_body(account),
        }

    def _check_token(self, token: str, kind: str) -> Account | Response:
        known = self.tokens.get(token)
        if known is None or known.kind != kind:
            return self.xrpc_error(401, "InvalidToken", "Token could not be verified")
        if known.revoked and kind == "refresh":
            return self.xrpc_error(400, "ExpiredToken", "Token has been revoked")
        if known.revoked or known.exp < time.time():
            return self.xrpc_error(400, "ExpiredToken", "Token has expired")
        account = self.account(known.did)
        if account is None:
            return self.xrpc_error(401, "InvalidToken", "Token could not be verified")
        return account

    def _no_credentials(self) -> Response:
        return self.xrpc_error(401, "AuthenticationRequired", "Authentication Required")

    def authenticate(self, request: Request, required: bool) -> Response | None:
        """The account of the access token; anonymous callers pass unless ``required``."""
        token = request.bearer()
        if token is None:
            return self._no_credentials() if required else None
        account = self._check_token(token, "access")
        if isinstance(account, Response):
            return account
        request.viewer = account.key
        return None

    # -- session endpoints -----------------------------------------------------------
    @route("POST", X + r"com\.atproto\.server\.createSession")
    def create_session(self, request: Request) -> Response:
        body = request.json() or {}
        now = time.time()
        self.session_times = [t for t in self.session_times if t > now - SESSION_WINDOW]
        if len(self.session_times) >= self.session_limit:
            wait = (self.session_times[0] if self.session_times else now) + SESSION_WINDOW - now
            return self.rate_limited(wait, limit=self.session_limit, window=SESSION_WINDOW)
        self.session_times.append(now)
        account = self.account(str(body.get("identifier", "")).lstrip("@"))
        if account is None or account.key != "author" or body.get("password") != self.app_password:
            return self.xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return Response(200, self._session_body(account))

    @route("GET", X + r"com\.atproto\.server\.getSession", auth="required")
    def get_session(self, request: Request) -> Response:
        return Response(200, self._account_body(self.accounts[request.caller]))

    @route("POST", X + r"com\.atproto\.server\.refreshSession")
    def refresh_session(self, request: Request) -> Response:
        token = request.bearer()
        if token is None:
            return self._no_credentials()
        account = self._check_token(token, "refresh")
        if not isinstance(account, Account):
            return account
        self.tokens[token].revoked = True  # refresh tokens rotate
        body = self._session_body(account)
        for private in ("email", "emailConfirmed", "emailAuthFactor"):
            body.pop(private)
        return Response(200, body)
