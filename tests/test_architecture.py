"""Import rules import-linter cannot state: nothing below the Pelican glue imports Pelican.

Our root package lives inside Pelican's namespace (``pelican.plugins.engage``), so
import-linter cannot forbid Pelican's own modules; grimp, the graph it is built on, can
still show every import, and this test reads it.
"""

from __future__ import annotations

import grimp
import pytest

ROOT = "pelican.plugins.engage"
# Only the Pelican glue and the command line may import Pelican.
MAY_IMPORT_PELICAN = (f"{ROOT}.plugin", f"{ROOT}.site", f"{ROOT}.cli")
MUST_NOT = (
    "networks",
    "gate",
    "store",
    "syndication",
    "backfeed",
    "answering",
    "sandbox",
    "settings",
    "http_client",
    "model",
    "errors",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(ROOT, include_external_packages=True, cache_dir=None)


def _pelican_imports(graph: grimp.ImportGraph, package: str) -> list[str]:
    modules = graph.find_descendants(package) | {package} if package in graph.modules else set()
    found = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.split(".")[0] == "pelican" and not imported.startswith(ROOT):
                found.append(f"{module} -> {imported}")
    return sorted(found)


@pytest.mark.parametrize("layer", MUST_NOT)
def test_layer_never_imports_pelican(graph: grimp.ImportGraph, layer: str) -> None:
    assert _pelican_imports(graph, f"{ROOT}.{layer}") == []


def test_the_check_sees_pelican_imports_where_they_are_allowed(graph: grimp.ImportGraph) -> None:
    """The rule has teeth: the glue's own Pelican imports are found by the same code."""
    seen = [line for glue in MAY_IMPORT_PELICAN for line in _pelican_imports(graph, glue)]
    assert any("pelican.plugins.signals" in line for line in seen), seen
