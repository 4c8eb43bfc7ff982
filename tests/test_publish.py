"""`engage publish` and `invoke publish` with no network configured: build, report, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sitebuilder import TAKE, write_post, write_settings

from pelican.plugins.engage.cli import cli


def publish(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["publish", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_publish_without_networks_builds_reports_and_exits_zero(demo_site: Path) -> None:
    code, out, _ = publish()
    assert code == 0, out
    assert (demo_site / "output" / "index.html").exists()
    assert (demo_site / "output" / "back-to-plain-files.html").exists()
    assert "Commentary gate" in out
    assert "6 of 12 candidate posts will be cross-posted" in out, out[:3000]
    assert "No network is configured" in out


def test_strict_mode_fails_on_a_held_back_post(tmp_path: Path) -> None:
    conf = write_settings(tmp_path, ENGAGE_STRICT=True)
    write_post(tmp_path / "content", "short", "## My take\n\nToo short.")
    code, _, err = publish("-s", str(conf))
    assert code == 1
    assert "ENGAGE_STRICT is on and 1 candidate posts fail the gate" in err


def test_deploy_command_runs_after_the_build(tmp_path: Path) -> None:
    marker = tmp_path / "deployed"
    deploy = f"{sys.executable} -c \"open({str(marker)!r}, 'w').write('ok')\""
    conf = write_settings(tmp_path, ENGAGE_DEPLOY=deploy)
    write_post(tmp_path / "content", "good", f"## My take\n\n{TAKE}")
    code, _, _ = publish("-s", str(conf))
    assert code == 0 and marker.read_text() == "ok"
    marker.unlink()
    assert publish("-s", str(conf), "--dry-run")[0] == 0
    assert not marker.exists()  # a dry run deploys nothing


def test_failing_deploy_is_one_sentence(tmp_path: Path) -> None:
    conf = write_settings(tmp_path, ENGAGE_DEPLOY=f"{sys.executable} -c 'raise SystemExit(3)'")
    write_post(tmp_path / "content", "good", f"## My take\n\n{TAKE}")
    code, _, err = publish("-s", str(conf))
    assert code == 2
    assert err.strip() == "Error: the deploy command exited with 3; nothing was posted"


def test_invoke_publish_on_the_demo_site(demo_site: Path) -> None:
    """The task wiring itself: `invoke publish` as a blogger runs it."""
    invoke = Path(sys.executable).with_name("invoke")
    # The subprocess is outside pytest-socket: send its HTTP to a refusing loopback
    # proxy so the demo's unreachable Source is not even looked up in DNS.
    refuse = "http://127.0.0.1:9"
    env = {**os.environ, "COLUMNS": "120", "HTTP_PROXY": refuse, "HTTPS_PROXY": refuse}
    result = subprocess.run(
        [str(invoke), "publish"],
        check=False,
        cwd=demo_site,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No network is configured" in result.stdout
    assert (demo_site / "output" / "feeds-never-left.html").exists()
