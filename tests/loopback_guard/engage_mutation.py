"""A mutation of the product, applied only inside test subprocesses: no crash recovery.

``sitecustomize`` imports this module when ``ENGAGE_MUTATION`` is set (``make
mutation`` sets ``ENGAGE_MUTATION=no-recovery``); nothing in the product knows
about it. An import hook patches each engage module as it is loaded, so what
exactly-once rests on is gone from the child process:

- ``Syndicator._recover`` (syndication/runner.py) never finds the earlier attempt;
- every adapter's ``find_published`` answers "not found", which also blinds the
  pre-send lookup of ``answering/answers.py`` and the look-before-failing paths;
- Mastodon's ``Idempotency-Key`` and Bluesky's deterministic record key are made
  unique per attempt, so the server cannot recognise a retry either.

The crash tests must then fail on every network and for every command.
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.machinery
import secrets
import sys
import time
from types import ModuleType
from typing import Any

PACKAGE = "pelican.plugins.engage"
MUTATIONS = ("no-recovery",)


def _not_found(self: Any, *args: Any, **kwargs: Any) -> None:
    return None


def _never_recovered(self: Any, *args: Any, **kwargs: Any) -> bool:
    return False


def _fresh_record_key(created_at: Any, idempotency_key: str) -> str:
    """A valid TID that differs on every call (now, plus a random clock id)."""
    # Only the key's derivation is taken away; the TID encoding stays the product's.
    from pelican.plugins.engage.networks.bluesky_records import encode_tid

    return encode_tid((time.time_ns() // 1000) << 10 | secrets.randbelow(1024))


def _unique_key_publish(original: Any) -> Any:
    def publish(self: Any, post: Any) -> Any:
        fresh = f"{post.idempotency_key}-{secrets.token_hex(6)}"
        return original(self, dataclasses.replace(post, idempotency_key=fresh))

    return publish


def patch(module: ModuleType) -> None:
    """Remove the recovery from ``module`` (an engage module just executed)."""
    name = module.__name__
    if name.endswith(".syndication.runner"):
        module.Syndicator._recover = _never_recovered
    if ".networks." not in name:
        return
    for obj in list(vars(module).values()):
        if not isinstance(obj, type) or obj.__module__ != name:
            continue
        if "find_published" in vars(obj):
            obj.find_published = _not_found  # type: ignore[attr-defined]
        if obj.__name__ == "MastodonAdapter" and "publish" in vars(obj):
            obj.publish = _unique_key_publish(vars(obj)["publish"])  # type: ignore[attr-defined]
    if ".networks.bluesky" in name and callable(getattr(module, "record_key", None)):
        module.record_key = _fresh_record_key  # type: ignore[attr-defined]


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self.inner, "create_module", None)
        return create(spec) if create else None

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        patch(module)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


class _PatchingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not fullname.startswith(PACKAGE + "."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader)
        return spec


def install(mutation: str) -> None:
    if mutation not in MUTATIONS:
        raise SystemExit(f"ENGAGE_MUTATION={mutation!r}: known mutations are {MUTATIONS}")
    for name, module in list(sys.modules.items()):  # already imported (normally none)
        if name.startswith(PACKAGE + "."):
            patch(module)
    sys.meta_path.insert(0, _PatchingFinder())
