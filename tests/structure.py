"""Measures the code's shape: module sizes, function lengths, imports hidden in functions, import cycles and
cross-app `apps.get_model` strings. `tests/test_structure.py` holds the rules; this prints the figures:

    .venv/bin/python -m tests.structure
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("middleware", "bigcommerce_app", "ordergroove", "feeds")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# A reason written beside a long function: a comment containing this marker on the line above its `def`.
LONG_FUNCTION_MARKER = "long-function:"


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    tree: ast.Module
    imports: set[str] = field(default_factory=set)  # every module it imports, anywhere
    function_imports: list[tuple[int, str]] = field(default_factory=list)  # (line, imported) inside a function


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def application_modules() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            tree = ast.parse(text)
            module = Module(module_name(path), path, len(text.splitlines()), tree)
            _collect_imports(module)
            modules[module.name] = module
    for module in modules.values():
        module.imports = {_resolve(name, modules) for name in module.imports} - {None, module.name}
    return modules


def _resolve(name: str, modules: dict[str, Module]) -> str | None:
    """The application module an import names (`a.b.c` may be module `a.b` with attribute `c`)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _collect_imports(module: Module) -> None:
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]

    def absolute(node: ast.ImportFrom) -> list[str]:
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        return [f"{base}.{alias.name}" for alias in node.names] + [base]

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, in_function, True)
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                names = absolute(child)
            if names and not type_checking:
                module.imports.update(names)
                if in_function and names[0].split(".")[0] in APP_PACKAGES + ("tests",):
                    module.function_imports.append((child.lineno, names[-1] if len(names) > 1 else names[0]))
            # AppConfig.ready() is where Django documents importing what needs the app registry: not a dodge.
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            in_ready = is_function and child.name == "ready" and module.path.name == "apps.py"
            visit(child, (in_function or is_function) and not in_ready, type_checking)

    visit(module.tree, False, False)


def long_functions(module: Module, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, bool]]:
    """(qualified name, lines, has a written reason) of each function longer than `limit` lines."""
    source = module.path.read_text().splitlines()
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                above = source[start - 2] if start >= 2 else ""
                found.append((f"{module.name}.{node.name}", length, LONG_FUNCTION_MARKER in above))
    return found


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def strongconnect(name: str) -> None:
        nonlocal counter
        index[name] = low[name] = counter
        counter += 1
        stack.append(name)
        on_stack.add(name)
        for target in sorted(modules[name].imports):
            # A package's __init__ importing its own submodules is how Python packages work, not a cycle to break.
            if target not in index:
                strongconnect(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            strongconnect(name)
    return found


GET_MODEL = re.compile(r"get_model\(\s*[\"']([a-z_]+)[\"']")


def cross_app_get_model(modules: dict[str, Module]) -> list[tuple[str, str]]:
    """(module, app label) of each `apps.get_model("label", ...)` naming an app other than the module's own."""
    found = []
    for module in modules.values():
        own = module.name.split(".")[0]
        for label in GET_MODEL.findall(module.path.read_text()):
            if label != own:
                found.append((module.name, label))
    return found


def report() -> None:
    modules = application_modules()
    total = sum(m.lines for m in modules.values())
    print(f"application code: {total} lines in {len(modules)} modules")
    for package in APP_PACKAGES:
        lines = sum(m.lines for m in modules.values() if m.name.split(".")[0] == package)
        print(f"  {package:<16} {lines:>6} lines")
    big = sorted(((m.lines, m.name) for m in modules.values() if m.lines > MAX_MODULE_LINES), reverse=True)
    print(f"modules over {MAX_MODULE_LINES} lines: {len(big)}")
    for lines, name in big:
        print(f"  {name} {lines}")
    longs = sorted((f for m in modules.values() for f in long_functions(m)), key=lambda f: -f[1])
    print(f"functions over {MAX_FUNCTION_LINES} lines: {len(longs)} ({sum(1 for f in longs if f[2])} with a reason)")
    for name, lines, reasoned in longs:
        print(f"  {name} {lines}{'  (reason written)' if reasoned else ''}")
    hidden = [(m.name, line, target) for m in modules.values() for line, target in m.function_imports]
    print(f"imports inside functions (application and test modules imported): {len(hidden)}")
    for name, line, target in hidden:
        print(f"  {name}:{line} {target}")
    found = cycles(modules)
    print(f"import cycles: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    strings = cross_app_get_model(modules)
    print(f"cross-app apps.get_model strings: {len(strings)}")
    for name, label in strings:
        print(f"  {name} -> {label}")


if __name__ == "__main__":
    report()
