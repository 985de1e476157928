"""The layout's rules, read off the source: no import circles, thin edges, short modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.app import slack_deliveries
from bot.intents import Kind

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")
MAX_LINES = 400
# The shared ground every package may stand on; the Slack outbox stands on nothing else.
GROUND = {"bot.config", "bot.intents", "bot.runtime", "bot.text", "bot.phones", "bot.workers"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every project module `name` imports, TYPE_CHECKING and function-level ones included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # `from pkg import module` depends on the module, not on the package's __init__.
            subs = [f"{source}.{alias.name}" for alias in node.names]
            targets = [s for s in subs if s in MODULES] or [source]
        else:
            continue
        yield from (t for t in targets if t in MODULES and t != name)


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles() -> None:
    assert _cycles() == []


def test_a_circle_would_be_found() -> None:
    GRAPH["bot.intents"].add("bot.bridge.slack_outbox")
    try:
        assert ["bot.bridge.slack_outbox", "bot.intents"] in _cycles()
    finally:
        GRAPH["bot.intents"].discard("bot.bridge.slack_outbox")


def test_the_slack_outbox_knows_no_feature() -> None:
    # The outbox is two modules: the worker, and how it reads Slack's refusals.
    parts = {"bot.bridge.slack_outbox", "bot.bridge.slack_errors"}
    for part in parts:
        own = {m for m in GRAPH[part] if not m.startswith("storage")}
        assert own <= GROUND | parts


def test_no_feature_imports_the_app_wiring() -> None:
    wiring = {"bot.app", "bot.slash"}
    importers = {
        name
        for name, deps in GRAPH.items()
        if deps & wiring and not name.startswith(("bot.cli", "bot.fakes", "handlers"))
    }
    assert importers <= wiring


def test_handlers_hold_no_sql_and_no_block_kit() -> None:
    for name, path in MODULES.items():
        if not name.startswith("handlers"):
            continue
        source = path.read_text(encoding="utf-8")
        assert not any(dep.startswith("storage") for dep in GRAPH[name]), name
        assert "sqlalchemy" not in source, name
        assert '"type": "section"' not in source and '"type": "modal"' not in source, name


def test_no_module_is_over_the_guideline() -> None:
    paths = [*MODULES.values(), *(ROOT / "tests").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")]
    long = {
        str(p.relative_to(ROOT)): n
        for p in paths
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and "migrations" not in p.parts
    }
    assert long == {}


def test_every_delivery_kind_has_one_handler() -> None:
    assert slack_deliveries().kinds == {kind.value for kind in Kind}
