"""Where a request may connect, and until when: the private-address policy, the pinned
connection and the request's deadline, below httpx (an httpcore network backend).

A host name is resolved once, every address it resolves to is checked, and
the connection goes to the checked address (the Host header and the TLS
server name stay the original host's), so DNS rebinding gets nothing from a
second answer. Every connect, handshake, read and write is given at most the
time left before the deadline of the request in progress on this thread
(:data:`DEADLINE`, set by :class:`~.HttpSession`).
"""

from __future__ import annotations

import contextvars
import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import httpcore
import httpx

PRIVATE_ADDRESS = "private address"
# Options a network's ENGAGE_NETWORKS entry may carry (settings.py fills them in).
ALLOW_PRIVATE_OPTION = "allow_private_addresses"
TRUSTED_HOSTS_OPTION = "trusted_hosts"
ANY_HOST = "*"  # in trusted_hosts: every host may be private (a LAN deployment)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: IPv4 in the last 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d, and :: and ::1


def is_private_address(address: IPAddress) -> bool:
    """Whether a connection to ``address`` could reach inside a network.

    Loopback, private, link-local, shared (100.64/10), unspecified, reserved
    and multicast addresses, and the IPv6 forms that carry such an IPv4
    address (NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-mapped, Teredo).
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.teredo:
            embedded = address.teredo[1]
        if embedded is not None and is_private_address(embedded):
            return True
        if address in NAT64_LOCAL or address in IPV4_COMPATIBLE:
            return True
    return not address.is_global or address.is_multicast or address.is_reserved


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local and other non-public addresses (names resolved)."""
    literal = literal_address(host)
    if literal is not None:
        return is_private_address(literal)
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the request itself will fail as Transient
    return any(
        is_private_address(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos
    )


def stranger_policy(options: Mapping[str, Any]) -> dict[str, Any]:
    """``refuse_private`` and ``trusted_hosts`` for a session that follows strangers' URLs,
    from a network's options: ``allow_private_addresses`` (set from
    ENGAGE_ALLOW_PRIVATE_ADDRESSES; the older ``allow_private`` is read too) and
    ``trusted_hosts`` (the hosts of the configured base URLs)."""
    allowed = options.get(ALLOW_PRIVATE_OPTION, options.get("allow_private", False))
    trusted = options.get(TRUSTED_HOSTS_OPTION) or ()
    hosts = {str(h).lower() for h in ([trusted] if isinstance(trusted, str) else trusted)}
    return {"refuse_private": not allowed, "trusted_hosts": hosts}


# -- the deadline and the pinned connection ---------------------------------------------------

# When the request in progress on this thread must be over (time.monotonic()), if any.
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "engage_http_deadline", default=None
)


class PrivateAddress(Exception):
    """A host resolved to an address the policy refuses; raised before connecting."""

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address
        super().__init__(f"{host} is a {PRIVATE_ADDRESS} ({address})")


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout``, shortened to what is left of the request's deadline."""
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


def _connect(address: tuple[Any, ...], family: int, timeout: float | None) -> socket.socket:
    """A TCP connection to exactly ``address`` (already resolved and checked)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation ends by the request's deadline."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._sock.settimeout(_left(timeout, httpcore.ReadTimeout))
        try:
            return self._sock.recv(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        while buffer:
            self._sock.settimeout(_left(timeout, httpcore.WriteTimeout))
            try:
                sent = self._sock.send(buffer)
            except TimeoutError:
                raise httpcore.WriteTimeout("timed out") from None
            except OSError as exc:
                raise httpcore.WriteError(str(exc)) from None
            buffer = buffer[sent:]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """TLS to the original host name (SNI and certificate), over the pinned address."""
        self._sock.settimeout(_left(timeout, httpcore.ConnectTimeout))
        try:
            wrapped = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except TimeoutError:
            self._sock.close()
            raise httpcore.ConnectTimeout("timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self._sock.close()
            raise httpcore.ConnectError(str(exc)) from None
        return _Stream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]  # what httpcore reads
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


def _readable(sock: socket.socket) -> bool:
    """Whether a pooled idle connection has something to read (it was closed, then)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class _Backend(httpcore.NetworkBackend):
    """Resolves each host once, checks the addresses, connects to the checked one."""

    def __init__(self, refuse_private: bool, trusted_hosts: Collection[str]) -> None:
        self.refuse_private = refuse_private
        self.trusted_hosts = trusted_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} cannot be resolved: {exc}") from None
        checked = self.refuse_private and not is_trusted(host, self.trusted_hosts)
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if checked and is_private_address(address):
                raise PrivateAddress(host, str(address))
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for family, _, _, _, sockaddr in infos:
            try:
                sock = _connect(sockaddr, family, _left(timeout, httpcore.ConnectTimeout))
            except TimeoutError:
                failure = httpcore.ConnectTimeout("timed out")
                continue
            except OSError as exc:
                failure = httpcore.ConnectError(str(exc))
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
            return _Stream(sock)
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - never configured
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore retries only
        time.sleep(seconds)


def is_trusted(host: str, trusted_hosts: Collection[str]) -> bool:
    return ANY_HOST in trusted_hosts or host.lower().strip("[]") in trusted_hosts


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport over :class:`_Backend` (no environment proxies)."""

    def __init__(self, refuse_private: bool, trusted_hosts: Collection[str]) -> None:
        # Not HTTPTransport.__init__: it would build a pool (and an SSL context) of its own.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_Backend(refuse_private, trusted_hosts),
        )
