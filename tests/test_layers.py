"""labelwf's modules import one another without a cycle, type-only imports included.

The layers themselves (a shell above the factory, the store below the engine, …) are import-linter's
contracts in ``pyproject.toml`` (``lint-imports``, run by ``./run test``); this test keeps the
stricter rule that no two modules depend on each other, even through ``if TYPE_CHECKING:`` or an
import inside a function, which grimp's graph counts like any other import.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _described(graph: grimp.ImportGraph, component: list[str]) -> str:
    """One cycle through the component, written as a chain of imports."""
    first = component[0]
    back = min(
        (graph.find_shortest_chain(importer=other, imported=first) or () for other in component[1:]),
        key=len,
    )
    there = graph.find_shortest_chain(importer=first, imported=back[0]) if back else None
    return " -> ".join([*(there or (first,)), *back[1:]])


def test_no_module_of_labelwf_imports_itself_through_others_even_for_types_only():
    # Given the import graph of labelwf, with imports under TYPE_CHECKING and inside functions
    graph = grimp.build_graph("labelwf", include_external_packages=False, cache_dir=None)
    # When its strongly connected components are found
    cycles = _cycles(graph)
    # Then none holds more than one module
    assert not cycles, "import cycles: " + "; ".join(_described(graph, c) for c in cycles)


def test_the_cycle_finder_names_a_cycle_it_is_given():
    # Given a small graph with one cycle of three modules beside an acyclic import
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    # When its cycles are found, Then the three are named in one chain
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert _described(graph, ["p.a", "p.b", "p.c"]) == "p.a -> p.b -> p.c -> p.a"
