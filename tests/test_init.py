"""`engage init` on a site laid out by pelican-quickstart (issue 12).

The quickstart files are rendered from Pelican's own templates, the way
``pelican-quickstart`` renders them, so the test edits what a newcomer has.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pelican
import pytest
from click.testing import CliRunner
from conftest import REPO
from jinja2 import Environment, FileSystemLoader
from sitebuilder import TAKE, write_post

from pelican.plugins.engage.cli import cli
from pelican.plugins.engage.cli.init import add_engage, engage_tasks
from pelican.plugins.engage.networks.registry import NETWORKS

TEMPLATES = Path(pelican.__file__).parent / "tools" / "templates"
QUICKSTART = {  # pelican-quickstart's answers: automation yes, no upload method
    "sitename": "A fresh blog",
    "author": "Jo Doe",
    "lang": "en",
    "siteurl": "https://fresh.example",
    "timezone": "Europe/Paris",
    "default_pagination": 10,
    "github_pages_branch": "gh-pages",
    "ssh_host": "localhost",
    "ssh_port": 22,
    "ssh_user": "root",
    "ssh_target_dir": "/var/www",
}


def quickstart(root: Path) -> Path:
    """pelicanconf.py, publishconf.py, tasks.py and content/ as pelican-quickstart writes them."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), trim_blocks=True, keep_trailing_newline=True
    )
    root.mkdir(parents=True, exist_ok=True)
    as_python = {k: repr(v) for k, v in QUICKSTART.items()}  # pelicanconf gets repr()s
    for name, values in (
        ("pelicanconf.py", as_python),
        ("publishconf.py", QUICKSTART),
        ("tasks.py", QUICKSTART),
    ):
        (root / name).write_text(env.get_template(f"{name}.jinja2").render(**values), "utf-8")
    (root / "content").mkdir()
    write_post(root / "content", "first-post", f"## My take\n\n{TAKE}", Date="2026-01-05 10:00")
    return root / "pelicanconf.py"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "blog"
    quickstart(root)
    monkeypatch.chdir(root)
    return root


def engage(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def snapshot(root: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(root.glob("*.py"))}


def test_dry_run_prints_the_diffs_and_writes_nothing(site: Path) -> None:
    before = snapshot(site)
    result = engage("init", "--dry-run")
    assert result.exit_code == 0, result.output
    assert snapshot(site) == before
    assert "--- a/pelicanconf.py\n+++ b/pelicanconf.py\n" in result.output
    assert '+PLUGINS = ["engage"]\n' in result.output
    assert "--- a/tasks.py\n+++ b/tasks.py\n" in result.output
    assert "+# --- engage" in result.output
    assert "a/publishconf.py" not in result.output  # it inherits PLUGINS from pelicanconf.py
    assert "Dry run: pelicanconf.py, tasks.py left as they are." in result.output


def test_init_writes_what_the_dry_run_showed_and_only_once(site: Path) -> None:
    shown = engage("init", "--dry-run").output
    result = engage("init")
    assert result.exit_code == 0, result.output
    assert result.output.replace("Wrote pelicanconf.py, tasks.py.", "") == shown.replace(
        "Dry run: pelicanconf.py, tasks.py left as they are.", ""
    )
    after = snapshot(site)
    assert after["pelicanconf.py"].endswith('PLUGINS = ["engage"]\n')
    again = engage("init")
    assert again.exit_code == 0 and "Nothing to change." in again.output
    assert "---" not in again.output.split("Next,")[0]
    assert snapshot(site) == after


def test_the_tasks_are_added_beside_the_quickstart_ones(site: Path) -> None:
    before = (site / "tasks.py").read_text(encoding="utf-8")
    result = engage("init")
    assert "the engage one is added as `invoke engage-publish`" in result.output
    text = (site / "tasks.py").read_text(encoding="utf-8")
    assert text.startswith(before.rstrip("\n"))  # nothing of theirs changed
    defined = [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    assert len(defined) == len(set(defined)), "a function defined twice"
    for name in ("check", "plan", "sync", "inbox", "reply", "stats", "draft", "engage_run"):
        assert name in defined
    assert "publish" in defined and "engage_publish" in defined  # theirs (rsync) stays
    assert 'def publish(c):\n    """Publish to production via rsync"""' in text


def test_the_site_builds_with_the_plugin_after_init(site: Path) -> None:
    engage("init")
    result = engage("check", "--json")
    assert result.exit_code == 0, result.output  # the plugin ran, or check says it did not
    report = json.loads(result.stdout)
    assert report["summary"] == {"candidates": 1, "eligible": 1}
    assert report["articles"][0]["source_path"] == "content/first-post.md"


def test_every_network_is_explained_from_the_registry(site: Path) -> None:
    output = engage("init", "--dry-run").output.split("Next,", 1)[1]
    for name, spec in NETWORKS.items():
        line = next(ln for ln in output.splitlines() if ln.strip().startswith(f'"{name}"'))
        assert spec.label in line
        for variable in spec.credentials:
            assert f"{variable}=" in line
        if not spec.credentials:
            assert "no credentials" in line


def test_settings_it_cannot_edit_get_one_sentence_and_exit_2(site: Path) -> None:
    conf = site / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8") + '\nPLUGINS = [p for p in ("sitemap",)]\n', "utf-8"
    )
    before = conf.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: pelicanconf.py builds PLUGINS in a way engage init cannot edit safely; "
        'add "engage" to PLUGINS there by hand'
    )
    assert conf.read_text(encoding="utf-8") == before
    assert "# --- engage" in (site / "tasks.py").read_text(encoding="utf-8")  # shown, then done


def test_a_dynamic_plugins_that_lists_engage_needs_nothing(site: Path) -> None:
    conf = site / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8") + '\nPLUGINS = [p for p in ("engage",)]\n', "utf-8"
    )
    result = engage("init", "--dry-run")
    assert result.exit_code == 0
    assert "pelicanconf.py already lists the engage plugin." in result.output


def test_a_publishconf_with_its_own_plugins_is_edited_too(site: Path) -> None:
    publish = site / "publishconf.py"
    publish.write_text(publish.read_text(encoding="utf-8") + '\nPLUGINS = ["sitemap"]\n', "utf-8")
    engage("init")
    assert 'PLUGINS = ["sitemap", "engage"]\n' in publish.read_text(encoding="utf-8")


def test_outside_a_site_it_says_where_to_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 2
    assert "run engage init in your Pelican site's folder" in result.stderr


def test_a_tasks_py_that_is_not_quickstarts_is_left_alone(site: Path) -> None:
    (site / "tasks.py").write_text("from invoke import task\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 2
    assert "tasks.py is not a Pelican quickstart tasks.py (it has no CONFIG)" in result.stderr
    assert (site / "tasks.py").read_text(encoding="utf-8") == "from invoke import task\n"
    assert 'PLUGINS = ["engage"]' in (site / "pelicanconf.py").read_text(encoding="utf-8")


def test_the_packaged_tasks_are_this_repositorys() -> None:
    text = (REPO / "tasks.py").read_text(encoding="utf-8")
    assert engage_tasks() == text[text.index("# --- engage") :]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('PLUGINS = ["sitemap"]\n', 'PLUGINS = ["sitemap", "engage"]\n'),
        ("PLUGINS = []\n", 'PLUGINS = ["engage"]\n'),
        ("PLUGINS = ()\n", 'PLUGINS = ("engage",)\n'),
        ("PLUGINS = ('a',)\n", "PLUGINS = ('a', \"engage\",)\n"),
        ("PLUGINS: list = ['a']\n", "PLUGINS: list = ['a', \"engage\"]\n"),
        ('T = "é"; PLUGINS = ["a"]  # ça\n', 'T = "é"; PLUGINS = ["a", "engage"]  # ça\n'),
        (
            'PLUGINS = [\n    "sitemap",\n    "neighbors",  # links\n]\nX = 1\n',
            'PLUGINS = [\n    "sitemap",\n    "neighbors",  # links\n    "engage",\n]\nX = 1\n',
        ),
        (
            'PLUGINS = [\n    "sitemap"\n]\n',
            'PLUGINS = [\n    "sitemap",\n    "engage",\n]\n',
        ),
        ('PLUGINS = [\n    "a",\n    "b"]\n', 'PLUGINS = [\n    "a",\n    "b", "engage"]\n'),
    ],
)
def test_a_written_out_plugins_gets_engage_appended(before: str, after: str) -> None:
    assert add_engage(before) == after
    ast.parse(after)


@pytest.mark.parametrize(
    "text",
    [
        "PLUGINS = [p for p in ALL]\n",
        "PLUGINS = BASE + ['a']\n",
        "PLUGINS = ['a']\nPLUGINS += ['b']\n",
        "PLUGINS = ['a']\nPLUGINS.append('b')\n",
        "PLUGINS = ['a']\nPLUGINS = ['b']\n",
        "if DEBUG:\n    PLUGINS = ['a']\n",
        "PLUGINS = OTHER = ['a']\n",
        "PLUGINS, X = ['a'], 1\n",
    ],
)
def test_plugins_built_any_other_way_is_not_touched(text: str) -> None:
    assert add_engage(text) is None


def test_a_settings_file_that_fails_to_run_is_one_sentence(site: Path) -> None:
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nimport no_such_module\n", "utf-8")
    result = CliRunner().invoke(cli, ["init", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: pelicanconf.py could not be read (")
    assert "Traceback" not in result.output
