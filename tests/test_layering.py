"""The package's import graph follows the documented data flow (README "Layout"):

``io → face/synth → degrade → data → models → losses/metrics → methods → export → train/evaluate/restore →
serve/demo → cli``

Every ``import`` of a ``facerestore`` module, at module level or inside a function, is parsed with ``ast``;
a package may import only itself, the packages listed for it below, and the base modules every layer uses.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import facerestore

PACKAGE = Path(facerestore.__file__).parent
BASE = {"errors", "lazy", "registry", "version"}  # leaf modules every layer may use
LAYERS = [  # lowest first: a package may import the packages of the layers below its own
    ["io", "assets"],
    ["face", "synth"],
    ["degrade"],
    ["data"],
    ["models"],
    ["losses", "metrics"],
    ["methods"],
    ["export"],
    ["train", "evaluate", "restore"],
    ["serve", "demo"],
    ["cli"],
    ["__main__"],
]
SAME_LAYER = {"synth": {"face"}}  # the one allowed direction inside a layer
ALLOWED = {package: {lower for below in LAYERS[:rank] for lower in below} | SAME_LAYER.get(package, set())
           for rank, layer in enumerate(LAYERS) for package in layer}


def package_of(path: Path, root: Path = PACKAGE) -> str:
    return path.relative_to(root).with_suffix("").parts[0]


def module_name(path: Path, root: Path) -> list[str]:
    parts = ["facerestore", *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every facerestore module ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found += [(node.lineno, f"{prefix}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "facerestore"]


def target_package(name: str, root: Path) -> str | None:
    """The layer of module ``name`` (None: a name of the top-level package itself)."""
    parts = name.split(".")
    if len(parts) > 1 and ((root / parts[1]).is_dir() or (root / f"{parts[1]}.py").exists()):
        return parts[1]
    return None


def layering_violations(root: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "__init__.py":
            continue  # the top-level API facade may export from any layer (lazily)
        source = package_of(path, root)
        for line, name in imported_modules(path, root):
            target = target_package(name, root)
            if target is None:
                problems.append(f"{path.relative_to(root.parent)}:{line} imports the top-level package ({name})")
            elif target != source and target not in BASE and target not in ALLOWED.get(source, set()):
                problems.append(f"{path.relative_to(root.parent)}:{line} ({source}) imports {name} ({target})")
    return problems


def test_every_package_is_listed():
    packages = {package_of(p) for p in PACKAGE.rglob("*.py")} - BASE - {"__init__"}
    assert packages <= set(ALLOWED), f"add {sorted(packages - set(ALLOWED))} to ALLOWED"


def test_the_allowed_directions_have_no_cycle():
    order: list[str] = []
    visiting: set[str] = set()

    def visit(package: str, chain: tuple[str, ...]) -> None:
        if package in order:
            return
        if package in visiting:
            pytest.fail(f"cycle: {' -> '.join(chain)}")
        visiting.add(package)
        for lower in ALLOWED[package]:
            visit(lower, (*chain, lower))
        visiting.discard(package)
        order.append(package)

    for package in ALLOWED:
        visit(package, (package,))


def test_no_package_imports_one_above_it():
    problems = layering_violations()
    assert not problems, "\n".join(problems)


def test_the_check_sees_an_upward_import(tmp_path):
    """A module of ``methods`` importing ``restore`` (as Song et al.'s method once did) is reported."""
    root = tmp_path / "facerestore"
    (root / "methods").mkdir(parents=True)
    (root / "restore").mkdir()
    (root / "restore" / "exemplar_bank.py").write_text("")
    (root / "methods" / "song.py").write_text(
        "def load():\n    from facerestore.restore.exemplar_bank import ExemplarBank\n")
    problems = layering_violations(root)
    assert problems == ["facerestore/methods/song.py:2 (methods) imports "
                        "facerestore.restore.exemplar_bank.ExemplarBank (restore)"]


def module_of(name: str, root: Path) -> str | None:
    """The facerestore module (dotted) that ``name`` lives in: its longest prefix that is a file or package."""
    parts = name.split(".")
    for k in range(len(parts), 1, -1):
        path = root.joinpath(*parts[1:k])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts[:k])
    return "facerestore" if parts[0] == "facerestore" else None


def module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the facerestore modules it imports, at module level or inside a function; a package's
    ``__init__`` importing its own submodules (to register or re-export them) is left out."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        here = ".".join(module_name(path, root))
        graph[here] = set()
        for _, name in imported_modules(path, root):
            target = module_of(name, root)
            if target is None or target == here or (path.name == "__init__.py" and target.startswith(here + ".")):
                continue
            graph[here].add(target)
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}

    def visit(module: str, chain: tuple[str, ...]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*chain[chain.index(target):], target]
            if target not in state:
                found = visit(target, (*chain, target))
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module, (module,))
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    """No module imports one that imports it back, even lazily (as train/objectives.py and
    train/adversarial.py once did, one of them inside a function)."""
    cycle = import_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_lazy_import_back(tmp_path):
    root = tmp_path / "facerestore"
    (root / "train").mkdir(parents=True)
    (root / "train" / "objectives.py").write_text("def build():\n    from facerestore.train.adversarial import X\n")
    (root / "train" / "adversarial.py").write_text("from facerestore.train.objectives import Objective\n")
    assert import_cycle(module_graph(root)) == ["facerestore.train.adversarial", "facerestore.train.objectives",
                                                "facerestore.train.adversarial"]
