"""`engage sandbox`: six stand-ins until Ctrl-C, and the settings that point a site at them."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ENGAGE = str(Path(sys.executable).with_name("engage"))


def test_sandbox_prints_working_settings_and_stops_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    child = subprocess.Popen(
        [ENGAGE, "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "COLUMNS": "200", "NO_PROXY": "127.0.0.1"},
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for _ in range(500):  # the banner is a few dozen lines; a bound, not a clock
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "Press Ctrl-C to stop." in output, output
        block = output[output.index("ENGAGE_NETWORKS = ") + len("ENGAGE_NETWORKS = ") :]
        networks = ast.literal_eval(block[: block.index("\n}\n") + 2])
        assert set(networks) == {"mastodon", "bluesky", "x", "facebook", "webmention", "feed"}
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        token = exports["MASTODON_ACCESS_TOKEN"]
        answer = httpx.get(
            f"{networks['mastodon']['base_url']}/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert answer.status_code == 200 and answer.json()["username"]
    finally:
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=20)
    assert code == 0
