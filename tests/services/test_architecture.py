"""The package graph: no import cycle, and each layer imports only layers below it.

Built with grimp (import-linter's graph library) from the real source; imports under
`if TYPE_CHECKING:` do not count, they are never executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

# Highest first. A layer may import any layer below it, never one above.
LAYERS = (
    "cli",
    "api",
    "worker",
    "web",
    "history",
    "answering",
    "retrieval",
    "container",
    "sources",
    "ingestion",
    "access",  # who may read what: read by ingestion, sources and retrieval; needs only components and auth
    "components",
    "auth",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("confluence_rag", exclude_type_checking_imports=True)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each node that is on one (depth-first, in sorted order)."""

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path and (found := cycle_from(start, [*path, nxt])):
                return found
        return None

    return [c for p in sorted(edges) if (c := cycle_from(p, [p]))]


def test_no_import_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if _package(module) != _package(imported):
                edges.setdefault(_package(module), set()).add(_package(imported))
    assert edges, "the graph is empty: grimp did not find the package"
    assert not _cycles(edges), f"import cycles: {_cycles(edges)}"


def test_no_import_cycle_between_modules_of_a_package(graph: grimp.ImportGraph) -> None:
    """Within a package too, e.g. sources/confluence.py ↔ access/confluence.py once were one circle
    (an import inside a function counts: it runs as soon as the function does)."""
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if _package(module) == _package(imported) and imported != _package(module):
                edges.setdefault(module, set()).add(imported)
    assert edges, "the graph is empty: grimp did not find the package"
    assert not _cycles(edges), f"import cycles: {_cycles(edges)}"


def test_every_package_has_a_layer(graph: grimp.ImportGraph) -> None:
    packages = {_package(m) for m in graph.modules if graph.find_children(m) and m != "confluence_rag"}
    assert packages, "the graph is empty: grimp did not find the package"
    unplaced = sorted(p.split(".")[1] for p in packages if p.split(".")[1] not in LAYERS)
    assert not unplaced, f"packages missing from LAYERS: {unplaced}"


def test_layers_only_import_downwards(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS, containers={"confluence_rag"})
    described = sorted(f"{d.importer} -> {d.imported}: {[r.chains for r in d.routes]}" for d in illegal)
    assert not described, "\n".join(described)


def _names_settings(node: ast.expr) -> bool:
    """`settings` or `<anything>.settings`."""
    return (isinstance(node, ast.Name) and node.id == "settings") or (
        isinstance(node, ast.Attribute) and node.attr == "settings"
    )


def test_admin_token_is_checked_in_one_place() -> None:
    """`settings.admin_token` goes only into `AdminToken` (auth/authenticator.py, the one check), except
    where the query API forwards it to the worker's control API."""
    root = Path(__file__).parents[2] / "services" / "confluence_rag"
    forwarder = root / "api" / "routers" / "ingest.py"
    stray = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        handed_over = {
            id(arg)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "AdminToken"
            for arg in call.args
        }
        stray += [
            f"{path.relative_to(root)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr == "admin_token"
            and _names_settings(node.value)
            and id(node) not in handed_over
            and path != forwarder
        ]
    assert not stray, f"ADMIN_TOKEN read outside AdminToken: {stray}"
