"""The stand-in machinery: routing, the request log and fault injection."""

from __future__ import annotations

import httpx
import pytest

from pelican.plugins.engage.sandbox.base import Request, Response, StandIn, route


class EchoStandIn(StandIn):
    network = "echo"
    timeout_seconds = 1.0

    @route("GET", r"/items/(?P<item_id>\w+)")
    def get_item(self, request: Request) -> Response:
        item = self.live(request.params["item_id"])
        if item is None:
            return self.error(404, "gone")
        return Response(200, {"id": item.id, "text": item.text})


def test_routes_log_and_conversation() -> None:
    with EchoStandIn() as s:
        post = s.add_post("author", "hello")
        reply = s.add_reply(post.id, "bob", "hi back")
        nested = s.add_reply(reply.id, "carol", "me too")
        assert [i.id for i in s.descendants(post.id)] == [reply.id, nested.id]
        assert nested.root_id == post.id
        r = httpx.get(f"{s.base_url}/items/{post.id}", headers={"X-Test": "1"})
        assert r.json() == {"id": post.id, "text": "hello"}
        assert s.calls("GET", r"^/items/")[0].headers["x-test"] == "1"
        s.delete(reply.id)
        assert httpx.get(f"{s.base_url}/items/{reply.id}").status_code == 404
        assert httpx.post(f"{s.base_url}/items/1").status_code == 405


def test_faults_are_served_in_order() -> None:
    with EchoStandIn() as s:
        post = s.add_post("author", "hello")
        s.fail_next(1, "429", retry_after=7)
        s.fail_next(1, "503")
        s.fail_next(1, "timeout")
        url = f"{s.base_url}/items/{post.id}"
        first = httpx.get(url)
        assert first.status_code == 429 and first.headers["retry-after"] == "7"
        assert httpx.get(url).status_code == 503
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=0.3)
        assert httpx.get(url).status_code == 200


def test_non_loopback_connections_are_refused() -> None:
    with pytest.raises(Exception, match=r"(?i)socket|host|resolve"):
        httpx.get("http://192.0.2.1/", timeout=1)
