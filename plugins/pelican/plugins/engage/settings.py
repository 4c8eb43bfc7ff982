"""The ENGAGE_* settings, read and checked in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .gate.rules import DEFAULT_HEADINGS, GateSettings
from .networks.registry import NAMES as NETWORK_NAMES

DURATION_RE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$", re.I)
AVATAR_MODES = ("initials", "cache", "hotlink")

# Set by the `engage` command to the folder of the settings file it was given,
# so relative paths resolve beside pelicanconf.py as documented.
BASE_DIR_KEY = "ENGAGE_BASE_DIR"


@dataclass(frozen=True)
class WatchSettings:
    """`engage watch` and its notifications to the author."""

    # Apprise URLs (mailto://, ntfy://, ...); ${NAME} is taken from the environment, so a
    # password or token need not be written in the settings file.
    notify: tuple[str, ...] = ()
    interval: float = 120.0  # seconds between cycles
    debounce: float = 30.0  # seconds to the next cycle after one that brought changes
    # Rebuild at the latest this long after the first change (default: one interval), so
    # a reply is on the page within two cycles even while a burst goes on.
    max_delay: float = 120.0


@dataclass(frozen=True)
class EngageSettings:
    base_dir: Path
    db_path: Path
    gate: GateSettings
    networks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    strict: bool = False
    deploy: str | None = None
    show_gate: bool = False
    # Themes that do not include engage/comments.html get the conversation on article pages.
    insert_conversation: bool = True
    source_timeout: float = 10.0
    site_url: str = ""
    timezone: str = "UTC"
    author: str = ""  # the site's AUTHOR: the name on answers sent from `engage reply`
    output_path: Path = Path("output")
    # Syndication: on the first publish to a network, posts older than this are not posted.
    first_run_max_age: timedelta = timedelta(days=14)
    # Backfeed: accounts (@user@host, handles) and domains whose comments never show.
    blocklist: tuple[str, ...] = ()
    avatars: str = "initials"  # initials | cache | hotlink
    sync_cutoff: timedelta = timedelta(days=90)  # older posts sync only on request
    # Answering: warn (or, with ENGAGE_STRICT, refuse to syndicate) while comments wait longer.
    answer_within: timedelta | None = None
    # Where network sessions (secrets) are kept: never the database or the site folder.
    state_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "pelican-engage")
    # Strangers' URLs may reach private addresses (a LAN deployment): off by default.
    allow_private_addresses: bool = False
    watch: WatchSettings = field(default_factory=WatchSettings)

    @property
    def trusted_hosts(self) -> frozenset[str]:
        """Hosts strangers' URLs may reach even when private: those of the configured
        base URLs (the user chose them), or every host with ENGAGE_ALLOW_PRIVATE_ADDRESSES."""
        hosts = {h for o in self.networks.values() if (h := _host(o.get("base_url")))}
        return frozenset(hosts | ({"*"} if self.allow_private_addresses else set()))

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
        blocklist = settings.get("ENGAGE_BLOCKLIST") or ()
        if isinstance(blocklist, str) or not all(isinstance(b, str) for b in blocklist):
            raise ConfigError("ENGAGE_BLOCKLIST must be a list of accounts and domains")
        avatars = str(settings.get("ENGAGE_AVATARS") or "initials")
        if avatars not in AVATAR_MODES:
            raise ConfigError(
                f"ENGAGE_AVATARS must be one of {', '.join(AVATAR_MODES)}, not {avatars!r}"
            )
        answer_within = settings.get("ENGAGE_ANSWER_WITHIN")
        state_dir = settings.get("ENGAGE_STATE_DIR")
        output = Path(str(settings.get("OUTPUT_PATH") or "output"))
        allow_private = bool(settings.get("ENGAGE_ALLOW_PRIVATE_ADDRESSES", False))
        return cls(
            base_dir=base_dir,
            db_path=db if db.is_absolute() else base_dir / db,
            gate=gate,
            networks=_with_address_policy(networks, allow_private),
            strict=bool(settings.get("ENGAGE_STRICT", False)),
            deploy=str(deploy) if deploy else None,
            show_gate=bool(settings.get("ENGAGE_SHOW_GATE", False)),
            insert_conversation=bool(settings.get("ENGAGE_INSERT_CONVERSATION", True)),
            source_timeout=_number(settings, "ENGAGE_SOURCE_TIMEOUT", 10.0, float, 0.1, 300.0),
            site_url=str(settings.get("SITEURL") or ""),
            timezone=str(settings.get("TIMEZONE") or "UTC"),
            author=str(settings.get("AUTHOR") or ""),
            output_path=output if output.is_absolute() else base_dir / output,
            first_run_max_age=duration(settings, "ENGAGE_FIRST_RUN_MAX_AGE", "14d"),
            blocklist=tuple(b.strip().lower() for b in blocklist if b.strip()),
            avatars=avatars,
            sync_cutoff=duration(settings, "ENGAGE_SYNC_CUTOFF", "90d"),
            answer_within=(
                duration(settings, "ENGAGE_ANSWER_WITHIN", None) if answer_within else None
            ),
            state_dir=Path(str(state_dir)).expanduser()
            if state_dir
            else Path.home() / ".cache" / "pelican-engage",
            allow_private_addresses=allow_private,
            watch=_watch_settings(settings),
        )


def _watch_settings(settings: Mapping[str, Any]) -> WatchSettings:
    notify = settings.get("ENGAGE_NOTIFY") or ()
    if isinstance(notify, str):
        notify = (notify,)
    if not all(isinstance(u, str) and "://" in u for u in notify):
        raise ConfigError("ENGAGE_NOTIFY must be a list of Apprise URLs such as ntfy://topic")
    interval = seconds(settings, "ENGAGE_WATCH_INTERVAL", 120.0, low=1.0)
    return WatchSettings(
        notify=tuple(notify),
        interval=interval,
        debounce=seconds(settings, "ENGAGE_WATCH_DEBOUNCE", 30.0, low=0.0),
        max_delay=seconds(settings, "ENGAGE_WATCH_MAX_DELAY", interval, low=0.0),
    )


def seconds(settings: Mapping[str, Any], key: str, default: float, *, low: float) -> float:
    """A number of seconds, or a duration such as "90s", "2m", "1h"."""
    value = settings.get(key, default)
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, timedelta):
            number = value.total_seconds()
        elif str(value).strip().lower().endswith("s") and str(value).strip()[:-1].isdigit():
            number = float(str(value).strip()[:-1])
        else:
            number = parse_duration(str(value)).total_seconds()
    except ValueError:
        raise ConfigError(
            f'{key} must be seconds or a duration such as "2m", not {value!r}'
        ) from None
    if number < low:
        raise ConfigError(f"{key} must be at least {low:g} seconds, not {value!r}")
    return number


def _host(url: object) -> str:
    try:
        return (urlsplit(str(url or "")).hostname or "").lower()
    except ValueError:
        return ""


def _with_address_policy(
    networks: Mapping[str, Mapping[str, Any]], allow_private: bool
) -> dict[str, dict[str, Any]]:
    """Each network's options, with the private-address policy its adapter applies to
    strangers' URLs (webmention endpoints, comment feeds): ``allow_private_addresses``
    (ENGAGE_ALLOW_PRIVATE_ADDRESSES unless the network sets its own) and
    ``trusted_hosts`` (the hosts of every configured base_url)."""
    trusted = sorted({h for o in networks.values() if (h := _host(o.get("base_url")))})
    return {
        name: {
            "allow_private_addresses": allow_private,
            "trusted_hosts": trusted,
            **dict(options),
        }
        for name, options in networks.items()
    }


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


def parse_duration(value: str) -> timedelta:
    """``"72h"``, ``"14d"``, ``"1d12h"``, ``"30m"`` as a timedelta; ValueError otherwise."""
    match = DURATION_RE.match(value)
    if not value.strip() or not match or not any(match.groups()):
        raise ValueError(value)
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def duration(settings: Mapping[str, Any], key: str, default: str | None) -> timedelta:
    value = settings.get(key) or default
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(str(value))
    except ValueError:
        raise ConfigError(
            f'{key} must be a duration such as "72h" or "14d", not {value!r}'
        ) from None
