"""The rules of ARCHITECTURE.md, enforced on the source of every module of ``src/rnnlab``.

Each module is parsed with ``ast`` (nothing is imported or run); every ``import``/``from ... import``
anywhere in it (module level and inside functions or classes), relative imports resolved, and every
``importlib.import_module("...")``/``__import__("...")`` with a literal name, counts as an edge.

Files outside the package are reached only through explicit arguments: no path built from a
module's ``__file__`` (or ``rnnlab.__file__``) climbs above the folder the package is installed in
(``src/`` in a checkout, ``site-packages`` once installed), so the package never finds
``solutions/`` or ``exercises/`` by where the repository happens to lie.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "rnnlab"

# part -> the parts (and libraries) it must never import. A part is ``rnnlab.<name>``; a rule also
# covers every submodule. ``rnnlab.experiments`` is in the table whether or not it exists yet.
LAYERS_NEVER_IMPORT = {"rnnlab.data", "rnnlab.train", "rnnlab.viz", "rnnlab.grading",
                       "rnnlab.experiments"}
FORBIDDEN = {
    "rnnlab.scratch": LAYERS_NEVER_IMPORT | {"rnnlab.modules", "torch"},  # numpy only
    "rnnlab.modules": LAYERS_NEVER_IMPORT,
    "rnnlab.train": {"rnnlab.viz", "rnnlab.grading", "rnnlab.experiments"},
    "rnnlab.viz": {"rnnlab.train", "rnnlab.experiments", "rnnlab.grading"},  # viz only draws
}
NEVER_ANYWHERE = {"tests"}  # the package never imports the test suite


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every module name ``source`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def within(name: str, part: str) -> bool:
    return name == part or name.startswith(part + ".")


def violations(module: str, names: set[str]) -> list[str]:
    """The forbidden edges among ``names`` for ``module``: ``"module -> name"``."""
    banned = set(NEVER_ANYWHERE)
    for part, forbidden in FORBIDDEN.items():
        if within(module, part):
            banned |= forbidden
    return sorted(f"{module} -> {name}" for name in names
                  if any(within(name, b) for b in banned))


def package_modules() -> dict[str, tuple[str, bool]]:
    return {module_name(p): (p.read_text(encoding="utf-8"), p.name == "__init__.py")
            for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = package_modules()


def test_every_part_of_the_package_is_parsed():
    """Guards against a vacuous pass: the walk finds the modules the rules are about."""
    assert len(MODULES) > 50
    for part in ("rnnlab.scratch", "rnnlab.modules", "rnnlab.train", "rnnlab.data", "rnnlab.viz",
                 "rnnlab.grading"):
        assert part in MODULES, part
        assert sum(within(m, part) for m in MODULES) >= 2, part
    assert "rnnlab.train.fit" in MODULES and "rnnlab.scratch.lstm" in MODULES
    # the parser sees real edges: absolute and relative imports of today's modules
    edges = {m: imported_names(src, m, pkg) for m, (src, pkg) in MODULES.items()}
    assert {"torch", "numpy"} <= edges["rnnlab.train.fit"]
    assert "numpy" in edges["rnnlab.scratch.lstm"]
    assert "rnnlab.modules._errors" in edges["rnnlab.modules.layers"]  # ``from ._errors import``


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_architecture(module):
    source, is_package = MODULES[module]
    assert violations(module, imported_names(source, module, is_package)) == []


FAKE = '''
import numpy as np
from . import _validate

def deferred():
    from rnnlab.viz import style      # a function-level import is an edge too
    import tests.conftest

class Layer:
    def plot(self):
        from ..train.fit import fit    # relative, two levels up
        importlib.import_module("rnnlab.grading.checker")
'''


def test_a_forbidden_edge_is_caught():
    names = imported_names(FAKE, "rnnlab.scratch.fake", is_package=False)
    assert {"numpy", "rnnlab.scratch._validate", "rnnlab.viz.style", "tests.conftest",
            "rnnlab.train.fit.fit", "rnnlab.grading.checker"} <= names
    assert violations("rnnlab.scratch.fake", names) == [
        "rnnlab.scratch.fake -> rnnlab.grading.checker",
        "rnnlab.scratch.fake -> rnnlab.train.fit",
        "rnnlab.scratch.fake -> rnnlab.train.fit.fit",
        "rnnlab.scratch.fake -> rnnlab.viz",
        "rnnlab.scratch.fake -> rnnlab.viz.style",
        "rnnlab.scratch.fake -> tests.conftest",
    ]
    # the same source is allowed in a part with no rule but the one on tests
    assert violations("rnnlab.cli", names) == ["rnnlab.cli -> tests.conftest"]
    # train may import torch and modules, not viz; modules may import torch, scratch may not
    assert violations("rnnlab.train.fit", {"torch", "rnnlab.modules", "rnnlab.viz.style"}) == [
        "rnnlab.train.fit -> rnnlab.viz.style"]
    assert violations("rnnlab.modules.cells", {"torch"}) == []
    assert violations("rnnlab.scratch", {"torch.nn"}) == ["rnnlab.scratch -> torch.nn"]
    assert violations("rnnlab.modules", {"rnnlab.experiments.ch03"}) == [
        "rnnlab.modules -> rnnlab.experiments.ch03"]
    # a name that merely starts like a part is not inside it
    assert violations("rnnlab.scratch.x", {"rnnlab.data_extra", "rnnlab.trainer", "testsuite"}) == []


# ------------------------------------------------------------------ paths climbing out of the package
def _levels_up(node: ast.AST) -> tuple[str, int] | None:
    """``(base, n)`` when ``node`` is a path ``n`` folders above ``base``'s file (``base``: "self"
    for ``__file__``, "rnnlab" for ``rnnlab.__file__``), else None."""
    if isinstance(node, ast.Name) and node.id == "__file__":
        return "self", 0
    if isinstance(node, ast.Attribute) and node.attr == "__file__":
        return ("rnnlab", 0) if isinstance(node.value, ast.Name) and node.value.id == "rnnlab" else None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _levels_up(node.value)
        return inner and (inner[0], inner[1] + 1)
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents" and isinstance(node.slice, ast.Constant)):
        inner = _levels_up(node.value.value)
        return inner and (inner[0], inner[1] + node.slice.value + 1)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("Path", "abspath", "realpath", "normpath") and node.args:
            return _levels_up(node.args[0])
        if name in ("resolve", "absolute") and isinstance(func, ast.Attribute):
            return _levels_up(func.value)
        if name == "dirname" and node.args:
            inner = _levels_up(node.args[0])
            return inner and (inner[0], inner[1] + 1)
    return None


def paths_out_of_package(source: str, module: str, is_package: bool) -> list[str]:
    """The expressions of ``source`` that climb from a module file above ``src/`` (the folder that
    holds ``rnnlab``), as ``"module: expression"``."""
    # folders from the file up to src/: rnnlab/grading/x.py -> grading, rnnlab, src = 3
    allowed = {"self": module.count(".") + 1 + (1 if is_package else 0), "rnnlab": 2}
    climbing = [node for node in ast.walk(ast.parse(source))
                if (up := _levels_up(node)) and up[1] > allowed[up[0]]]
    # report a chain once, as its outermost expression (``Path(x).parents[2]``, not its parts)
    inner = {id(sub) for node in climbing for sub in ast.walk(node) if sub is not node}
    return sorted(f"{module}: {ast.unparse(node)}" for node in climbing if id(node) not in inner)


# Modules allowed to build a path above the package from ``__file__``: none (the grader takes
# ``solutions/`` as an explicit option).
KNOWN_PATHS_OUT: set[str] = set()


def test_no_module_climbs_out_of_the_package():
    found = {m: paths_out_of_package(src, m, pkg) for m, (src, pkg) in MODULES.items()}
    offenders = {m for m, paths in found.items() if paths}
    assert offenders == KNOWN_PATHS_OUT, {m: found[m] for m in offenders ^ KNOWN_PATHS_OUT}


def test_a_path_out_of_the_package_is_caught():
    fake = """
import os, rnnlab
from pathlib import Path
HERE = Path(__file__).resolve().parent                    # the module's own folder: fine
SITE = os.path.dirname(os.path.dirname(rnnlab.__file__))  # where rnnlab is installed: fine
REPO = Path(rnnlab.__file__).resolve().parents[2]          # the checkout's root: out
UP = Path(__file__).parent.parent.parent.parent            # from rnnlab/grading/x.py: out
"""
    assert paths_out_of_package(fake, "rnnlab.grading.x", is_package=False) == [
        "rnnlab.grading.x: Path(__file__).parent.parent.parent.parent",
        "rnnlab.grading.x: Path(rnnlab.__file__).resolve().parents[2]",
    ]
    # one level less is inside: rnnlab/grading/x.py -> grading -> rnnlab -> src
    assert paths_out_of_package("P = Path(__file__).parents[2]", "rnnlab.grading.x", False) == []
    assert paths_out_of_package("P = Path(__file__).parents[2]", "rnnlab.cli", False) != []
