"""The one place where httpx-based adapters build a client and turn HTTP failures into our errors.

Pitfalls this module exists for: tokens often travel in query strings
(webmention.io's ``token``, the ``access_token`` inside Graph API ``paging.next``
links), and httpx logs every request URL at INFO level, so error messages here
name only the scheme, host and path of a request, a filter strips query strings
from httpx's own log records, and known secrets are masked in any text taken
from a response body. No request may hang: every client carries a timeout, and
nothing here ever sleeps on a rate limit; the caller gets ``retry_after``.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .errors import AuthFailed, ConfigError, NetworkError, NotFound, RateLimited, Transient

USER_AGENT = "pelican-engage/0.1 (+https://github.com/pelican-engage)"
MAX_MESSAGE = 300

ErrorText = Callable[[httpx.Response], str | None]
RetryAfter = Callable[[httpx.Response], float | None]
Classify = Callable[[httpx.Response, str], NetworkError | None]
RequestHook = Callable[[httpx.Request], None]

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


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


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
    """An httpx client for one network, with our error mapping.

    ``error_text`` extracts the network's own error message from a response,
    ``retry_after`` reads the network's rate-limit headers (``Retry-After`` and
    then ``default_retry_after`` are the fall-backs), and ``classify`` may map a
    response to an error from its body before the status-code rules apply
    (Facebook says "rate limited" with HTTP 400 and a code in the JSON).
    """

    def __init__(
        self,
        network: str,
        *,
        timeout: float,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        error_text: ErrorText | None = None,
        retry_after: RetryAfter | None = None,
        default_retry_after: float | None = None,
        classify: Classify | None = None,
        secrets: Iterable[str] = (),
        max_redirects: int = 10,
        on_request: RequestHook | None = None,
    ) -> None:
        self.network = network
        self.timeout = timeout
        self.error_text = error_text or default_error_text
        self.retry_after = retry_after
        self.default_retry_after = default_retry_after
        self.classify = classify
        self.secrets = [s for s in secrets if s]
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [on_request] if on_request else []}
        self.client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            max_redirects=max_redirects,
            event_hooks=hooks,
        )

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request; a 2xx response comes back, anything else is raised as our error."""
        target = self._describe(method, url)
        log.debug("%s: %s", self.network, target)
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise Transient(self.network, f"{target} timed out after {self.timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise NetworkError(self.network, f"{target} redirected too many times") from None
        except httpx.TransportError as exc:
            detail = redact(str(exc), self.secrets)[:MAX_MESSAGE]
            raise Transient(
                self.network, f"{target} failed: {type(exc).__name__} {detail}".rstrip()
            ) from None
        except httpx.InvalidURL:
            raise NetworkError(self.network, f"{target}: invalid URL") from None
        if response.is_success:
            return response
        raise self.error_for(response)

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
            found = retry_after_header(response)
        return self.default_retry_after if found is None else found

    def _describe(self, method: str, url: str) -> str:
        try:
            full = self.client.build_request(method, url).url
        except (httpx.InvalidURL, TypeError, ValueError):
            return f"{method} (invalid URL)"
        return f"{method} {where(full)}"


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
