"""Every error pelican-engage raises on purpose.

One hierarchy for the whole package, so the command line can turn any of
them into a single sentence and an exit code::

    EngageError                  anything the user can cause or fix
    ├── ConfigError              a bad ENGAGE_* setting or missing credential
    ├── MetadataError            a post's metadata is malformed (names file and key)
    ├── StoreError               the state database is unusable (corrupt, too new, locked)
    ├── SourceError              a post's Source text could not be obtained
    └── NetworkError             a remote network refused or failed (names the network)
        ├── RateLimited          slow down; ``retry_after`` seconds until the window resets
        ├── Duplicate            the network says this exact post exists already
        ├── NotFound             the remote item is gone (deleted, or never existed)
        ├── AuthFailed           credentials missing, wrong or revoked
        ├── Unsupported          this network cannot do that (e.g. reply to a webmention)
        ├── BudgetExceeded       a configured spending guard stops the call
        └── Transient            5xx, timeout, connection error: try again later

Messages never contain credentials: adapters build them from status codes and
the network's own error text, never from request headers.
"""

from __future__ import annotations


class EngageError(Exception):
    """Base class: a problem explained in one sentence."""


class ConfigError(EngageError):
    """A setting or an environment credential is missing or malformed."""


class MetadataError(EngageError):
    """A post's metadata is malformed."""

    def __init__(self, source_path: str, key: str, problem: str) -> None:
        self.source_path = source_path
        self.key = key
        self.problem = problem
        super().__init__(f"{source_path}: metadata {key!r} {problem}.")

    @property
    def problem_sentence(self) -> str:
        """The problem without the file name, for a report that already names the post."""
        return f"metadata {self.key!r} {self.problem}"


class StoreError(EngageError):
    """The state database cannot be used as it is."""


class SourceError(EngageError):
    """The text of a post's Source could not be obtained."""


class NetworkError(EngageError):
    """A network call failed; ``network`` names the network."""

    retryable = False

    def __init__(self, network: str, message: str) -> None:
        self.network = network
        super().__init__(f"{network}: {message}")


class RateLimited(NetworkError):
    retryable = True

    def __init__(self, network: str, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(network, message)


class Duplicate(NetworkError):
    """The network refused the post as a duplicate: it may already be there."""


class NotFound(NetworkError):
    """The remote item does not exist (any more)."""


class AuthFailed(NetworkError):
    """Credentials are missing, wrong or revoked."""


class Unsupported(NetworkError):
    """The network cannot do what was asked."""


class BudgetExceeded(NetworkError):
    """A spending guard refuses the call until the next day."""


class Transient(NetworkError):
    """A temporary failure (5xx, timeout, connection refused)."""

    retryable = True
