"""The package's shape, checked: layers whose imports point down, no cycles, small modules, and
Whoosh's private names used in the engine only (and present in the pinned Whoosh).

Read from the source with `ast`, so a new module or import is checked the day it is written.
"""

from __future__ import annotations

import ast
import pickle
import pickletools
import subprocess
import sys
from pathlib import Path

import pytest
import whoosh
from whoosh.index import TOC

from search.index.store import open_index

PACKAGE = Path(__file__).resolve().parent.parent / "search"
ENGINE = "search.index.engine"
#: Each layer may import the ones of lower rank. The CLI is above the web layer: `serve` runs
#: the app and `nginx-config` prints the web layer's proxy configuration; the web never imports it.
RANKS = {
    "text": 0,
    "corpus": 1,
    "index": 2,
    "query": 3,
    "searching": 4,
    "settings": 5,
    "web": 6,
    "cli": 7,
    "__main__": 8,
}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The package's modules that `path` imports, anywhere in it (imports inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    return found


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_imports_point_down_the_layers():
    upward = [
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(module) and _layer(target) and _layer(module) != _layer(target)
        if RANKS[_layer(target)] >= RANKS[_layer(module)]
    ]
    assert upward == []


def test_every_layer_is_known():
    assert {_layer(m) for m in MODULES if _layer(m)} <= set(RANKS)


def test_no_import_cycles():
    """Depth-first search for a back edge; a package's `__init__` re-exporting its own modules
    is not a cycle of modules (Python imports the package first either way)."""
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if module.startswith(target + "."):  # a module importing its own package
                continue
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_module_is_long():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_linter_checks_every_module():
    """The lint excludes name the top-level folders (built index, corpus), not every folder of
    that name: `index` alone also left `search/index/` unchecked."""
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed beside this Python")
    listed = subprocess.run(
        [str(ruff), "check", "--show-files", str(PACKAGE)], cwd=PACKAGE.parent, capture_output=True, text=True
    ).stdout
    checked = {Path(line.strip()).resolve() for line in listed.splitlines() if line.strip().endswith(".py")}
    assert {path.resolve() for path in MODULES.values()} - checked == set()


def _whoosh_bases(tree: ast.Module) -> set[str]:
    """Names a module imported from Whoosh: the classes it may subclass."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh")
        for alias in node.names
    }


def _private_uses(path: Path) -> set[str]:
    """Private names (`_x`, not dunders) this module takes from Whoosh: imported from it, read
    as an attribute of another object, or read on `self` in a subclass of a Whoosh class when
    the class itself never assigns it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = lambda name: name.startswith("_") and not name.endswith("__")  # noqa: E731
    used = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh")
        for alias in node.names
        if private(alias.name)
    }
    # Modules other than Whoosh imported whole (`os._exit` is the standard library's, not Whoosh's).
    other_modules = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if not alias.name.startswith("whoosh")
    }
    ours = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    ours |= {  # class attributes this module defines
        t.id
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for n in cls.body
        if isinstance(n, (ast.Assign, ast.AnnAssign))
        for t in ([*n.targets] if isinstance(n, ast.Assign) else [n.target])
        if isinstance(t, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr) and node.attr not in ours:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls", "super", *other_modules)):
                used.add(node.attr)
    bases = _whoosh_bases(tree)
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        if not any(isinstance(b, ast.Name) and b.id in bases or isinstance(b, ast.Attribute) for b in cls.bases):
            continue
        assigned = {
            t.attr
            for n in ast.walk(cls)
            if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign))
            for t in ([*n.targets] if isinstance(n, ast.Assign) else [n.target])
            for t in (t.elts if isinstance(t, ast.Tuple) else [t])
            if isinstance(t, ast.Attribute)
        } | {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
        assigned |= {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
        for n in ast.walk(cls):
            if (
                isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "self"
                and private(n.attr)
                and n.attr not in assigned
                and n.attr not in ours
            ):
                used.add(n.attr)
    return used


def test_whoosh_internals_are_used_in_the_engine_only():
    outside = {
        name: uses for name, path in MODULES.items() if not name.startswith(ENGINE) and (uses := _private_uses(path))
    }
    assert outside == {}


def test_every_private_name_the_engine_uses_exists_in_the_pinned_whoosh():
    """The engine refuses any Whoosh but the pinned release; this checks that release still has
    everything the engine reaches for, so an upgrade of the pin is checked name by name."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(whoosh.__file__).parent.rglob("*.py"))
    used = set().union(*(_private_uses(path) for name, path in MODULES.items() if name.startswith(ENGINE)))
    assert used, "the engine reads no Whoosh internals: this test no longer guards anything"
    missing = sorted(name for name in used if f"{name}" not in source)
    assert missing == []


def test_the_engine_refuses_another_whoosh(monkeypatch: pytest.MonkeyPatch):
    import importlib

    import search.index.engine as engine

    monkeypatch.setattr(whoosh, "__version__", (2, 7, 4))
    with pytest.raises(ImportError, match="whoosh-reloaded 2.7.5"):
        importlib.reload(engine)
    monkeypatch.undo()
    importlib.reload(engine)


#: The package's classes Whoosh pickles into every index (schema and segments). Moving or
#: renaming one makes every existing index unreadable: that takes a SCHEMA_VERSION bump (and
#: `vnsearch index --rebuild`), and this list changes in the same commit.
PICKLED = {
    "search.index.engine.codec Codec",
    "search.index.fields ColumnOnly",
    "search.index.fields CompactPositions",
    "search.index.fields DigestColumn",
    "search.index.fields Counts",
    "search.index.fields PairText",
    "search.index.fields VietnameseText",
    "search.index.stories.field CopyColumn",
    "search.text.analysis FoldFilter",
    "search.text.analysis PairTokenizer",
    "search.text.analysis ToneFilter",
    "search.text.analysis VietnameseTokenizer",
}


def _globals(data: bytes) -> set[str]:
    found = set()
    strings: list[str] = []
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == "GLOBAL":
            found.add(arg.replace("\n", " ") if isinstance(arg, str) else arg)
        elif opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif opcode.name == "STACK_GLOBAL":
            found.add(f"{strings[-2]} {strings[-1]}")
    return {g for g in found if g.startswith("search.")}


def test_the_pickled_classes_keep_their_import_paths(seed_index_dir: Path):
    ix = open_index(seed_index_dir)
    toc = TOC.read(ix.storage, ix.indexname)
    assert _globals(pickle.dumps(toc.schema, 2)) | _globals(pickle.dumps(toc.segments, 2)) == PICKLED
