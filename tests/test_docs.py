"""The README and the help texts match the code: commands, networks, layout, discovery."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.networks import NETWORKS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGE = ROOT / "plugins" / "pelican" / "plugins" / "engage"


def _section(heading: str) -> str:
    """The README text under ``heading`` up to the next heading of the same level."""
    level = heading.split(" ", maxsplit=1)[0]
    start = README.index(heading + "\n")
    following = re.search(rf"^{level} ", README[start + len(heading) :], re.M)
    end = start + len(heading) + following.start() if following else len(README)
    return README[start:end]


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_in_the_readme_table(name: str) -> None:
    assert f"| `engage {name}" in _section("## Commands")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_help_examples_keep_their_line_breaks(name: str) -> None:
    """Click rewraps paragraphs; an Example block must come out line by line."""
    command = cli.commands[name]
    doc = command.help or ""
    if "Example:" not in doc:
        pytest.skip(f"{name} has no example")
    result = CliRunner().invoke(cli, [name, "--help"], terminal_width=200)
    assert result.exit_code == 0
    example = doc.split("Example:", 1)[1]
    for line in (ln.strip() for ln in example.splitlines()):
        if line.startswith("engage "):
            assert re.search(rf"^\s+{re.escape(line)}$", result.output, re.M), line


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_each_network_has_a_walkthrough_naming_its_credentials(name: str) -> None:
    spec = NETWORKS[name]
    config = _section("## Configuring each network")
    assert f'"{name}"' in config, f"no ENGAGE_NETWORKS example for {name}"
    for variable in spec.credentials:
        assert variable in config, f"{variable} is not documented"


def test_architecture_section_lists_every_subpackage() -> None:
    section = _section("## Architecture")
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert packages, "no subpackages found"
    for package in packages:
        assert f"  {package}/" in section, package


def test_the_package_stays_small_and_flat() -> None:
    """At most eight top-level modules; no module over 500 lines."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    for module in PACKAGE.rglob("*.py"):
        lines = module.read_text(encoding="utf-8").count("\n")
        assert lines <= 500, f"{module.relative_to(PACKAGE)} has {lines} lines"


def test_pelican_discovers_the_installed_plugin_the_standard_way() -> None:
    """No link into Pelican's folder: its namespace discovery finds this checkout."""
    from pelican.plugins._utils import get_namespace_plugins

    found = get_namespace_plugins()
    assert "pelican.plugins.engage" in found
    module_file = Path(found["pelican.plugins.engage"].__file__ or "").resolve()
    assert module_file == PACKAGE / "__init__.py"
