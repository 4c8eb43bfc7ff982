"""The ENGAGE_* settings, read and checked in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .gate import DEFAULT_HEADINGS, GateSettings
from .metadata import NETWORK_NAMES

# Set by the `engage` command to the folder of the settings file it was given,
# so relative paths resolve beside pelicanconf.py as documented.
BASE_DIR_KEY = "ENGAGE_BASE_DIR"


@dataclass(frozen=True)
class EngageSettings:
    base_dir: Path
    db_path: Path
    gate: GateSettings
    networks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    strict: bool = False
    deploy: str | None = None
    show_gate: bool = False
    source_timeout: float = 10.0
    site_url: str = ""
    timezone: str = "UTC"

    @classmethod
    def from_pelican(cls, settings: Mapping[str, Any]) -> EngageSettings:
        base_dir = _base_dir(settings)
        db = Path(str(settings.get("ENGAGE_DB") or "engage.sqlite3")).expanduser()
        headings = settings.get("ENGAGE_COMMENTARY_HEADINGS", DEFAULT_HEADINGS)
        if isinstance(headings, str) or not all(isinstance(h, str) for h in headings):
            raise ConfigError("ENGAGE_COMMENTARY_HEADINGS must be a list of heading texts")
        gate = GateSettings(
            headings=tuple(headings),
            min_words=_number(settings, "ENGAGE_MIN_COMMENTARY_WORDS", 40, int, 1, 10_000),
            max_quoted_ratio=_number(settings, "ENGAGE_MAX_QUOTED_RATIO", 0.6, float, 0.0, 1.0),
            copy_threshold=_number(settings, "ENGAGE_COPY_THRESHOLD", 0.5, float, 0.01, 1.0),
            reuse_threshold=_number(settings, "ENGAGE_REUSE_THRESHOLD", 0.6, float, 0.01, 1.0),
        )
        networks = settings.get("ENGAGE_NETWORKS") or {}
        if not isinstance(networks, Mapping):
            raise ConfigError("ENGAGE_NETWORKS must be a dict of network name -> options dict")
        for name, options in networks.items():
            if name not in NETWORK_NAMES:
                raise ConfigError(
                    f"ENGAGE_NETWORKS names unknown network {name!r}; "
                    f"known networks are {', '.join(NETWORK_NAMES)}"
                )
            if not isinstance(options, Mapping):
                raise ConfigError(f"ENGAGE_NETWORKS[{name!r}] must be a dict of options")
        deploy = settings.get("ENGAGE_DEPLOY")
        return cls(
            base_dir=base_dir,
            db_path=db if db.is_absolute() else base_dir / db,
            gate=gate,
            networks={k: dict(v) for k, v in networks.items()},
            strict=bool(settings.get("ENGAGE_STRICT", False)),
            deploy=str(deploy) if deploy else None,
            show_gate=bool(settings.get("ENGAGE_SHOW_GATE", False)),
            source_timeout=_number(settings, "ENGAGE_SOURCE_TIMEOUT", 10.0, float, 0.1, 300.0),
            site_url=str(settings.get("SITEURL") or ""),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
        )


def _base_dir(settings: Mapping[str, Any]) -> Path:
    explicit = settings.get(BASE_DIR_KEY)
    if explicit:
        return Path(str(explicit))
    # Without the command line's hint, the content folder's parent is where a
    # quickstart site keeps pelicanconf.py.
    content = settings.get("PATH")
    return Path(str(content)).resolve().parent if content else Path.cwd()


def _number(
    settings: Mapping[str, Any], key: str, default: Any, kind: type, low: float, high: float
) -> Any:
    value = settings.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, not {value!r}")
    return number
