"""The structure docs/architecture.md promises: modules import downwards only (no cycles, imports inside
functions included), click only in the command-line package, no module over 600 lines, the run folder's
file names spelled only in runs/layout.py, and core code that never keys on built-in strategy names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "src" / "filterforge"
MAX_LINES = 600
LAYOUT_NAMES = ("training_metadata.json", "training_history.json", "filterforge.json", "evaluation.json",
                "evaluations.json", "bench.json", "calibration.json", "calibration_report.json", "model.onnx",
                "model.safetensors", "predictions.jsonl", "deployment.json", "ensemble.json",
                "prompt_cache.safetensors", "model.onnx.data")
BUILTIN_STRATEGIES = ("distillation", "instruction")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported(tree: ast.AST, current: str, known: set[str]) -> set[str]:
    """Every filterforge module imported anywhere in the tree (functions included), TYPE_CHECKING blocks left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("filterforge"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("filterforge"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in known and name != current}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(ast.parse(path.read_text()), name, set(known)) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycles_among_modules():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles_among_packages():
    """The plugin manager sits low (filters, runs and the student look plugins up); the built-in plugins,
    which register the commands and so import the command line, count as a unit of their own on top."""
    def package(module: str) -> str:
        depth = 3 if module.startswith("filterforge.plugins.builtins") else 2
        return ".".join(module.split(".")[:depth])

    graph: dict[str, set[str]] = {}
    for source, targets in import_graph().items():
        graph.setdefault(package(source), set()).update(package(t) for t in targets)
    for name in graph:
        graph[name].discard(name)
    assert find_cycle(graph) is None


def test_click_is_imported_only_by_the_command_line_package():
    offenders = []
    for name, path in modules().items():
        if name.startswith("filterforge.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "click" or n.startswith("click.") for n in names) and not _in_type_checking(path, node):
                offenders.append(name)
    assert offenders == []


def _in_type_checking(path: Path, target: ast.AST) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if is_type_checking(node) and any(ast.dump(child) == ast.dump(target) for child in ast.walk(node)):
            return True
    return False


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_600_lines(name):
    assert len(modules()[name].read_text().splitlines()) <= MAX_LINES


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_run_folder_file_names_are_spelled_only_in_the_layout_module():
    offenders = {}
    for name, path in modules().items():
        if name == "filterforge.runs.layout":
            continue
        spelled = [value for value in string_constants(path) if value in LAYOUT_NAMES]
        if spelled:
            offenders[name] = spelled
    assert offenders == {}


def test_core_code_never_keys_on_built_in_strategy_names():
    """Only the built-in strategies plugin names them; the seed's --include-prompt alias and TrainConfig's
    default name one too. Everything else asks a strategy for its attributes (shares_prefix, uses_prompt)."""
    allowed = {"filterforge.plugins.builtins.strategies", "filterforge.cli.train", "filterforge.training.config",
               "filterforge.evaluation.decision"}  # the plan's rule labels its two roles in comparison.json
    offenders = {name: [v for v in string_constants(path) if v in BUILTIN_STRATEGIES]
                 for name, path in modules().items() if name not in allowed}
    assert {name: values for name, values in offenders.items() if values} == {}
