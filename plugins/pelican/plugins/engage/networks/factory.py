"""Build configured adapters from the registry's declarations (commands only, never the gate)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .base import Adapter, AdapterContext, UsageMeter
from .registry import spec


def adapter_class(name: str) -> type[Adapter]:
    module_name, _, class_name = spec(name).adapter.partition(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    cls: type[Adapter] = getattr(module, class_name)
    return cls


def build_adapter(name: str, options: Mapping[str, Any], ctx: AdapterContext) -> Adapter:
    """The adapter for ``name`` configured with its ENGAGE_NETWORKS options."""
    return adapter_class(name)(options, ctx)


def build_adapters(
    networks: Mapping[str, Mapping[str, Any]],
    *,
    state_dir: Path,
    meter: UsageMeter | None = None,
    names: Iterable[str] | None = None,
    site_dir: Path | None = None,
) -> dict[str, Adapter]:
    """One adapter per configured network (or the subset ``names``).

    Credentials come from the environment only; ``meter`` (the store, in the
    commands) counts billable calls per UTC day; ``site_dir`` is where
    relative ``file:`` URLs (a ``Comments_Feed``) point.
    """
    ctx = AdapterContext(env=dict(os.environ), state_dir=state_dir, site_dir=site_dir)
    if meter is not None:
        ctx.meter = meter
    wanted = list(networks) if names is None else list(dict.fromkeys(names))
    return {name: build_adapter(name, networks[name], ctx) for name in wanted}
