"""The one HTTP path: limits, redirects, error mapping and every Retry-After form."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, cast

import httpx
import pytest
from local_http import drip, serving

from pelican.plugins.engage import errors
from pelican.plugins.engage.http_client import (
    TIMED_OUT,
    TOO_MANY_REDIRECTS,
    USER_AGENT,
    Fault,
    HttpSession,
    Limits,
    is_private_host,
    retry_after,
    wait_seconds,
)
from pelican.plugins.engage.syndication.runner import Syndicator

Handler = Callable[[httpx.Request], httpx.Response]
DATE = "Tue, 01 Dec 2026 10:00:00 GMT"  # the server's clock in the header tests
PUBLIC = "93.184.215.14"  # an IP literal, so no test resolves a name


def session(handler: Handler, **kwargs: Any) -> HttpSession:
    return HttpSession("test", transport=httpx.MockTransport(handler), **kwargs)


def answering(status: int, **kwargs: Any) -> HttpSession:
    return session(lambda request: httpx.Response(status, **kwargs))


# -- Retry-After and reset headers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),  # delta seconds
        (" 7.5 ", 7.5),
        ("-3", 0.0),  # never negative
        ("Tue, 01 Dec 2026 10:00:30 GMT", 30.0),  # an HTTP date
        ("Tuesday, 01-Dec-26 10:01:00 GMT", 60.0),  # RFC 850, which HTTP still allows
        ("1796119260", 60.0),  # epoch seconds (2026-12-01 10:01:00 UTC)
        ("2026-12-01T10:05:00.123456Z", 300.123456),  # ISO 8601
        ("2026-12-01T11:00:00+01:00", 0.0),  # ISO 8601 with an offset: 10:00 UTC
        ("2026-12-01T10:00:10", 10.0),  # no zone: UTC
        ("2020-01-01T00:00:00Z", 0.0),  # in the past
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_every_retry_after_form(value: str, expected: float | None) -> None:
    now = 1796119200.0  # 2026-12-01 10:00:00 UTC
    found = wait_seconds(value, now)
    assert found == (None if expected is None else pytest.approx(expected, abs=1e-3))


def test_headers_are_read_against_the_servers_clock() -> None:
    epoch = "1796119260"  # one minute after DATE, whatever this machine's clock says
    assert retry_after({"X-RateLimit-Reset": epoch, "Date": DATE}, ["x-ratelimit-reset"]) == 60
    assert retry_after({"retry-after": "Tue, 01 Dec 2026 10:00:30 GMT", "date": DATE}) == 30
    # Without a Date header, this machine's clock.
    soon = str(int(time.time()) + 90)
    assert 88 <= (retry_after({"ratelimit-reset": soon}, ["ratelimit-reset"]) or 0) <= 90


def test_the_first_readable_header_wins() -> None:
    headers = httpx.Headers({"X-RateLimit-Reset": "garbage", "Retry-After": "12", "Date": DATE})
    assert retry_after(headers, ["x-ratelimit-reset", "retry-after"]) == 12
    assert retry_after(headers, ["ratelimit-reset"]) is None
    assert retry_after({}) is None


# -- error mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, errors.NetworkError),
        (401, errors.AuthFailed),
        (403, errors.AuthFailed),
        (404, errors.NotFound),
        (410, errors.NotFound),
        (408, errors.Transient),
        (500, errors.Transient),
        (503, errors.Transient),
        (429, errors.RateLimited),
    ],
)
def test_status_codes_map_onto_our_errors(status: int, error: type[errors.NetworkError]) -> None:
    with (
        answering(status, json={"error": {"message": "the reason"}}) as http,
        pytest.raises(errors.NetworkError) as caught,
    ):
        http.request("GET", "https://api.example/x?token=sekrit")
    assert type(caught.value) is error and caught.value.network == "test"
    assert f"GET https://api.example/x answered {status}: the reason" in str(caught.value)
    assert "sekrit" not in str(caught.value)


def test_rate_limit_reads_retry_after_then_the_default() -> None:
    with (
        answering(429, headers={"Retry-After": "45"}) as http,
        pytest.raises(errors.RateLimited) as caught,
    ):
        http.request("GET", "https://api.example/x")
    assert caught.value.retry_after == 45.0
    bare = session(lambda request: httpx.Response(429), default_retry_after=60.0)
    with bare as http, pytest.raises(errors.RateLimited) as caught:
        http.request("GET", "https://api.example/x")
    assert caught.value.retry_after == 60.0


def test_secrets_from_a_response_body_are_masked() -> None:
    with answering(400, text="bad token tok-123 given") as http:
        http.secrets = ["tok-123"]
        with pytest.raises(errors.NetworkError, match=r"bad token \*\*\* given"):
            http.request("GET", "https://api.example/x")


@pytest.mark.parametrize(
    ("raised", "error", "reason"),
    [
        (httpx.ConnectError("refused"), errors.Transient, "connection failed"),
        (httpx.ReadTimeout("slow"), errors.Transient, TIMED_OUT),
        (httpx.RemoteProtocolError("bad"), errors.Transient, "RemoteProtocolError"),
        (httpx.UnsupportedProtocol("ftp"), errors.NetworkError, "not an http(s) URL"),
    ],
)
def test_transport_failures_map_onto_our_errors(
    raised: Exception, error: type[errors.NetworkError], reason: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise raised

    with session(fail, limits=Limits(timeout=0.5)) as http:
        fault = http.fetch("GET", "https://api.example/x?key=sekrit")
        assert isinstance(fault, Fault) and fault.reason == reason and fault.kind is error
        with pytest.raises(error) as caught:
            http.request("GET", "https://api.example/x?key=sekrit")
    assert str(caught.value).startswith("test: GET https://api.example/x: ")
    assert "sekrit" not in str(caught.value)
    if reason == TIMED_OUT:
        assert "timed out after 0.5 s" in str(caught.value)


def test_invalid_urls_are_faults_not_crashes() -> None:
    with answering(200) as http:
        fault = http.fetch("GET", "http://[::1/")
        assert isinstance(fault, Fault) and fault.kind is errors.NetworkError
        with pytest.raises(errors.NetworkError, match="invalid URL"):
            http.request("GET", "https://\x00/")


def test_user_agent_and_session_headers_go_out() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    with session(record, headers={"Accept": "application/json"}) as http:
        assert http.get_json("https://api.example/x") == {"ok": True}
    assert seen[0].headers["user-agent"] == USER_AGENT
    assert seen[0].headers["accept"] == "application/json"


def test_a_body_that_is_not_json_is_transient() -> None:
    with answering(200, text="<html>") as http, pytest.raises(errors.Transient, match="not JSON"):
        http.get_json("https://api.example/x")


# -- redirects -----------------------------------------------------------------------------------


def chain(hops: int, final: str = "https://b.example/end") -> Handler:
    """``/0`` redirects to ``/1`` ... ``/hops``, which redirects to ``final``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/end":
            return httpx.Response(200, text="arrived")
        step = int(request.url.path.strip("/"))
        target = final if step >= hops else f"/{step + 1}"
        return httpx.Response(302, headers={"Location": target})

    return handler


def test_redirects_are_followed_up_to_the_limit() -> None:
    with session(chain(2), limits=Limits(max_redirects=3)) as http:
        answer = http.request("GET", "https://a.example/0", follow_redirects=True)
    assert answer.text == "arrived" and str(answer.url) == "https://b.example/end"
    assert len(answer.history) == 3
    with session(chain(3), limits=Limits(max_redirects=3)) as http:
        fault = http.fetch("GET", "https://a.example/0", follow_redirects=True)
        assert isinstance(fault, Fault) and fault.reason == TOO_MANY_REDIRECTS
        with pytest.raises(errors.NetworkError, match="redirected too many times"):
            http.request("GET", "https://a.example/0", follow_redirects=True)


def test_a_redirect_not_followed_is_an_error_naming_it() -> None:
    with session(chain(1)) as http:
        with pytest.raises(errors.NetworkError, match="answered 302"):
            http.request("POST", "https://a.example/0")
        answer = http.fetch("GET", "https://a.example/0")
    assert isinstance(answer, httpx.Response) and answer.status_code == 302


def test_private_addresses_are_refused_on_every_hop() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url.host))
        if request.url.host == PUBLIC:
            return httpx.Response(301, headers={"Location": "http://10.0.0.7/admin"})
        return httpx.Response(200, text="inside")

    with session(handler, refuse_private=True) as http:
        with pytest.raises(errors.Unsupported, match=r"10\.0\.0\.7 is a private address"):
            http.request("GET", f"http://{PUBLIC}/", follow_redirects=True)
        fault = http.fetch("GET", "http://127.0.0.1:8000/")
        assert isinstance(fault, Fault) and fault.kind is errors.Unsupported
    assert sent == [PUBLIC]  # the private hop was never sent
    with session(handler, refuse_private=True, trusted_hosts={"10.0.0.7"}) as http:
        assert http.request("GET", f"http://{PUBLIC}/", follow_redirects=True).text == "inside"
    assert is_private_host("::1") and is_private_host("169.254.1.1")
    assert not is_private_host(PUBLIC)


# -- size and time --------------------------------------------------------------------------------


def test_the_size_cap_is_counted_as_data_arrives() -> None:
    sent = []

    def endless() -> Iterator[bytes]:
        for _ in range(10_000):
            sent.append(1)
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    with session(handler, limits=Limits(max_bytes=5000)) as http:
        with pytest.raises(errors.NetworkError, match="more than 5,000 bytes"):
            http.request("GET", "https://a.example/")
        assert len(sent) <= 6  # stopped reading, did not buffer all 10 MB first
        sent.clear()
        cut = http.fetch("GET", "https://a.example/", truncate=True)
        assert isinstance(cut, httpx.Response) and cut.content == b"x" * 5000
        assert len(sent) <= 6


def test_error_bodies_are_read_only_as_far_as_the_message_needs() -> None:
    with answering(500, content=b"E" * 1_000_000) as http, pytest.raises(errors.Transient):
        http.request("GET", "https://a.example/")


def test_compressed_bodies_are_decoded_and_bombs_refused() -> None:
    small = gzip.compress(b'{"fine": true}')
    bomb = gzip.compress(b"\0" * 5_000_000)
    bodies = {"/small": small, "/bomb": bomb}

    def handler(request: httpx.Request) -> httpx.Response:
        body = bodies[request.url.path]
        return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})

    with session(handler) as http:
        assert http.get_json("https://a.example/small") == {"fine": True}
        with pytest.raises(errors.NetworkError, match="decompresses more than 100-fold"):
            http.request("GET", "https://a.example/bomb")


@pytest.fixture
def slow_server() -> Iterator[str]:
    """127.0.0.1: ``/drip`` sends a byte every 0.1 s for 10 s; ``/stall`` never answers."""

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/stall":
                time.sleep(2)
                return
            if self.path == "/missing":
                self.send_error(404)
                return
            if self.path == "/moved":
                self.send_response(301)
                self.send_header("Location", "/ok")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            if self.path == "/ok":
                self.wfile.write(b"fine")
                return
            drip(self.wfile, b".")

        def log_message(self, *args: Any) -> None:
            return

    with serving(Drip) as url:
        yield url


def test_a_dripping_body_hits_the_total_deadline(slow_server: str) -> None:
    limits = Limits(timeout=0.5, deadline=0.8)  # every read is quick; the whole is not
    with HttpSession("test", limits=limits) as http:
        fault = http.fetch("GET", f"{slow_server}/drip")
    assert isinstance(fault, Fault) and fault.reason == TIMED_OUT and fault.kind is errors.Transient
    assert "took longer than 0.8 s" in str(fault.error("test"))


def test_a_silent_server_hits_the_read_timeout(slow_server: str) -> None:
    with (
        HttpSession("test", limits=Limits(timeout=0.3)) as http,
        pytest.raises(errors.Transient, match=r"timed out after 0\.3 s"),
    ):
        http.request("GET", f"{slow_server}/stall")


def test_the_url_check_after_a_deploy(slow_server: str) -> None:
    syndicator = Syndicator(cast(Any, None), {})
    assert syndicator._answers(f"{slow_server}/ok")
    assert syndicator._answers(f"{slow_server}/moved")  # a redirect to a page that answers
    assert not syndicator._answers(f"{slow_server}/missing")
    assert not syndicator._answers("http://127.0.0.1:9/refused")
    assert syndicator._answers(f"{slow_server}/drip")  # the first bytes are enough
