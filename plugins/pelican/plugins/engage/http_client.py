"""The one path for every outbound HTTP request outside the network SDKs.

Sources, feeds, the post-deploy URL check, avatars, webmentions and the Graph
API all go through :class:`HttpSession`. It sets the user agent, the timeouts
(per operation, and a total deadline for the request, redirects and body
included), the body size and decompression-ratio caps (counted as data
arrives), the redirects (followed here hop by hop, so every hop passes the same
checks), the private-address policy, and the mapping of failures onto
:mod:`errors`. Tests hand it an ``httpx.BaseTransport`` (``httpx.MockTransport``).

Tokens often travel in query strings (webmention.io's ``token``, the
``access_token`` inside Graph API ``paging.next`` links) and httpx logs every
request URL at INFO level, so messages name only the scheme, host and path of
a request, a filter strips query strings from httpx's own log records, and
known secrets are masked in any text taken from a response body. Nothing here
ever sleeps on a rate limit: the caller gets ``retry_after``, read by
:func:`retry_after`, the only Retry-After / reset-header parser.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import math
import socket
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import httpx

from .errors import (
    AuthFailed,
    ConfigError,
    NetworkError,
    NotFound,
    RateLimited,
    Transient,
    Unsupported,
)

USER_AGENT = "pelican-engage/0.1 (+https://github.com/pelican-engage)"
MAX_MESSAGE = 300
ERROR_BODY_BYTES = 64 * 1024  # enough for any error text; the rest of an error page is dropped
DEADLINE_FACTOR = 3.0  # default total deadline, in multiples of the per-operation timeout
RATIO_FLOOR = 1024 * 1024  # bodies smaller than this are never refused for their ratio
EPOCH_THRESHOLD = 1e9  # a bare number this large is a moment (epoch seconds), not a delay
DROP_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
KEEP_EXTENSIONS = ("http_version", "reason_phrase")
# Fault reasons callers phrase in their own words.
TIMED_OUT = "timed out"
TOO_MANY_REDIRECTS = "too many redirects"

ErrorText = Callable[[httpx.Response], str | None]
RetryAfter = Callable[[httpx.Response], float | None]
Classify = Callable[[httpx.Response, str], NetworkError | None]

log = logging.getLogger(__name__)


class _StripQueryStrings(logging.Filter):
    """Drop query strings from the URLs httpx logs ("HTTP Request: GET https://...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None, fragment=None) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _StripQueryStrings) for f in logger.filters):
        logger.addFilter(_StripQueryStrings())


_install_log_filter()


def where(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path`` of a URL: never its query, which may carry a token."""
    parsed = httpx.URL(str(url))
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# -- Retry-After and rate-limit reset headers ---------------------------------------------


def wait_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds until ``value`` says to try again, never negative; None if it is unreadable.

    Every form networks send: delta seconds (``120``), epoch seconds
    (``1795000000``), an HTTP date (``Tue, 01 Dec 2026 10:00:30 GMT``) and
    ISO 8601 (``2026-12-01T10:05:00.123Z``). ``now`` is the clock moments are
    measured from (epoch seconds; default: this machine's).
    """
    text = (value or "").strip()
    if not text:
        return None
    clock = time.time() if now is None else now
    try:
        number = float(text)
    except ValueError:
        moment = _moment(text)
        return None if moment is None else max(0.0, moment - clock)
    if not math.isfinite(number):
        return None
    return max(0.0, number - clock if number > EPOCH_THRESHOLD else number)


def retry_after(
    headers: Mapping[str, Any], names: Iterable[str] = ("retry-after",)
) -> float | None:
    """Seconds to wait from the first header of ``names`` with a readable value.

    Header names are case-insensitive. The server's ``Date`` header is the clock
    for moments, so a skewed local clock does not matter.
    """
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    now = _moment(lower.get("date", "")) if lower.get("date") else None
    for name in names:
        wait = wait_seconds(lower.get(name.lower()), now)
        if wait is not None:
            return wait
    return None


def _moment(text: str) -> float | None:
    """Epoch seconds of an HTTP date or an ISO 8601 date-time (UTC when no zone is given)."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


# -- private addresses ----------------------------------------------------------------------


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local and other non-public addresses (names resolved)."""
    try:
        addresses = {ipaddress.ip_address(host.strip("[]"))}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False  # unresolvable: the request itself will fail as Transient
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return any(not a.is_global or a.is_multicast for a in addresses)


# -- the one path -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How long and how much one request may take, redirects and body included."""

    timeout: float = 10.0  # each connect, write, read and pool wait
    deadline: float | None = None  # the whole request; default DEADLINE_FACTOR × timeout
    max_bytes: int = 10_000_000  # decoded body bytes, counted as they arrive; 0: status only
    max_redirects: int = 10
    max_ratio: float = 100.0  # decompressed bytes per byte received (past RATIO_FLOOR)

    @property
    def total(self) -> float:
        return self.deadline if self.deadline is not None else DEADLINE_FACTOR * self.timeout


@dataclass(frozen=True)
class Fault:
    """Why a request got no answer to read, before it becomes one of our errors."""

    kind: type[NetworkError]  # the error it maps onto
    reason: str  # a few words for reports: "timed out", "connection failed"...
    detail: str  # the same for an error message, with numbers
    target: str  # "GET https://host/path", never the query

    def error(self, network: str) -> NetworkError:
        return self.kind(network, f"{self.target}: {self.detail}")


class _Refused(Exception):
    """A hop or a body broke a limit or the policy; carries the fault."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        super().__init__(fault.detail)


def _refuse(kind: type[NetworkError], reason: str, detail: str, target: str) -> NoReturn:
    raise _Refused(Fault(kind, reason, detail, target))


def default_error_text(response: httpx.Response) -> str | None:
    """The error text of common JSON shapes, else the start of a text body."""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return " ".join(text.split())[:120] or None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message") or error.get("error_description")
        parts = [str(p) for p in (error, body.get("error_description"), body.get("message")) if p]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return None


class HttpSession:
    """An httpx client under :class:`Limits` and a policy, with our error mapping.

    :meth:`fetch` answers a response of any status, or a :class:`Fault` when
    there is none to read; :meth:`request` answers only a 2xx response and
    raises our error for anything else. ``error_text`` extracts the service's
    own error message from a response, ``retry_after`` reads its rate-limit
    headers (``Retry-After`` and then ``default_retry_after`` are the
    fall-backs), and ``classify`` may map a response to an error from its body
    before the status-code rules apply (Facebook says "rate limited" with HTTP
    400 and a code in the JSON). ``refuse_private`` refuses every hop to a
    private address unless its host is in ``trusted_hosts``.
    """

    def __init__(
        self,
        network: str,
        *,
        limits: Limits | None = None,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        error_text: ErrorText | None = None,
        retry_after: RetryAfter | None = None,
        default_retry_after: float | None = None,
        classify: Classify | None = None,
        secrets: Iterable[str] = (),
        refuse_private: bool = False,
        trusted_hosts: Collection[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.network = network
        self.limits = limits or Limits()
        self.error_text = error_text or default_error_text
        self.retry_after = retry_after
        self.default_retry_after = default_retry_after
        self.classify = classify
        self.secrets = [s for s in secrets if s]
        self.refuse_private = refuse_private
        self.trusted_hosts = {h.lower() for h in trusted_hosts}
        self.client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(self.limits.timeout),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=False,  # followed hop by hop in _send
            transport=transport,
        )

    @property
    def timeout(self) -> float:
        return self.limits.timeout

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------
    def request(
        self, method: str, url: str, *, follow_redirects: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send a request; a 2xx response comes back, anything else is raised as our error."""
        answer = self.fetch(method, url, follow_redirects=follow_redirects, **kwargs)
        if isinstance(answer, Fault):
            raise answer.error(self.network) from None
        if answer.is_success:
            return answer
        raise self.error_for(answer)

    def fetch(
        self,
        method: str,
        url: str,
        *,
        follow_redirects: bool = False,
        truncate: bool = False,
        **kwargs: Any,
    ) -> httpx.Response | Fault:
        """The response (any status, body read) or the fault that left none to read.

        With ``truncate`` a body over ``max_bytes`` is cut there (a page whose
        start is enough) instead of refused. ``kwargs`` go to httpx's
        ``build_request`` (``params``, ``headers``, ``data``, ``json``...).
        """
        started = time.monotonic()
        try:
            request = self.client.build_request(method, url, **kwargs)
        except httpx.InvalidURL:
            return Fault(NetworkError, "invalid URL", "not sent", f"{method} (invalid URL)")
        target = f"{method} {where(request.url)}"
        log.debug("%s: %s", self.network, target)
        try:
            return self._send(request, target, started, follow_redirects, truncate)
        except _Refused as refused:
            return refused.fault
        except httpx.HTTPError as exc:  # a bad redirect Location is one too
            return self._fault(exc, target)

    def _send(
        self, request: httpx.Request, target: str, started: float, follow: bool, truncate: bool
    ) -> httpx.Response:
        """Follow redirects hop by hop under the policy and the deadline, then read the body."""
        history: list[httpx.Response] = []
        while True:
            self._check_host(request, target)
            remaining = self._remaining(started, target)
            # No single read may outlive the whole request's deadline.
            hop_timeout = httpx.Timeout(min(self.limits.timeout, remaining))
            request.extensions = {**request.extensions, "timeout": hop_timeout.as_dict()}
            response = self.client.send(request, stream=True, follow_redirects=False)
            if not (follow and response.next_request is not None):
                break
            response.close()
            history.append(response)
            if len(history) > self.limits.max_redirects:
                _refuse(NetworkError, TOO_MANY_REDIRECTS, "redirected too many times", target)
            request = response.next_request
        try:
            if response.is_success:
                body = self._read(response, self.limits.max_bytes, truncate, started, target)
            else:  # only the error text matters
                body = self._read(response, ERROR_BODY_BYTES, True, started, target)
        finally:
            response.close()
        # The body is decoded now: its encoding and length headers no longer describe it.
        headers = [h for h in response.headers.multi_items() if h[0].lower() not in DROP_HEADERS]
        extensions = {k: v for k, v in response.extensions.items() if k in KEEP_EXTENSIONS}
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=response.request,
            history=history,
            extensions=extensions,
        )

    def _read(
        self, response: httpx.Response, limit: int, truncate: bool, started: float, target: str
    ) -> bytes:
        """The body, counted as it arrives: the size cap, the ratio cap and the deadline."""
        if limit <= 0:
            return b""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            if size + len(chunk) > limit:
                if truncate:
                    chunks.append(chunk[: limit - size])
                    break
                detail = f"answered with more than {limit:,} bytes"
                _refuse(NetworkError, f"larger than {limit} bytes", detail, target)
            size += len(chunk)
            chunks.append(chunk)
            received = max(1, response.num_bytes_downloaded)
            if size > RATIO_FLOOR and size > self.limits.max_ratio * received:
                detail = f"decompresses more than {self.limits.max_ratio:g}-fold"
                _refuse(NetworkError, "decompresses too far", detail, target)
            self._remaining(started, target)
        return b"".join(chunks)

    def _remaining(self, started: float, target: str) -> float:
        left = self.limits.total - (time.monotonic() - started)
        if left <= 0:
            _refuse(Transient, TIMED_OUT, f"took longer than {self.limits.total:g} s", target)
        return left

    def _check_host(self, request: httpx.Request, target: str) -> None:
        """The private-address policy, before every hop (redirects included).

        A name is resolved here and again when connecting: pinning the checked
        address (against DNS rebinding) belongs here too.
        """
        host = request.url.host.lower()
        if self.refuse_private and host not in self.trusted_hosts and is_private_host(host):
            reason = f"{host} is a private address"
            _refuse(Unsupported, reason, f"refused: {reason}", target)

    def _fault(self, exc: httpx.HTTPError, target: str) -> Fault:
        """The one mapping of httpx's exceptions."""
        name = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return Fault(Transient, TIMED_OUT, f"timed out after {self.timeout:g} s", target)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return Fault(NetworkError, "not an http(s) URL", "is not an http(s) URL", target)
        if isinstance(exc, httpx.TransportError):
            reason = "connection failed" if isinstance(exc, httpx.ConnectError) else name
            detail = redact(str(exc), self.secrets)[:MAX_MESSAGE]
            return Fault(Transient, reason, f"failed: {name} {detail}".rstrip(), target)
        return Fault(NetworkError, name, f"failed: {name}", target)  # e.g. a DecodingError

    # -- reading answers ----------------------------------------------------------------
    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        return self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise Transient(
                self.network, f"{where(response.request.url)} answered with something not JSON"
            ) from None

    def error_for(self, response: httpx.Response) -> NetworkError:
        """Our error for a non-2xx response."""
        status = response.status_code
        text = redact(self.error_text(response) or response.reason_phrase, self.secrets)
        message = f"{response.request.method} {where(response.request.url)} answered {status}: "
        message += text[:MAX_MESSAGE]
        if self.classify is not None:
            mapped = self.classify(response, message)
            if mapped is not None:
                return mapped
        if status == 429:
            return RateLimited(self.network, message, self.seconds_to_wait(response))
        if status in (401, 403):
            return AuthFailed(self.network, message)
        if status in (404, 410):
            return NotFound(self.network, message)
        if status == 408 or status >= 500:
            return Transient(self.network, message)
        return NetworkError(self.network, message)

    def seconds_to_wait(self, response: httpx.Response) -> float | None:
        """Retry time: the network's own headers, else Retry-After, else the default."""
        found = self.retry_after(response) if self.retry_after else None
        if found is None:
            found = retry_after(response.headers)
        return self.default_retry_after if found is None else found


def json_or_none(text: str) -> Any:
    """Parse JSON from a header value, or None."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines between paragraphs, single newlines as <br>."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p
    )


def int_option(network: str, options: Mapping[str, Any], key: str, default: int) -> int:
    """A positive integer option, or ConfigError naming it."""
    value = options.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ConfigError(f"ENGAGE_NETWORKS[{network!r}][{key!r}] must be a positive integer")
    return number
