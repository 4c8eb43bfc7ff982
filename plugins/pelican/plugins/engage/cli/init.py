"""`engage init`: add pelican-engage to an existing Pelican site (quickstart layout).

It edits only what it can edit safely and show first as a unified diff: a
``PLUGINS`` list or tuple written out in pelicanconf.py (or publishconf.py, if
that sets its own), and tasks.py, which gets the engage invoke tasks once.
Settings built any other way (a comprehension, ``+=``, an import) are left
alone with one sentence saying what to add by hand. The settings are parsed
with :mod:`ast`, never rewritten from it, so the user's formatting and
comments stay as they were.
"""

from __future__ import annotations

import ast
import difflib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import click

from .. import site
from ..networks.registry import NETWORKS
from ..plugin import PLUGIN_NAMES
from .common import UserError, settings_option

TASKS_MARKER = "# --- engage"
# What the engage tasks use from a quickstart tasks.py.
TASKS_NEEDS = ("CONFIG", "task")


@dataclass
class Change:
    """A file as it is and as init would leave it."""

    path: Path
    old: str
    new: str

    def diff(self, root: Path) -> str:
        path = self.path.resolve()
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        return "".join(
            difflib.unified_diff(
                self.old.splitlines(keepends=True),
                self.new.splitlines(keepends=True),
                fromfile=f"a/{name}" if self.old else "/dev/null",
                tofile=f"b/{name}",
            )
        )


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things done or left as they were
    problems: list[str] = field(default_factory=list)  # one sentence each: do this by hand


# -- PLUGINS ----------------------------------------------------------------------------


def lists_engage(plugins: Any) -> bool:
    return any(getattr(p, "__name__", p) in PLUGIN_NAMES for p in plugins or ())


def _char_index(lines: Sequence[str], lineno: int, col: int) -> int:
    """The index in the whole text of an ast position (``col`` counts UTF-8 bytes)."""
    before = sum(len(line) for line in lines[: lineno - 1])
    return before + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8"))


def _plugins_nodes(tree: ast.Module) -> tuple[list[ast.stmt], bool]:
    """Top-level assignments to PLUGINS, and whether the file touches it any other way."""
    assigned: list[ast.stmt] = []
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "PLUGINS" for t in targets):
            assigned.append(node)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "PLUGINS"]
    other = len(names) != len(assigned) or any(
        len(getattr(node, "targets", [None])) != 1 for node in assigned
    )
    return assigned, other


def add_engage(text: str) -> str | None:
    """``text`` with "engage" appended to its one literal PLUGINS list or tuple.

    None when PLUGINS is built some other way, so a person has to do it.
    """
    tree = ast.parse(text)
    assigned, other = _plugins_nodes(tree)
    if other or len(assigned) != 1:
        return None
    value = getattr(assigned[0], "value", None)
    if not isinstance(value, ast.List | ast.Tuple) or value.end_lineno is None:
        return None
    lines = io.StringIO(text, newline="").readlines()  # split where Python's tokenizer does
    end = _char_index(lines, value.end_lineno, value.end_col_offset or 0)
    if not value.elts:
        start = _char_index(lines, value.lineno, value.col_offset)
        empty = '["engage"]' if isinstance(value, ast.List) else '("engage",)'
        return text[:start] + empty + text[end:]
    last = value.elts[-1]
    assert last.end_lineno is not None and last.end_col_offset is not None
    after_last = _char_index(lines, last.end_lineno, last.end_col_offset)
    if last.end_lineno == value.end_lineno:  # the closing bracket follows the last item
        return text[:after_last] + ', "engage"' + text[after_last:]
    # One item per line: a new line in the same style, before the closing bracket's line.
    tail = lines[last.end_lineno - 1].encode("utf-8")[last.end_col_offset :].decode("utf-8")
    comma = "" if tail.split("#", 1)[0].strip().startswith(",") else ","
    first_line = lines[last.lineno - 1]
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    closing_line = _char_index(lines, value.end_lineno, 0)
    new = text[:after_last] + comma + text[after_last:closing_line]
    return new + f'{indent}"engage",\n' + text[closing_line:]


def _settings_change(path: Path, loaded: Mapping[str, Any], *, create: bool) -> Change | str | None:
    """The edit of one settings file; a sentence when it cannot be made; None: nothing to do."""
    if lists_engage(loaded.get("PLUGINS")):
        return None
    text = path.read_text(encoding="utf-8")
    try:
        assigned, other = _plugins_nodes(ast.parse(text))
    except SyntaxError as exc:
        return f"{path.name} does not parse (line {exc.lineno}); fix it, then run engage init again"
    if not assigned and not other:
        if not create:
            return None  # publishconf.py takes PLUGINS from pelicanconf.py, which gets it
        if loaded.get("PLUGINS"):
            return (
                f"{path.name} gets PLUGINS from somewhere else (an import); "
                'add "engage" to that list by hand'
            )
        block = "\n# pelican-engage: cross-post only what you have something to say about.\n"
        return Change(path, text, text.rstrip("\n") + "\n" + block + 'PLUGINS = ["engage"]\n')
    new = add_engage(text)
    if new is None:
        return (
            f"{path.name} builds PLUGINS in a way engage init cannot edit safely; "
            'add "engage" to PLUGINS there by hand'
        )
    return Change(path, text, new)


def _auto_loaded(loaded: Mapping[str, Any]) -> list[str]:
    """Namespace plugins Pelican loads today only because PLUGINS is not set."""
    if loaded.get("PLUGINS") is not None:
        return []
    try:
        from pelican.plugins._utils import get_namespace_plugins
    except ImportError:  # a private helper of Pelican's: without it, no note
        return []
    return sorted(
        n.removeprefix("pelican.plugins.") for n in get_namespace_plugins() if n not in PLUGIN_NAMES
    )


# -- tasks.py ---------------------------------------------------------------------------


def engage_tasks() -> str:
    """The engage section of this project's tasks.py, as shipped with the package."""
    return resources.files(__package__).joinpath("tasks_engage.txt").read_text(encoding="utf-8")


def _defined(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def tasks_change(path: Path, outcome: Outcome) -> Change | None:
    """Append the engage tasks to ``path``, once, without redefining what it has."""
    text = path.read_text(encoding="utf-8")
    if TASKS_MARKER in text:
        outcome.notes.append(f"{path.name} already has the engage tasks.")
        return None
    try:
        have = _defined(ast.parse(text))
    except SyntaxError as exc:
        outcome.problems.append(
            f"{path.name} does not parse (line {exc.lineno}); copy the engage tasks by hand"
        )
        return None
    missing = [name for name in TASKS_NEEDS if name not in have]
    if missing:
        outcome.problems.append(
            f"{path.name} is not a Pelican quickstart tasks.py (it has no {missing[0]}); "
            "copy the engage tasks from the pelican-engage README by hand"
        )
        return None
    section = engage_tasks()
    lines = section.splitlines(keepends=True)
    renamed = []
    for node in reversed(ast.parse(section).body):
        if not isinstance(node, ast.FunctionDef) or node.name not in have:
            continue
        new_name = f"engage_{node.name}"
        if node.decorator_list and new_name not in have:
            # A task of the same name (quickstart's rsync `publish`): theirs stays as it is.
            line = lines[node.lineno - 1]
            lines[node.lineno - 1] = line.replace(f"def {node.name}(", f"def {new_name}(", 1)
            renamed.append(node.name)
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        end = node.end_lineno or node.lineno
        while end < len(lines) and not lines[end].strip():
            end += 1
        del lines[start:end]  # a helper it has already (pelican_run)
    for name in reversed(renamed):
        outcome.notes.append(
            f"{path.name} already has a `{name}` task, which stays as it is; the engage one "
            f"is added as `invoke engage-{name.replace('_', '-')}`."
        )
    head = "" if "shlex" in have else "import shlex  # used by the engage tasks\n\n"
    new = text.rstrip("\n") + "\n\n\n" + lines[0] + head + "".join(lines[1:])
    return Change(path, text, new.rstrip("\n") + "\n")


# -- the command --------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    """The settings ``path`` defines, as Pelican reads them (the file is run)."""
    try:
        return site.load_settings(path)
    except Exception as exc:  # noqa: BLE001  # the user's Python: anything can go wrong
        raise UserError(f"{path.name} could not be read ({type(exc).__name__}: {exc})") from None


def plan_changes(settings_file: Path) -> Outcome:
    root = settings_file.resolve().parent
    outcome = Outcome()
    loaded = _load(settings_file)
    files = [(settings_file, loaded, True)]
    publish = root / "publishconf.py"
    if publish.is_file() and publish.resolve() != settings_file.resolve():
        files.append((publish, _load(publish), False))
    for path, values, create in files:
        change = _settings_change(path, values, create=create)
        if isinstance(change, Change):
            outcome.changes.append(change)
        elif isinstance(change, str):
            outcome.problems.append(change)
        elif create:
            outcome.notes.append(f"{path.name} already lists the engage plugin.")
    others = _auto_loaded(loaded)
    if others and any(c.path == settings_file for c in outcome.changes):
        outcome.notes.append(
            "PLUGINS was not set, so Pelican loaded every installed plugin; from now on it "
            f"loads only the listed ones: add {', '.join(repr(o) for o in others)} if you use "
            + ("it." if len(others) == 1 else "them.")
        )
    tasks = root / "tasks.py"
    if tasks.is_file():
        change = tasks_change(tasks, outcome)
        if change is not None:
            outcome.changes.append(change)
    return outcome


def network_steps() -> list[str]:
    """What to do per network, from the registry (names, labels, credentials)."""
    names = {name: f'"{name}"' for name in NETWORKS}
    width = max(map(len, names.values()))
    rows = []
    for name, spec in NETWORKS.items():
        if spec.read_only:
            role = f"reads comments from {spec.label}"
        else:
            role = f"cross-posts to {spec.label} and reads the replies"
        if spec.credentials:
            needs = "export " + " ".join(f"{c}=…" for c in spec.credentials)
        else:
            needs = "no credentials"
        rows.append(f"  {names[name]:<{width}}  {role}; {needs}")
    return rows


@click.command()
@settings_option()
@click.option("--dry-run", is_flag=True, help="Print the changes as diffs and write nothing.")
def init(settings_file: Path, dry_run: bool) -> None:
    """Add pelican-engage to an existing Pelican site (quickstart layout).

    Adds "engage" to PLUGINS in pelicanconf.py (and in publishconf.py if it
    sets its own), copies the engage invoke tasks into tasks.py when there is
    one, and prints what to set up for each network. Every change is printed
    as a unified diff first; running it again changes nothing. Exits 2 when a
    settings file builds PLUGINS in a way it cannot edit safely.

    Example:

    \b
        engage init --dry-run
        engage init --dry-run | patch -p1
        engage init
    """
    if not settings_file.is_file():
        raise UserError(
            f"{settings_file} does not exist; run engage init in your Pelican site's folder "
            "(or name its settings file with -s)"
        )
    root = settings_file.resolve().parent
    outcome = plan_changes(settings_file)
    for change in outcome.changes:
        click.echo(change.diff(root), nl=False)
    for note in outcome.notes:
        click.echo(note)
    names = ", ".join(c.path.name for c in outcome.changes)
    if not outcome.changes:
        click.echo("Nothing to change.")
    elif dry_run:
        click.echo(f"Dry run: {names} left as they are.")
    else:
        for change in outcome.changes:
            change.path.write_text(change.new, encoding="utf-8")
        click.echo(f"Wrote {names}.")
    click.echo(
        "\nNext, for each network you want: add it to ENGAGE_NETWORKS in publishconf.py "
        "(options: the README's “Configuring each network”) and put its credentials in the "
        "environment, never in a settings file:"
    )
    for row in network_steps():
        click.echo(row)
    click.echo(
        "\nThen run `engage check` (what will be cross-posted, and why not) and "
        "`engage publish --dry-run`."
    )
    if outcome.problems:
        raise UserError("; ".join(outcome.problems))
