"""The house rules an import graph shows: no module of textal or ml_backend reaches itself again through its
imports, function-local ones included (grimp reads every import statement, not only the top-level ones)."""

from __future__ import annotations

import grimp


def import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan), each sorted; none in a graph without circles."""
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m) & graph.modules) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(root: str) -> None:
        work = [(root, iter(adjacency[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adjacency[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    circles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_back_counting_function_local_imports():
    graph = grimp.build_graph("textal", "ml_backend", cache_dir=None)
    assert import_circles(graph) == []


def test_the_circle_finder_sees_a_circle_made_by_a_function_local_import():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.learners", "pkg.review", "pkg.other"):
        graph.add_module(module)
    graph.add_import(importer="pkg.learners", imported="pkg.review", line_number=3, line_contents="import")
    graph.add_import(importer="pkg.review", imported="pkg.learners", line_number=40, line_contents="local import")
    graph.add_import(importer="pkg.other", imported="pkg.review", line_number=1, line_contents="import")
    assert import_circles(graph) == [["pkg.learners", "pkg.review"]]
