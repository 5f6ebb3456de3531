"""The layout's rules (README: Layout), checked on the source: layers, sizes, mirrored tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.synth import ROOT

MAX_FUNCTION_LINES = 60


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).glob("*.py") if p.name != "__init__.py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", _modules("cdk_constructs"), ids=lambda p: p.name)
def test_constructs_do_not_read_configuration(module: Path) -> None:
    """Constructs take values; the stacks translate config into them."""
    assert not {name for name in _imports(module) if name == "config" or name.startswith("config.")}


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines from `def` to its end, its docstring aside."""
    assert node.end_lineno is not None
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        assert first.end_lineno is not None
        lines -= first.end_lineno - first.lineno + 1
    return lines


@pytest.mark.parametrize("module", _modules("stacks") + _modules("cdk_constructs"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_function_runs_past_sixty_lines(module: Path) -> None:
    long = {
        f"{node.name} (line {node.lineno}): {_code_lines(node)} lines"
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _code_lines(node) > MAX_FUNCTION_LINES
    }
    assert not long


def test_the_length_rule_counts_what_it_says() -> None:
    source = 'def f():\n    """One\n    two."""\n' + "    x = 1\n" * 3
    (node,) = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]
    assert _code_lines(node) == 4  # the def line and three statements
