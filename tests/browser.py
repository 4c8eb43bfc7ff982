"""Headless Chromium for the browser tests: where it is, when to skip, how it starts.

Chromium resolves no names and sends every non-loopback request to a dead proxy:
nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Tests never rewrite tracked files: screenshots go to build/ (ignored by git);
# `make screenshots` copies them into docs/ for the README.
SCREENSHOTS = REPO / "build" / "screenshots"
# CI sets ENGAGE_REQUIRE_BROWSER=1: there a missing Chromium fails these tests, never skips.
BROWSER_REQUIRED = os.environ.get("ENGAGE_REQUIRE_BROWSER") == "1"

browser_present = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not BROWSER_REQUIRED,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)
# The marks of a test that drives Chromium (a module's ``pytestmark``).
BROWSER_TEST = [pytest.mark.browser, browser_present]

# How every test starts Chromium: headless, quiet, with no network of its own.
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
DEAD_PROXY = "--proxy-server=http://127.0.0.1:9"  # every http(s) request goes nowhere


def chromium(url: str, tmp: Path, *args: str) -> str:
    """Run headless Chromium on ``url``; returns what it printed (the DOM with --dump-dom)."""
    command = [
        CHROMIUM,
        *HEADLESS,
        f"--user-data-dir={tmp / 'chromium-profile'}",
        # Nothing may leave the machine: no names resolve, every http(s) request hits a dead proxy.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        DEAD_PROXY,
        "--virtual-time-budget=3000",  # let timers and load events run
        *args,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
