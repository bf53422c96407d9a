"""The package graph: no import cycle, and each layer imports only layers below it.

Built with grimp (import-linter's graph library) from the real source; imports under
`if TYPE_CHECKING:` do not count, they are never executed.
"""

from __future__ import annotations

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
    "components",
    "auth",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("confluence_rag", exclude_type_checking_imports=True)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if _package(module) != _package(imported):
                edges.setdefault(_package(module), set()).add(_package(imported))
    assert edges, "the graph is empty: grimp did not find the package"

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path and (found := cycle_from(start, [*path, nxt])):
                return found
        return None

    cycles = [c for p in sorted(edges) if (c := cycle_from(p, [p]))]
    assert not cycles, f"import cycles: {cycles}"


def test_layers_only_import_downwards(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS, containers={"confluence_rag"})
    described = sorted(f"{d.importer} -> {d.imported}: {[r.chains for r in d.routes]}" for d in illegal)
    assert not described, "\n".join(described)
