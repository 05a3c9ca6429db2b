"""The code's shape is a rule, not a hope (issue 16): folders follow the layers of the README's code map (the
import contracts in pyproject.toml, checked by import-linter), no module over 400 lines, no function over 60 without
a reason written beside it, no import cycle and no import hidden inside a function to dodge one."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests import structure

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def modules() -> dict[str, structure.Module]:
    return structure.application_modules()


def test_import_contracts_hold():
    """`lint-imports` (import-linter) checks the layers: plumbing imports no app, vendor clients import no flow,
    flows never import the console or the wiring, application code never imports tests."""
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_application_module_is_over_400_lines(modules):
    big = {m.name: m.lines for m in modules.values() if m.lines > structure.MAX_MODULE_LINES}
    assert big == {}


def test_no_function_is_over_60_lines_without_a_written_reason(modules):
    unexplained = [(name, lines) for m in modules.values()
                   for name, lines, reasoned in structure.long_functions(m) if not reasoned]
    assert unexplained == []


def test_no_import_cycle(modules):
    assert structure.cycles(modules) == []


def test_no_application_import_hides_inside_a_function(modules):
    hidden = [(m.name, line, target) for m in modules.values() for line, target in m.function_imports]
    assert hidden == []


def test_no_apps_get_model_string_reaches_across_apps(modules):
    assert structure.cross_app_get_model(modules) == []


def test_every_application_module_sits_in_a_declared_layer(modules):
    """The layers contract only constrains modules it names: a new module outside every layer would escape it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in config if c["type"] == "layers")
    declared = [name.strip() for layer in layers for name in layer.replace("|", ":").split(":")]
    packages = {"middleware", "bigcommerce_app", "ordergroove", "feeds"}
    # Package __init__ modules and Django app markers (migrations are excluded already) are containers, not code.
    outside = sorted(name for name, m in modules.items()
                     if name not in packages and m.path.name != "__init__.py"
                     and not any(name == d or name.startswith(d + ".") for d in declared))
    assert outside == []
