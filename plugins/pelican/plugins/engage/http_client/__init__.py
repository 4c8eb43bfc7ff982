"""The one path for every outbound HTTP request outside the network SDKs.

Sources, feeds, the post-deploy URL check, avatars, webmentions and the Graph
API all go through :class:`HttpSession`. It sets the user agent, the timeouts
(per operation, and a total deadline for the request, redirects and body
included), the body size and decompression-ratio caps (counted as data
arrives), the redirects (followed here hop by hop, so every hop passes the same
checks), the private-address policy, and the mapping of failures onto
:mod:`errors`. Tests hand it an ``httpx.BaseTransport`` (``httpx.MockTransport``).

Everything a server sends is a stranger's, so every bound holds against the
worst server, not a slow one:

* **One deadline per request.** Every connect, TLS handshake, write and read
  (the status line and headers too) is given at most the time left before
  the request's deadline: a server dripping a byte a second cannot hold a
  command, only use up its deadline.
* **Sizes counted after decoding, before buffering.** The body is read raw
  and decompressed here (gzip, deflate, zstd; at most MAX_ENCODINGS layers)
  a piece at a time, each piece at most DECODE_STEP bytes, so a 9 KB zstd
  bomb is refused once ``max_bytes`` or ``max_ratio`` is crossed, never
  inflated in memory first. A zstd window is capped at MAX_ZSTD_WINDOW.
* **The address checked is the address connected.** With ``refuse_private``,
  a host name is resolved once, *every* address it resolves to must be
  public (not loopback, private, link-local, shared, multicast, reserved,
  nor the NAT64, 6to4 or IPv4-mapped form of one), and the connection goes
  to that address; the Host header and the TLS server name stay the
  original host's. DNS rebinding gets nothing from a second answer, because
  there is no second question. ``trusted_hosts`` names hosts the user
  configured (a network's ``base_url``), which may be anywhere; ``"*"``
  trusts every host (ENGAGE_ALLOW_PRIVATE_ADDRESSES, for a LAN deployment).
  Environment proxies are not used: through a proxy, the address connected
  would not be ours to check. Name resolution itself has no timeout of its
  own (the system resolver's applies).

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
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import httpx

from ..errors import (
    AuthFailed,
    ConfigError,
    NetworkError,
    NotFound,
    RateLimited,
    Transient,
    Unsupported,
)
from .addresses import (
    ALLOW_PRIVATE_OPTION,
    ANY_HOST,
    DEADLINE,
    PRIVATE_ADDRESS,
    TRUSTED_HOSTS_OPTION,
    PinnedTransport,
    PrivateAddress,
    is_private_address,
    is_private_host,
    is_trusted,
    literal_address,
    stranger_policy,
)
from .closing import Closing
from .decoding import DECODE_STEP, MAX_ENCODINGS, Raw, decoder
from .retry import EPOCH_THRESHOLD, retry_after, wait_seconds

__all__ = [
    "ALLOW_PRIVATE_OPTION",
    "ANY_HOST",
    "EPOCH_THRESHOLD",
    "PRIVATE_ADDRESS",
    "TIMED_OUT",
    "TOO_MANY_REDIRECTS",
    "TRUSTED_HOSTS_OPTION",
    "USER_AGENT",
    "Closing",
    "Fault",
    "HttpSession",
    "Limits",
    "default_error_text",
    "int_option",
    "is_private_address",
    "is_private_host",
    "json_or_none",
    "redact",
    "retry_after",
    "stranger_policy",
    "text_to_html",
    "wait_seconds",
    "where",
]

USER_AGENT = "pelican-engage/0.1 (+https://github.com/pelican-engage)"
MAX_MESSAGE = 300
ERROR_BODY_BYTES = 64 * 1024  # enough for any error text; the rest of an error page is dropped
DEADLINE_FACTOR = 3.0  # default total deadline, in multiples of the per-operation timeout
RATIO_FLOOR = 1024 * 1024  # bodies smaller than this are never refused for their ratio
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


class HttpSession(Closing):
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
            transport=transport or PinnedTransport(refuse_private, self.trusted_hosts),
        )

    @property
    def timeout(self) -> float:
        return self.limits.timeout

    def close(self) -> None:
        self.client.close()

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
        deadline = DEADLINE.set(started + self.limits.total)
        try:
            return self._send(request, target, started, follow_redirects, truncate)
        except _Refused as refused:
            return refused.fault
        except PrivateAddress as exc:
            reason = f"{exc.host} is a {PRIVATE_ADDRESS}"
            return Fault(Unsupported, reason, f"refused: {reason} ({exc.address})", target)
        except httpx.HTTPError as exc:  # a bad redirect Location is one too
            return self._fault(exc, target, started)
        finally:
            DEADLINE.reset(deadline)

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
        """The body, decoded here a piece at a time and counted before it is kept: the
        size cap, the ratio cap and the deadline."""
        if limit <= 0:
            return b""
        # The raw stream itself, not iter_raw(): a test's in-memory answer has been decoded
        # by httpx already, but its stream still holds the bytes as they were sent.
        raw = Raw(iter(cast(httpx.SyncByteStream, response.stream)))
        decoded = decoder(response.headers.get("content-encoding", ""), raw)
        if decoded is None:
            detail = f"is encoded more than {MAX_ENCODINGS} times over"
            _refuse(NetworkError, "encoded too many times", detail, target)
        chunks: list[bytes] = []
        size = 0
        while chunk := decoded.read(min(DECODE_STEP, limit - size + 1)):
            if size + len(chunk) > limit:
                if truncate:
                    chunks.append(chunk[: limit - size])
                    break
                detail = f"answered with more than {limit:,} bytes"
                _refuse(NetworkError, f"larger than {limit} bytes", detail, target)
            size += len(chunk)
            chunks.append(chunk)
            if size > RATIO_FLOOR and size > self.limits.max_ratio * max(1, raw.received):
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
        """The private-address policy for an address written in the URL, before every hop
        (redirects included). Names are checked where they are resolved, once, by the
        connection itself (:class:`_Backend`), which connects to the address it checked."""
        host = request.url.host.lower()
        if not self.refuse_private or is_trusted(host, self.trusted_hosts):
            return
        literal = literal_address(host)
        if literal is not None and is_private_address(literal):
            reason = f"{host} is a {PRIVATE_ADDRESS}"
            _refuse(Unsupported, reason, f"refused: {reason}", target)

    def _fault(self, exc: httpx.HTTPError, target: str, started: float | None = None) -> Fault:
        """The one mapping of httpx's exceptions."""
        name = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            total = self.limits.total
            if started is not None and time.monotonic() - started >= total - 0.05:
                return Fault(Transient, TIMED_OUT, f"took longer than {total:g} s", target)
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
