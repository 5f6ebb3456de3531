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


def _public_constructs(module: Path) -> set[str]:
    """Classes deriving from Construct, and the functions that add constructs to a scope."""
    found = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            if any(isinstance(base, ast.Name) and base.id == "Construct" for base in node.bases):
                found.add(node.name)
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            first = node.args.args[0].annotation if node.args.args else None
            if (isinstance(first, ast.Name) and first.id in ("Construct", "IConstruct")) or (
                isinstance(first, ast.Attribute) and first.attr == "TaskDefinition"
            ):
                found.add(node.name)
    return found


@pytest.mark.parametrize("module", _modules("cdk_constructs"), ids=lambda p: p.name)
def test_every_construct_has_tests_of_its_own_in_the_mirrored_tree(module: Path) -> None:
    """tests/cdk_constructs/test_<module>.py builds each construct of the module alone in a bare stack."""
    tests = ROOT / "tests" / "cdk_constructs" / f"test_{module.name}"
    assert tests.exists(), f"{tests.relative_to(ROOT)} is missing"
    text = tests.read_text()
    assert not {name for name in _public_constructs(module) if name not in text}
