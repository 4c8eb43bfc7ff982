"""Build the configured network adapters for a command (never for the build)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .networks import build_adapter
from .networks.base import Adapter, AdapterContext
from .settings import EngageSettings
from .store import Store


def adapter_context(settings: EngageSettings, store: Store | None = None) -> AdapterContext:
    """Credentials from the environment, the daily meter in the store, secrets outside it."""
    ctx = AdapterContext(env=dict(os.environ), state_dir=settings.state_dir)
    if store is not None:
        ctx.meter = store
    return ctx


def adapters_for(
    settings: EngageSettings,
    store: Store | None = None,
    names: Mapping[str, object] | None = None,
) -> dict[str, Adapter]:
    """One adapter per network in ENGAGE_NETWORKS (or the subset ``names``)."""
    ctx = adapter_context(settings, store)
    wanted = settings.networks if names is None else {n: settings.networks[n] for n in names}
    return {name: build_adapter(name, options, ctx) for name, options in wanted.items()}
