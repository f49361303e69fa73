"""The shape of the house, checked from the code's own imports: storage is the domain and knows nothing of Slack,
handlers never import the wiring, a listener never imports another feature's listeners, views are pure, and no
module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
# Files allowed past about 400 lines because each is one cohesive thing; say why when adding one.
LONG_BUT_COHESIVE = {
    "storage/prospect_csv/reader.py": "one streaming parser whose parts share the line-feeding protocol",
    "storage/models.py": "the whole schema, table by table, as the migrations build it (test_migrations compares them)",
}
MAX_LINES = 420


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports, at any depth of the file (module level or inside functions), except
    imports for type checkers only (`if TYPE_CHECKING:`), which never run."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from handlers import payloads` imports the module handlers.payloads, not the package's __init__.
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name for name in submodules if name in known]
            if len(names) < len(submodules):
                names.append(node.module)
        for name in names:
            if name in known:
                found.add(name)
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                pending.extend(child.orelse)
                continue
            pending.append(child)
    return nodes


MODULES = modules()
GRAPH = {name: imports_of(path, set(MODULES)) - {name} for name, path in MODULES.items()}


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "handlers" and len(parts) == 3 else None


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_each_floor_imports_only_what_is_below_it(module):
    floor = module.split(".")[0]
    imported_floors = {name.split(".")[0] for name in GRAPH[module]}
    source = MODULES[module].read_text()
    if floor == "storage":
        assert imported_floors <= {"storage"}, GRAPH[module]
        assert "slack_sdk" not in source and "slack_bolt" not in source
    if floor == "handlers":
        assert "bot" not in imported_floors, GRAPH[module]


@pytest.mark.parametrize("module", sorted(name for name in GRAPH if name.endswith(".listeners")))
def test_a_listener_imports_no_other_listeners(module):
    assert not {name for name in GRAPH[module] if name.endswith(".listeners")}, GRAPH[module]


@pytest.mark.parametrize("module", sorted(name for name in GRAPH if name.endswith(".views")))
def test_views_are_pure(module):
    """A view builder turns storage's data into Block Kit: it imports no listener, no Slack client, no database."""
    imported = GRAPH[module]
    assert not {name for name in imported if name.endswith(".listeners")}, imported
    allowed = {"handlers.blocks", "handlers.labels"} | {name for name in imported if name.endswith(".views")}
    allowed |= {name for name in imported if name.startswith("storage.") and name.count(".") == 1}
    assert imported <= allowed, imported - allowed
    source = MODULES[module].read_text()
    assert "WebClient" not in source and "database" not in source.lower().split("storage")[0]


def test_no_module_imports_itself_back():
    visiting, done, cycles = set(), set(), []

    def visit(name: str, path: list[str]) -> None:
        if name in done:
            return
        if name in visiting:
            cycles.append(path[path.index(name):] + [name])
            return
        visiting.add(name)
        for imported in sorted(GRAPH[name]):
            visit(imported, path + [name])
        visiting.discard(name)
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_files_stay_small_enough_to_read(module):
    relative = MODULES[module].relative_to(ROOT).as_posix()
    lines = len(MODULES[module].read_text().splitlines())
    if relative not in LONG_BUT_COHESIVE:
        assert lines <= MAX_LINES, f"{relative} has {lines} lines: split it by what it owns"
